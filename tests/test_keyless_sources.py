"""A file under sources/ that no bibliography row claims: indexed and cited, but flagged as keyless."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import make_settings

from reviewqa.cli import main
from reviewqa.settings import Settings

pytestmark = pytest.mark.slow

REVIEWQA_SCRIPT = Path(sys.executable).parent / "reviewqa"
KEYLESS = "sources/orphan-notes.txt"
WARNING = f"{KEYLESS} has no bibliography key: run `reviewqa refs match`"
NOTES = """Kinase notes

The zebrafish kinase ZQX7 was strongly inhibited in cultured cells (Moreau et al. 2019).
"""
ORPHAN = """Results

Marmoset fibroblasts exposed to the ZQX7 inhibitor doubled their lifespan in culture. \
Untreated marmoset fibroblasts stopped dividing after forty passages.
"""


@pytest.fixture(scope="module")
def keyless_project(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = make_settings(tmp_path_factory.mktemp("keyless-project"))
    (settings.documents_dir / "sources").mkdir(parents=True)
    (settings.documents_dir / "notes.txt").write_text(NOTES, encoding="utf-8")
    (settings.documents_dir / KEYLESS).write_text(ORPHAN, encoding="utf-8")
    (settings.documents_dir / "empty.txt").write_text("", encoding="utf-8")
    return settings


def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    """The real command line, so what it prints is what a user sees (logging set up by `main`)."""
    env = {
        **os.environ,
        "REVIEWQA_CORPUS_DIR": str(settings.corpus_dir),
        "REVIEWQA_INDEX_DIR": str(settings.index_dir),
        "HF_HUB_OFFLINE": "1",
    }
    return subprocess.run(
        [str(REVIEWQA_SCRIPT), *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


def test_ingest_prints_each_warning_once(keyless_project: Settings) -> None:
    result = run_cli(keyless_project, "ingest")
    assert result.returncode == 0, result.stderr
    assert result.stderr.count(WARNING) == 1, result.stderr
    assert result.stderr.count("empty.txt") == 1, result.stderr  # the skip, once
    assert "Traceback" not in result.stderr
    assert "ingested 2 documents" in result.stdout and "1 files skipped" in result.stdout


def test_index_warns_once_and_the_keyless_source_is_indexed(
    keyless_project: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    from reviewqa.index import build_index, load_index

    with caplog.at_level(logging.WARNING, logger="reviewqa"):
        build_index(keyless_project, force=True)
    assert [r.getMessage() for r in caplog.records].count(WARNING) == 1
    index = load_index(keyless_project)
    meta = index.documents["sources/orphan-notes"]
    assert (meta["kind"], meta["key"]) == ("source", None)
    passages = [p for p in index.passages if p.document == "sources/orphan-notes"]
    assert passages and all(p.work_key is None for p in passages)


def test_the_cli_answer_shows_a_source_without_a_key(keyless_project: Settings) -> None:
    from reviewqa.index import build_index

    build_index(keyless_project)
    env = {
        "REVIEWQA_CORPUS_DIR": str(keyless_project.corpus_dir),
        "REVIEWQA_INDEX_DIR": str(keyless_project.index_dir),
    }
    question = "What happened to marmoset fibroblasts exposed to the ZQX7 inhibitor?"
    result = CliRunner().invoke(main, ["ask", question], env=env)
    assert result.exit_code == 0, result.output
    assert "(sources/orphan-notes:0)" in result.output
    assert "from a source paper without a bibliography key (run `reviewqa refs match`)" in result.output
