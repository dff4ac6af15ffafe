"""What may enter the corpus (issue 12, item 7): a symlink out of the documents folder, random bytes and a
name with a newline are refused with a clear warning, by the real `reviewqa ingest`; real text in UTF-8
or Latin-1, oddities and all, and a symlink within the folder are read."""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path

import pytest
from fault_support import REVIEWQA, cli_env, small_project

from reviewqa.corpus.hygiene import binary_reason, name_reason
from reviewqa.settings import Settings

SECRET = "Xylophonic secret of the host"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, subprocess.CompletedProcess]:
    root = tmp_path_factory.mktemp("faults-corpus")
    settings = small_project(root / "project")
    documents = settings.documents_dir
    outside = root / "outside.txt"
    outside.write_text(f"{SECRET}: a file that is not part of the corpus.\n", encoding="utf-8")
    (documents / "passwd.txt").symlink_to(outside)
    (documents / "notes").mkdir()
    (documents / "notes" / "kinase.txt").write_text(
        "Kinase notes\n\nThe kinase ZQX7 was inhibited in cultured cells.\n", encoding="utf-8"
    )
    (documents / "alias.txt").symlink_to(Path("notes") / "kinase.txt")  # inside the folder: fine
    (documents / "notes-outside").symlink_to(root, target_is_directory=True)
    noise = random.Random(12)
    (documents / "noise.txt").write_bytes(bytes(noise.randrange(1, 256) for _ in range(4096)))  # no NUL
    latin = "Résumé des études\n\nLes récepteurs IGF1R sont étudiés ici.\f\n\x1a Fin du fichier.\n"
    (documents / "latin.txt").write_bytes(latin.encode("latin-1"))
    (documents / "bad\nname.txt").write_text("A document whose name holds a newline.\n", encoding="utf-8")
    result = subprocess.run(
        [str(REVIEWQA), "ingest"], capture_output=True, text=True, env=cli_env(settings), timeout=300
    )
    return settings, result


def passages_text(settings: Settings) -> dict[str, str]:
    rows = [json.loads(line) for line in (settings.index_dir / "passages.jsonl").read_text().splitlines()]
    texts: dict[str, str] = {}
    for row in rows:
        texts[row["document"]] = texts.get(row["document"], "") + row["text"]
    return texts


def test_refused_files_are_named_in_one_warning_each(hostile) -> None:
    _, result = hostile
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("WARNING")]
    outside = [w for w in warnings if "passwd.txt" in w]
    assert len(outside) == 1 and "symlink to" in outside[0] and "outside" in outside[0]
    assert any("notes-outside" in w and "outside" in w for w in warnings)
    assert any("noise.txt" in w and "binary file" in w for w in warnings)
    assert any("bad\\x0aname.txt" in w and "control character U+000A" in w for w in warnings)
    assert "4 files skipped" in result.stdout
    assert "Traceback" not in result.stderr


def test_only_what_belongs_to_the_corpus_is_indexed(hostile) -> None:
    settings, _ = hostile
    texts = passages_text(settings)
    assert set(texts) == {"small-review", "notes/kinase", "alias", "latin"}
    assert not any(SECRET in text for text in texts.values())
    assert "récepteurs IGF1R" in texts["latin"]  # Latin-1, with a form feed and a stray ^Z, is text
    assert texts["alias"] == texts["notes/kinase"]


def test_binary_detection_separates_noise_from_text() -> None:
    noise = random.Random(7)
    assert binary_reason(bytes(noise.randrange(1, 256) for _ in range(2000)))  # no NUL, still binary
    assert binary_reason(os.urandom(64) + b"\0")
    review = (Path(__file__).parents[1] / "corpus" / "documents" / "igf1r-review.txt").read_bytes()
    assert binary_reason(review) == ""
    assert binary_reason(review.decode("utf-8").encode("cp1252", errors="replace")) == ""
    assert name_reason("sources/gradishar-2016.pdf") == "" and name_reason("études/été.txt") == ""
    assert "U+202E" in name_reason("invoice\u202efdp.txt")  # a right-to-left override hides the suffix
