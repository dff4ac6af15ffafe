"""PDF documents (built at test time with fpdf2), unreadable and empty files, pluggable readers."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REVIEW_PATH, make_settings
from fpdf import FPDF
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from reviewqa.corpus import READERS, ingest, load_clean_text, load_documents, load_passages
from reviewqa.corpus import cli as corpus_cli
from reviewqa.corpus.ocr import ocr_available
from reviewqa.corpus.readers import UnreadableDocumentError, read_pdf_file, read_text_file
from reviewqa.errors import CorpusError
from reviewqa.settings import Settings

PAGE_ONE = [
    "Results",
    "",
    "Tumors with the top quartile of insulin receptor expression had the poorest progression-",
    "free survival when the antibody was given (Gradishar et al.",
    "2016). The cus-",
    "tomer care team recorded every treat-",
    "ment given.",
    "",
    "1",
]
PAGE_TWO = [
    "Discussion",
    "",
    "A second trial on this page found the same progression in patients who were",
    "free of disease at first (Smith & Jones 2019).",
    "",
    "2",
]


def write_pdf(path: Path, pages: list[list[str]]) -> None:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for lines in pages:
        pdf.add_page()
        for line in lines:
            pdf.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))


@pytest.fixture
def pdf_project(tmp_path: Path) -> Settings:
    settings = make_settings(tmp_path)
    write_pdf(settings.documents_dir / "sources" / "gradishar-2016.pdf", [PAGE_ONE, PAGE_TWO])
    shutil.copy(REVIEW_PATH, settings.documents_dir / REVIEW_PATH.name)
    (settings.corpus_dir / "documents.toml").write_text(
        '[documents."sources/gradishar-2016.pdf"]\nkey = "Gradishar et al. 2016"\ntitle = "A trial"\n',
        encoding="utf-8",
    )
    return settings


def test_pdf_text_pages_and_citations_are_recovered(pdf_project: Settings) -> None:
    result = ingest(pdf_project)
    documents = {d["doc_id"]: d for d in load_documents(pdf_project)}
    source = documents["sources/gradishar-2016"]
    assert (source["kind"], source["key"], source["title"], source["pages"]) == (
        "source", "Gradishar et al. 2016", "A trial", 2,
    )  # fmt: skip
    assert documents["igf1r-review"]["kind"] == "review"

    text = load_clean_text(pdf_project, "sources/gradishar-2016")
    assert (
        "the poorest progression-free survival when the antibody was given (Gradishar et al. 2016)." in text
    )
    assert "The customer care team recorded every treatment given." in text
    assert text.startswith("Results\n\n") and "\n\nDiscussion\n\n" in text
    assert "\n1\n" not in text and not text.endswith("2")  # page numbers are not text

    passages = [p for p in load_passages(pdf_project) if p.document == "sources/gradishar-2016"]
    assert [(p.section, p.page) for p in passages] == [(["Results"], 1), (["Discussion"], 2)]
    assert passages[0].cited_works == ["Gradishar et al. 2016"]
    assert {p.work_key for p in passages} == {"Gradishar et al. 2016"}  # the work this source paper is
    assert {p.work_key for p in load_passages(pdf_project) if p.document == "igf1r-review"} == {None}
    assert passages[1].cited_works == ["Smith & Jones 2019"]
    for passage in passages:
        assert text[passage.start : passage.end] == passage.text
    # cited_works.json lists what the review cites; a source's own references stay on its passages.
    assert "Smith & Jones 2019" not in result.cited_works
    assert result.pages == 2


def test_corrupt_pdf_and_empty_files_are_skipped_with_warnings(
    pdf_project: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    documents = pdf_project.documents_dir
    (documents / "sources" / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage")
    (documents / "sources" / "truncated.pdf").write_bytes(
        (documents / "sources" / "gradishar-2016.pdf").read_bytes()[:300]
    )
    (documents / "empty.txt").write_text("", encoding="utf-8")
    (documents / "blank.txt").write_text(" \n\n\u00a0\n", encoding="utf-8")
    write_pdf(documents / "sources" / "no-text.pdf", [[""]])

    with caplog.at_level(logging.WARNING, logger="reviewqa.corpus"):
        result = CliRunner().invoke(corpus_cli.ingest, [], obj=pdf_project)
    assert result.exit_code == 0, result.output
    skipped = {"sources/broken.pdf", "sources/truncated.pdf", "empty.txt", "blank.txt", "sources/no-text.pdf"}
    for name in skipped:
        logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith(f"skipping {name}:")]
        assert len(logged) == 1, caplog.records
    messages = " ".join(record.getMessage() for record in caplog.records)
    assert "cannot read PDF" in messages and "empty document" in messages
    ingested = {d["path"] for d in load_documents(pdf_project)}
    assert ingested == {"igf1r-review.txt", "sources/gradishar-2016.pdf"}
    assert "ingested 2 documents" in result.output and "5 files skipped" in result.output


def test_passages_written_before_work_keys_still_load(pdf_project: Settings) -> None:
    ingest(pdf_project)
    path = pdf_project.index_dir / "passages.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert all("work_key" in row for row in rows)
    path.write_text(
        "".join(json.dumps({k: v for k, v in row.items() if k != "work_key"}) + "\n" for row in rows)
    )
    assert {p.work_key for p in load_passages(pdf_project)} == {None}


def test_nothing_readable_is_a_clear_error(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    settings.documents_dir.mkdir(parents=True)
    (settings.documents_dir / "broken.pdf").write_bytes(b"not a pdf at all")
    with pytest.raises(CorpusError, match="none of the 1 files"):
        ingest(settings)
    result = CliRunner().invoke(corpus_cli.ingest, [], obj=make_settings(tmp_path / "missing"))
    assert result.exit_code != 0
    assert isinstance(result.exception, CorpusError) and "does not exist" in str(result.exception)


def test_bad_documents_toml_is_a_clear_error(pdf_project: Settings) -> None:
    toml_path = pdf_project.corpus_dir / "documents.toml"
    toml_path.write_text('[documents."igf1r-review.txt"]\nkind = "novel"\n', encoding="utf-8")
    with pytest.raises(CorpusError, match="kind must be one of"):
        ingest(pdf_project)
    toml_path.write_text("[documents\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="not valid TOML"):
        ingest(pdf_project)


def test_readers_are_pluggable(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    settings.documents_dir.mkdir(parents=True)
    (settings.documents_dir / "notes.md").write_text(
        "Notes\n\nA note on IGF1R (Pollak 2008).\n", encoding="utf-8"
    )
    (settings.documents_dir / "other.txt").write_text("A plain text file about INSR.\n", encoding="utf-8")
    assert [d["path"] for d in ingest(settings).documents] == ["other.txt"]
    result = ingest(settings, readers={**READERS, ".md": read_text_file})
    assert [d["path"] for d in result.documents] == ["notes.md", "other.txt"]
    assert result.cited_works == ["Pollak 2008"]
    assert json.loads((settings.index_dir / "cited_works.json").read_text(encoding="utf-8")) == [
        "Pollak 2008"
    ]
    assert not (settings.index_dir / "clean" / "ghost.txt").exists()


def test_running_heads_and_page_numbers_are_dropped_and_sentences_rejoined(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    pages = [
        ["J Mol Endocrinol 61:T61", "Introduction", "", "Insulin-like growth factors act through the recep-"],
        ["J Mol Endocrinol 61:T62", "tor on many cells, and their levels fall", "with age.", "Page 2 of 3"],
        ["J Mol Endocrinol 61:T63", "Summary", "", "The receptor is a target.", "Page 3 of 3"],
    ]
    write_pdf(settings.documents_dir / "paper.pdf", pages)
    ingest(settings)
    text = load_clean_text(settings, "paper")
    assert text == (
        "Introduction\n\nInsulin-like growth factors act through the receptor on many cells, and their "
        "levels fall with age.\n\nSummary\n\nThe receptor is a target."
    )
    [first, second] = load_passages(settings)
    assert (first.section, first.page, second.section, second.page) == (["Introduction"], 1, ["Summary"], 3)
    [document] = load_documents(settings)
    assert document["pages"] == 3


@hypothesis_settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    changes=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8),
    keep=st.floats(0.05, 1.0),
)
def test_damaged_pdfs_never_stop_ingestion(
    tmp_path_factory: pytest.TempPathFactory, changes: list[tuple[int, int]], keep: float
) -> None:
    settings = make_settings(tmp_path_factory.mktemp("damaged"))
    write_pdf(settings.documents_dir / "damaged.pdf", [PAGE_ONE, PAGE_TWO])
    (settings.documents_dir / "good.txt").write_text("A note about IGF1R (Pollak 2008).\n", encoding="utf-8")
    data = bytearray((settings.documents_dir / "damaged.pdf").read_bytes())
    for position, value in changes:  # flip bytes, then cut the file short
        data[position % len(data)] = value
    (settings.documents_dir / "damaged.pdf").write_bytes(bytes(data[: max(1, int(len(data) * keep))]))
    result = ingest(settings)
    assert "good.txt" in {d["path"] for d in result.documents}
    assert {d["path"] for d in result.documents} | {s.path for s in result.skipped} == {
        "good.txt",
        "damaged.pdf",
    }


def test_a_long_pdf_shows_progress_by_pages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = make_settings(tmp_path)
    words = REVIEW_PATH.read_text(encoding="utf-8").encode("latin-1", "replace").decode("latin-1").split()
    lines = [" ".join(words[i : i + 12]) for i in range(0, 12 * 4 * 25, 12)]
    pages = [lines[i : i + 4] for i in range(0, len(lines), 4)]  # 25 pages of distinct text
    write_pdf(settings.documents_dir / "long-report.pdf", pages)
    result = ingest(settings, progress=True)
    assert result.pages == len(pages)
    progress = capsys.readouterr().err
    assert "long-report.pdf" in progress and f"/{len(pages)} [" in progress and "page" in progress


def test_short_documents_show_no_progress(pdf_project: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    # The shipped corpus (one text document) and short PDFs keep the output clean.
    ingest(pdf_project, progress=True)
    assert capsys.readouterr().err == ""


def test_readers_without_page_reports_still_work_with_progress(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    settings.documents_dir.mkdir(parents=True)
    (settings.documents_dir / "notes.md").write_text("Notes\n\nA note (Pollak 2008).\n", encoding="utf-8")
    result = ingest(settings, progress=True, readers={".md": lambda path: read_text_file(path)})
    assert result.cited_works == ["Pollak 2008"]


def test_running_heads_are_found_whatever_their_spacing() -> None:
    from reviewqa.corpus.noise import running_lines

    pages = [
        ["OPEN ACCESSReport", "Text of page one.", "More text.", "Cancer Cell 40, 1060, 2022 1067"],
        ["OPEN ACCESS Report", "Text of page two.", "Other text.", "1068 Cancer Cell 40, 1060, 2022"],
        ["OPEN ACCESS  Report", "Text of page three.", "Last text.", "Cancer Cell 40, 1060, 2022 1069"],
    ]
    # the head recurs on all pages; the foot's page number moves, so two of three pages share its shape
    assert running_lines(pages) == [[0, 3], [0], [0, 3]]


@pytest.mark.skipif(not ocr_available(), reason="ocrmypdf and tesseract-ocr are not installed")
def test_a_blank_scan_is_reported_once_ocr_finds_no_text(tmp_path: Path) -> None:
    """OCR's output of a blank scan has images and no text either: it is reported, not OCR'd again."""
    image = pytest.importorskip("PIL.Image")
    path = tmp_path / "blank-scan.pdf"
    image.new("L", (400, 500), 255).save(path, "PDF")
    with pytest.raises(UnreadableDocumentError, match=r"no text layer \(1 pages\); OCR found no text either"):
        read_pdf_file(path)
