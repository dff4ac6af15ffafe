"""The bibliography file and `reviewqa refs seed`."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REFERENCES_PATH

from reviewqa.cli import main
from reviewqa.models import CitedWork
from reviewqa.refs.bibliography import (
    BibliographyError,
    format_bibliography,
    load_bibliography,
    registry_url,
    short_slug,
    slugify,
    write_bibliography,
)
from reviewqa.refs.seed import DEFAULT_SEED_PATH, is_verified, parse_seed

SEED_HEADER = "key\tauthors\tyear\ttitle\tjournal\tdoi\tpmid\tsource_of_fact\n"


def seed_row(
    key: str, doi: str, pmid: str, note: str, title: str = "A title", journal: str = "J X 1:1"
) -> str:
    return f"{key}\tA B\t2016\t{title}\t{journal}\t{doi}\t{pmid}\t{note}\n"


def test_write_then_load_round_trips(tmp_path: Path) -> None:
    works = [
        CitedWork(
            key="Gradishar et al. 2016", authors="Gradishar WJ", year=2016, title="T\twith tab", doi="10.1/x"
        ),
        CitedWork(key="NCT03099174", url=registry_url("NCT03099174")),
    ]
    path = tmp_path / "references.tsv"
    write_bibliography(path, works)
    loaded = load_bibliography(path)
    assert list(loaded) == ["Gradishar et al. 2016", "NCT03099174"]
    assert loaded["Gradishar et al. 2016"].title == "T with tab"
    assert loaded["Gradishar et al. 2016"].year == 2016
    assert loaded["NCT03099174"].url == "https://clinicaltrials.gov/study/NCT03099174"
    assert path.read_text().splitlines()[0].split("\t") == [
        "key", "authors", "year", "title", "journal", "doi", "pmid", "url",
    ]  # fmt: skip


def test_a_file_without_key_column_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "references.tsv"
    path.write_text("name\tyear\nX\t2000\n")
    with pytest.raises(BibliographyError, match="no 'key' column"):
        load_bibliography(path)


def test_missing_file_is_an_empty_bibliography(tmp_path: Path) -> None:
    assert load_bibliography(tmp_path / "absent.tsv") == {}


def test_slugs() -> None:
    assert slugify("Gradishar et al. 2016") == "gradishar-et-al-2016"
    assert slugify("O’Flanagan et al. 2016") == slugify("O'Flanagan et al. 2016") == "oflanagan-et-al-2016"
    assert slugify("Biller-Andorno & Juni 2014") == "biller-andorno-juni-2014"
    assert short_slug("Gradishar et al. 2016") == "gradishar-2016"
    assert registry_url("Yee 2015") == ""


@pytest.mark.parametrize(
    ("note", "doi_ok", "pmid_ok"),
    [
        ("V[all]: somewhere", True, True),
        ("R[all] (not found in corpus)", False, False),
        ("V[authors,title,journal,vol,pages,doi]: x; R[pmid]", True, False),
        ("V[title,journal]: x; R[doi,pmid]", False, False),
        ("V[first 3 authors,title,journal,year,doi,pmid]: x; R[remaining authors]", True, True),
        ("PARTIAL V[abstract content only]: x; R[title wording,doi,pmid]", False, False),
        ("V[doi]", True, False),  # a field the note does not mention is not verified
        ("", False, False),
    ],
)
def test_verified_fields(note: str, doi_ok: bool, pmid_ok: bool) -> None:
    assert is_verified("doi", note) is doi_ok
    assert is_verified("pmid", note) is pmid_ok


def test_seed_blanks_unverified_identifiers_and_drops_notes() -> None:
    text = (
        SEED_HEADER
        + seed_row("Good et al. 2011", "10.1/good", "111", "V[all]: page")
        + seed_row("Recalled et al. 2012", "10.1/recalled", "222", "R[all] (not found)")
        + seed_row("Half 2013", "10.1/half", "333", "V[title,doi]: page; R[pmid]")
        + seed_row("Cand et al. 1986", "", "", "UNRESOLVED", "UNRESOLVED. Candidate only: X", "candidate: J")
        + seed_row(
            "Note 2015", "", "", "R[all]", "A tale of two receptors (CCR Focus commentary)", "J 1; also in K"
        )
        + seed_row("NCT01225172", "", "", "R[all]", "A trial", "ClinicalTrials.gov (first posted 4 Apr 2017)")
    )
    result = parse_seed(text)
    works = {w.key: w for w in result.works}
    assert (works["Good et al. 2011"].doi, works["Good et al. 2011"].pmid) == ("10.1/good", "111")
    assert (works["Recalled et al. 2012"].doi, works["Recalled et al. 2012"].pmid) == ("", "")
    assert (works["Half 2013"].doi, works["Half 2013"].pmid) == ("10.1/half", "")
    assert result.blanked == {"Recalled et al. 2012": ["doi", "pmid"], "Half 2013": ["pmid"]}
    assert (works["Cand et al. 1986"].title, works["Cand et al. 1986"].journal) == ("", "")
    assert works["Note 2015"].title == "A tale of two receptors"
    assert works["Note 2015"].journal == "J 1"
    assert works["NCT01225172"].url == "https://clinicaltrials.gov/study/NCT01225172"
    assert works["NCT01225172"].journal == "ClinicalTrials.gov"
    kept = {w.key: w for w in parse_seed(text, keep_unverified=True).works}
    assert kept["Recalled et al. 2012"].doi == "10.1/recalled"


def test_seed_rejects_wrong_columns_and_repeated_keys() -> None:
    with pytest.raises(BibliographyError, match="source_of_fact"):
        parse_seed("key\tauthors\n")
    row = seed_row("Same 2000", "", "", "")
    with pytest.raises(BibliographyError, match="repeats the key 'Same 2000'"):
        parse_seed(SEED_HEADER + row + row)


def test_seed_command_writes_and_refuses_to_overwrite_edits(empty_settings, tmp_path: Path) -> None:
    seed = tmp_path / "seed.tsv"
    seed.write_text(SEED_HEADER + seed_row("Good et al. 2011", "10.1/good", "111", "V[all]"))
    env = {"REVIEWQA_CORPUS_DIR": str(empty_settings.corpus_dir)}
    runner = CliRunner()
    result = runner.invoke(main, ["refs", "seed", "--from", str(seed)], env=env)
    assert result.exit_code == 0, result.output
    assert "wrote 1 rows" in result.output
    target = empty_settings.references_path
    assert load_bibliography(target)["Good et al. 2011"].doi == "10.1/good"
    target.write_text(target.read_text() + "Mine 2020\t\t2020\t\t\t\t\t\n")
    refused = runner.invoke(main, ["refs", "seed", "--from", str(seed)], env=env)
    assert refused.exit_code == 1
    assert "--force" in refused.output
    assert "Mine 2020" in load_bibliography(target)
    forced = runner.invoke(main, ["refs", "seed", "--from", str(seed), "--force"], env=env)
    assert forced.exit_code == 0
    assert "Mine 2020" not in load_bibliography(target)
    missing = runner.invoke(main, ["refs", "seed", "--from", str(tmp_path / "nope.tsv")], env=env)
    assert missing.exit_code == 1
    assert "seed file not found" in missing.output
    assert "Traceback" not in missing.output


@pytest.mark.skipif(not DEFAULT_SEED_PATH.exists(), reason="the shared reference list is not on this machine")
def test_committed_bibliography_is_the_seed() -> None:
    from reviewqa.refs.seed import read_seed

    assert REFERENCES_PATH.read_text(encoding="utf-8") == format_bibliography(
        read_seed(DEFAULT_SEED_PATH).works
    )
    works = load_bibliography(REFERENCES_PATH)
    assert len(works) == 66
    assert works["Gradishar et al. 2016"].doi == "10.1158/1078-0432.CCR-15-0588"  # V[all] in the seed
    assert works["Fox et al. 2011"].doi == ""  # R[all] in the seed
    assert works["NCT03099174"].url == "https://clinicaltrials.gov/study/NCT03099174"


def test_seed_without_a_seed_list_writes_the_cited_keys_alone(
    empty_settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reviewqa.refs import seed

    monkeypatch.setattr(seed, "DEFAULT_SEED_PATH", tmp_path / "shared" / "references" / "references.tsv")
    (empty_settings.documents_dir / "notes.txt").write_text(
        "Kinase notes\n\nZQX7 was inhibited in cultured cells (Moreau et al. 2019). The trial is registered "
        "as NCT01234567. A second laboratory confirmed it (Dupont 2020).\n",
        encoding="utf-8",
    )
    env = {
        "REVIEWQA_CORPUS_DIR": str(empty_settings.corpus_dir),
        "REVIEWQA_INDEX_DIR": str(empty_settings.index_dir),
    }
    assert not (empty_settings.index_dir / "cited_works.json").exists()  # the corpus stage must run

    result = CliRunner().invoke(main, ["refs", "seed"], env=env)

    assert result.exit_code == 0, result.output
    assert "one row per cited key" in result.output and "wrote 3 rows" in result.output
    works = load_bibliography(empty_settings.references_path)
    assert sorted(works) == ["Dupont 2020", "Moreau et al. 2019", "NCT01234567"]
    assert works["NCT01234567"] == CitedWork(
        key="NCT01234567", url="https://clinicaltrials.gov/study/NCT01234567"
    )
    assert works["Moreau et al. 2019"] == CitedWork(key="Moreau et al. 2019")
    again = CliRunner().invoke(main, ["refs", "seed"], env=env)  # same rows: nothing to refuse
    assert again.exit_code == 0, again.output
