"""`reviewqa refs check`: the bibliography against the works the corpus cites."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from reviewqa.cli import main
from reviewqa.models import CitedWork
from reviewqa.refs.bibliography import write_bibliography
from reviewqa.refs.check import CitedWorksMissingError, check_bibliography, load_cited_works
from reviewqa.settings import Settings


@pytest.fixture
def project(empty_settings: Settings) -> Settings:
    write_bibliography(
        empty_settings.references_path,
        [CitedWork(key="Gradishar et al. 2016"), CitedWork(key="Beatson 1896"), CitedWork(key="Unused 1999")],
    )
    empty_settings.index_dir.mkdir(parents=True)
    (empty_settings.index_dir / "cited_works.json").write_text(
        json.dumps(["Beatson 1896", "Gradishar et al. 2016", "NCT03099174"])
    )
    return empty_settings


def test_reports_missing_rows_and_uncited_rows(project: Settings) -> None:
    report = check_bibliography(project)
    assert report.missing_from_bibliography == ["NCT03099174"]
    assert report.never_cited == ["Unused 1999"]
    assert not report.ok


def test_command_output_and_exit_code(project: Settings) -> None:
    env = {"REVIEWQA_CORPUS_DIR": str(project.corpus_dir), "REVIEWQA_INDEX_DIR": str(project.index_dir)}
    result = CliRunner().invoke(main, ["refs", "check"], env=env)
    assert result.exit_code == 1
    assert "cited but missing from references.tsv: 1\n  NCT03099174" in result.output
    assert "in references.tsv but never cited: 1\n  Unused 1999" in result.output

    write_bibliography(
        project.references_path,
        [CitedWork(key=k) for k in ("Beatson 1896", "Gradishar et al. 2016", "NCT03099174")],
    )
    agreed = CliRunner().invoke(main, ["refs", "check", "--json"], env=env)
    assert agreed.exit_code == 0, agreed.output
    assert json.loads(agreed.output)["missing_from_bibliography"] == []


def test_unreadable_cited_works_is_a_clear_error(project: Settings) -> None:
    (project.index_dir / "cited_works.json").write_text("{not json")
    with pytest.raises(CitedWorksMissingError, match="reviewqa ingest"):
        load_cited_works(project)


def test_ingests_when_cited_works_are_missing_or_stale(empty_settings: Settings) -> None:
    settings = empty_settings
    write_bibliography(settings.references_path, [CitedWork(key="Pollak 2008"), CitedWork(key="Pollak 2012")])
    review = settings.documents_dir / "review.txt"
    review.write_text("Introduction\n\nIGF1 signalling matters (Pollak 2008, 2012).\n")
    assert check_bibliography(settings).ok  # no cited_works.json yet: ingested first

    review.write_text("Introduction\n\nIGF1 signalling matters (Pollak 2008; Yee 2015).\n")
    report = check_bibliography(settings)  # the corpus changed since: ingested again
    assert report.missing_from_bibliography == ["Yee 2015"]
    assert report.never_cited == ["Pollak 2012"]
