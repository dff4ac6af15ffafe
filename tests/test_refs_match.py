"""`reviewqa refs match`: linking dropped-in source papers to bibliography rows."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from fpdf import FPDF

from reviewqa.cli import main
from reviewqa.models import CitedWork
from reviewqa.refs.bibliography import write_bibliography
from reviewqa.refs.document_table import DocumentTableError, update_document_entries
from reviewqa.refs.match import find_dois, match_sources
from reviewqa.settings import Settings

GRADISHAR = CitedWork(
    key="Gradishar et al. 2016",
    authors="Gradishar WJ, Yardley DA",
    year=2016,
    title="Clinical and translational results of a phase II, randomized trial of an anti-IGF-1R "
    "(cixutumumab) in women with breast cancer that progressed on endocrine therapy",
    doi="10.1158/1078-0432.CCR-15-0588",
)
HALUSKA = CitedWork(
    key="Haluska et al. 2007",
    year=2007,
    title="In vitro and in vivo antitumor effects of the dual insulin-like growth factor-I/insulin "
    "receptor inhibitor, BMS-554417",
    doi="10.1158/1078-0432.CCR-07-1118",
)
FAGAN = CitedWork(
    key="Fagan et al. 2012",
    year=2012,
    title="Acquired resistance to an insulin-like growth factor receptor inhibitor",
)
NO_TITLE = CitedWork(key="Yee et al. 2012", year=2012)

FILLER = "Patients were enrolled at twelve centres and followed for a median of two years. "


def write_pdf(path: Path, lines: list[str], *, subject: str = "", title: str = "") -> Path:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    if subject:
        pdf.set_subject(subject)
    if title:
        pdf.set_title(title)
    for line in lines:
        pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


@pytest.fixture
def project(empty_settings: Settings) -> Settings:
    write_bibliography(empty_settings.references_path, [GRADISHAR, HALUSKA, FAGAN, NO_TITLE])
    return empty_settings


def sources(settings: Settings) -> Path:
    folder = settings.documents_dir / "sources"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def table(settings: Settings) -> dict:
    with (settings.corpus_dir / "documents.toml").open("rb") as fh:
        return tomllib.load(fh)["documents"]


def test_find_dois_trims_punctuation_but_keeps_balanced_brackets() -> None:
    text = "see doi:10.1016/S0140-6736(01)72307-0. and (https://doi.org/10.1158/1078-0432.CCR-15-0588)"
    assert find_dois(text) == ["10.1016/S0140-6736(01)72307-0", "10.1158/1078-0432.CCR-15-0588"]


def test_matches_by_doi_in_text_doi_in_metadata_title_and_file_name(project: Settings) -> None:
    # DOI printed on the first page; the reference list on page 1 also cites Haluska, later in the text.
    write_pdf(
        sources(project) / "paper1.pdf",
        ["Clinical Cancer Research", "DOI: 10.1158/1078-0432.CCR-15-0588", FILLER * 3,
         "References: Haluska P et al. doi:10.1158/1078-0432.CCR-07-1118"],
    )  # fmt: skip
    write_pdf(
        sources(project) / "paper2.pdf",
        ["A scanned article", FILLER],
        subject="doi:10.1158/1078-0432.CCR-07-1118",
    )
    write_pdf(
        sources(project) / "paper3.pdf",
        ["Cancer Research 72(13)", "Acquired resistance to an insulin-like",
         "growth factor receptor inhibitor", "D. H. Fagan and others", FILLER * 2],
    )  # fmt: skip
    (sources(project) / "Yee et al. 2012.txt").write_text("Adaptive trials. " + FILLER)
    (sources(project) / "gradishar-2016.txt").write_text("Our unpublished notes. " + FILLER)

    report = match_sources(project)

    found = {m.path: (m.key, m.method) for m in report.matched}
    assert found == {
        "sources/paper1.pdf": ("Gradishar et al. 2016", "doi"),
        "sources/paper2.pdf": ("Haluska et al. 2007", "doi"),
        "sources/paper3.pdf": ("Fagan et al. 2012", "title"),
        "sources/Yee et al. 2012.txt": ("Yee et al. 2012", "filename"),
        "sources/gradishar-2016.txt": ("Gradishar et al. 2016", "filename"),
    }
    assert report.unmatched == []
    assert report.keys_with_several_files() == {
        "Gradishar et al. 2016": ["sources/gradishar-2016.txt", "sources/paper1.pdf"]
    }
    entries = table(project)
    assert entries["sources/paper3.pdf"] == {
        "kind": "source", "key": "Fagan et al. 2012", "title": FAGAN.title, "year": 2012,
    }  # fmt: skip
    assert entries["sources/Yee et al. 2012.txt"]["title"] == "Yee et al. 2012"  # no title known: the key


def test_unmatched_files_are_reported_not_guessed(project: Settings) -> None:
    write_pdf(sources(project) / "mystery.pdf", ["Some other paper about kinase signalling", FILLER * 2])
    (sources(project) / "notes.txt").write_text("DOI 10.9999/not-in-the-bibliography. " + FILLER)
    (sources(project) / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")

    report = match_sources(project)

    assert report.matched == []
    assert sorted(u.path for u in report.unmatched) == [
        "sources/broken.pdf", "sources/mystery.pdf", "sources/notes.txt",
    ]  # fmt: skip
    assert "unreadable PDF" in next(u.reason for u in report.unmatched if u.path == "sources/broken.pdf")
    assert not (project.corpus_dir / "documents.toml").exists()


def test_content_wins_over_a_misleading_file_name_which_is_noted(project: Settings) -> None:
    (sources(project) / "Haluska et al. 2007.txt").write_text(GRADISHAR.title + "\n\n" + FILLER)
    [match] = match_sources(project).matched
    assert (match.key, match.method) == ("Gradishar et al. 2016", "title")
    assert "file name suggests 'Haluska et al. 2007'" in match.detail


def test_ambiguous_titles_are_unmatched(project: Settings) -> None:
    twin = CitedWork(key="Fagan et al. 2013", year=2013, title=FAGAN.title)
    write_bibliography(project.references_path, [FAGAN, twin])
    (sources(project) / "paper.txt").write_text(FAGAN.title + "\n\n" + FILLER)
    report = match_sources(project)
    assert report.matched == []
    assert "ambiguous" in report.unmatched[0].reason


def test_other_entries_survive_and_existing_links_are_kept(project: Settings) -> None:
    toml_path = project.corpus_dir / "documents.toml"
    toml_path.write_text(
        '[documents."igf1r-review.txt"]\ntitle = "40 years of IGF1"\nauthors = "Yee D"\nyear = 2018\n'
        'kind = "review"\noutline = ["Introduction", "Introduction > History"]\n\n'
        '[documents."sources/linked.txt"]\nkind = "source"\nkey = "Haluska et al. 2007"\ntitle = "mine"\n'
    )
    (sources(project) / "linked.txt").write_text(GRADISHAR.title + "\n" + FILLER)
    (sources(project) / "new.txt").write_text(GRADISHAR.title + "\n" + FILLER)

    report = match_sources(project)

    assert {(m.path, m.method) for m in report.matched} == {
        ("sources/linked.txt", "existing"), ("sources/new.txt", "title"),
    }  # fmt: skip
    entries = table(project)
    assert entries["igf1r-review.txt"]["outline"] == ["Introduction", "Introduction > History"]
    assert entries["igf1r-review.txt"]["year"] == 2018
    assert entries["sources/linked.txt"] == {"kind": "source", "key": "Haluska et al. 2007", "title": "mine"}
    assert entries["sources/new.txt"]["key"] == "Gradishar et al. 2016"

    forced = match_sources(project, force=True)
    assert {m.path: m.key for m in forced.matched}["sources/linked.txt"] == "Gradishar et al. 2016"
    assert table(project)["sources/linked.txt"]["title"] == GRADISHAR.title


def test_new_links_are_appended_keeping_the_users_comments(project: Settings) -> None:
    toml_path = project.corpus_dir / "documents.toml"
    original = '# my notes on the corpus\n[documents."igf1r-review.txt"]\nkind = "review"  # the review\n'
    toml_path.write_text(original)
    update_document_entries(toml_path, {"sources/a.txt": {"kind": "source", "key": "A 2000", "year": None}})
    text = toml_path.read_text()
    assert text.startswith(original)
    assert table(project)["sources/a.txt"] == {"kind": "source", "key": "A 2000"}

    update_document_entries(toml_path, {"igf1r-review.txt": {"title": "40 years of IGF1"}})
    assert table(project) == {
        "igf1r-review.txt": {"kind": "review", "title": "40 years of IGF1"},
        "sources/a.txt": {"kind": "source", "key": "A 2000"},
    }


def test_concurrent_updates_lose_no_entry(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    toml_path = tmp_path / "documents.toml"

    def link(i: int) -> None:
        update_document_entries(toml_path, {f"sources/f{i}.txt": {"kind": "source", "key": f"K {i}"}})

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(link, range(24)))
    with toml_path.open("rb") as fh:
        assert len(tomllib.load(fh)["documents"]) == 24
    assert [p.name for p in tmp_path.iterdir()] == ["documents.toml"]  # no lock or temporary files left


def test_invalid_documents_toml_is_never_overwritten(project: Settings) -> None:
    toml_path = project.corpus_dir / "documents.toml"
    toml_path.write_text("[documents\nbroken")
    with pytest.raises(DocumentTableError, match="not valid TOML"):
        update_document_entries(toml_path, {"sources/x.txt": {"kind": "source"}})
    assert toml_path.read_text() == "[documents\nbroken"


def test_match_command_lists_matches_and_unmatched(project: Settings) -> None:
    (sources(project) / "Gradishar et al. 2016.txt").write_text("Notes. " + FILLER)
    (sources(project) / "unknown.txt").write_text("Nothing useful. " + FILLER)
    env = {"REVIEWQA_CORPUS_DIR": str(project.corpus_dir)}

    result = CliRunner().invoke(main, ["refs", "match", "--dry-run"], env=env)

    assert result.exit_code == 0, result.output
    assert "matched   sources/Gradishar et al. 2016.txt -> Gradishar et al. 2016 (filename" in result.output
    assert "UNMATCHED sources/unknown.txt" in result.output
    assert "1 matched (1 would record in documents.toml), 1 unmatched" in result.output
    assert not (project.corpus_dir / "documents.toml").exists()


def test_match_command_reports_a_damaged_pdf_as_unreadable_without_a_traceback(project: Settings) -> None:
    # pypdf raises NotImplementedError (not one of its own errors) for this unsupported encryption.
    good = write_pdf(sources(project) / "damaged.pdf", [GRADISHAR.title, FILLER]).read_bytes()
    damaged = good.replace(b"trailer\n<<", b"trailer\n<< /Encrypt << /Filter /Standard /V 9 /R 9 >>", 1)
    assert damaged != good
    (sources(project) / "damaged.pdf").write_bytes(damaged)
    env = {"REVIEWQA_CORPUS_DIR": str(project.corpus_dir)}

    result = CliRunner().invoke(main, ["refs", "match", "--dry-run"], env=env)

    assert result.exit_code == 0, result.output
    assert result.exception is None
    assert "UNMATCHED sources/damaged.pdf" in result.output
    assert "unreadable PDF" in result.output
    assert "Traceback" not in result.output
