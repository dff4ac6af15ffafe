"""The twelve real publisher PDFs of ../shared/corpora/oa-pdfs, read once per session."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import make_settings
from pypdf import PdfReader, PdfWriter

from reviewqa.corpus import ingest, load_documents, load_passages
from reviewqa.corpus.ocr import ocr_available
from reviewqa.corpus.readers import UnreadableDocumentError, read_pdf_file
from reviewqa.corpus.report import _plain_pages, pdf_rows, read_manifest, running_heads, title_matches
from reviewqa.settings import PROJECT_ROOT, Settings

OA_PDFS = PROJECT_ROOT.parent / "shared" / "corpora" / "oa-pdfs"
IMAGE_ONLY = "hardcase_scanned-imageonly_Tully2010_RehabilResPract_DERIVED.pdf"
LINE_NUMBERED = "hardcase_linenumbers_Jordan2024_bioRxiv_SH3-binding-motif.pdf"
UNHEADED_LIST = "standalone_Raghuraman2020_Proteomics_Drosophila-eye-absolute-quant.pdf"
REVIEWS = (
    "review_Lee2023_ExpMolMed_EPRS1-phosphocode-signaling.pdf",
    "review_Jiang2023_IntJBiolSci_gasdermin-PTMs.pdf",
)

if not OA_PDFS.exists():
    print(f"skipping the publisher PDF tests: {OA_PDFS} is not on this machine")
pytestmark = pytest.mark.skipif(not OA_PDFS.exists(), reason=f"{OA_PDFS} is not on this machine")


@pytest.fixture(scope="session")
def oa_project(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The PDFs with a text layer, ingested once (the image-only one has its own tests)."""
    settings = make_settings(tmp_path_factory.mktemp("oa-pdfs"))
    settings.documents_dir.mkdir(parents=True)
    for path in OA_PDFS.glob("*.pdf"):
        if path.name != IMAGE_ONLY:
            shutil.copy(path, settings.documents_dir / path.name)
    ingest(settings)
    return settings


@pytest.fixture(scope="session")
def manifest() -> dict[str, dict[str, str]]:
    return read_manifest(OA_PDFS / "MANIFEST.tsv")


@pytest.fixture(scope="session")
def records(oa_project: Settings) -> dict[str, dict]:
    return {Path(record["path"]).name: record for record in load_documents(oa_project)}


def test_titles_and_dois_match_the_manifest(
    records: dict[str, dict], manifest: dict[str, dict[str, str]]
) -> None:
    assert set(records) == set(manifest) - {IMAGE_ONLY}
    for name, record in records.items():
        assert title_matches(record["title"], manifest[name]["title"]), (name, record["title"])
        assert record["doi"].lower() == manifest[name]["doi"].lower(), name
        assert record["year"] is not None, name


def test_the_reviews_reference_lists_parse(records: dict[str, dict]) -> None:
    for name in REVIEWS:
        record = records[name]
        entries = record["references"]
        assert record["references_printed"] >= 100  # counted from the list's own numbering
        assert len(entries) >= 0.95 * record["references_printed"], name
        with_fields = [e for e in entries if e["key"] and e["year"] and len(e["title"].split()) >= 3]
        assert len(with_fields) >= 0.95 * len(entries), name
        assert [e["number"] for e in entries] == list(range(1, len(entries) + 1))


def test_a_reference_list_without_heading_is_read(oa_project: Settings, records: dict[str, dict]) -> None:
    """Proteomics (Wiley) prints its list after the "Keywords" matter without a heading, words run together
    ("[8] H.Taymaz-Nikerel,A.R.Lara, Front. Bioeng. Biotechnol.2016,4.")."""
    record = records[UNHEADED_LIST]
    entries = record["references"]
    assert record["references_printed"] >= 60
    assert [e["number"] for e in entries] == list(range(1, record["references_printed"] + 1))
    assert sum(bool(e["key"] and e["year"]) for e in entries) >= 0.95 * len(entries)
    assert entries[7]["key"] == "Taymaz-Nikerel & Lara 2016"
    assert record["citations"]["linked"] >= 0.95 * record["citations"]["found"] > 50
    texts = [p.text for p in load_passages(oa_project) if p.document == record["doc_id"]]
    assert not any("Taymaz" in text or "Biotechnol" in text for text in texts)
    assert any("absolute quantification of proteins, Drosophila eye" in text for text in texts)


def test_an_author_year_list_is_read_past_a_running_head_in_large_type(
    oa_project: Settings, records: dict[str, dict]
) -> None:
    """Cell Press: the list runs over two pages whose "OPEN ACCESS Report" head is set larger than the
    body; it is no heading, so the second page's entries (in small type) are read too. Its section
    headings, in the body's type, are siblings under the typed "STAR+METHODS", and captions stay captions."""
    record = records["standalone_Zhang2022_CancerCell_KRAS-G12C-haptenated-neoepitopes.pdf"]
    passages = [p for p in load_passages(oa_project) if p.document == record["doc_id"]]
    assert not any("OPEN ACCESS" in " ".join(p.section) for p in passages)
    assert max(len(p.section) for p in passages) <= 3
    assert ["Report", "STAR+METHODS", "Flow cytometry"] in [list(p.section) for p in passages]
    assert sum(p.kind == "caption" and p.text.startswith("Figure ") for p in passages) >= 4
    entries = record["references"]
    assert record["references_printed"] >= 38
    assert len(entries) >= 0.95 * record["references_printed"]
    keys = [e["key"] for e in entries]
    assert "Zhao et al. 2021" in keys and "Pichler 2003" in keys  # on the list's second page
    assert sum(bool(e["key"] and e["year"] and e["title"]) for e in entries) >= 0.95 * len(entries)
    assert all(" " not in e["doi"] and "Cancer" not in e["doi"] for e in entries)
    assert record["citations"]["linked"] >= 0.9 * record["citations"]["found"]


def test_biomed_central_entries_get_keys_and_titles(records: dict[str, dict]) -> None:
    """BioMed Central ends the author list with a colon: "Geerts WH, Code KI: A prospective study ..."."""
    record = records["hardcase_page-excerpt_Datta2010_JTraumaManagOutcomes_DVT-prophylaxis-review.pdf"]
    entries = record["references"]
    assert sum(bool(e["key"] and len(e["title"].split()) >= 3) for e in entries) >= 0.9 * len(entries)
    assert record["citations"]["linked"] >= 0.9 * record["citations"]["found"]


def test_numbered_citations_resolve_to_entries_with_titles(
    oa_project: Settings, records: dict[str, dict]
) -> None:
    jiang = records[REVIEWS[1]]
    entries = {e["number"]: e for e in jiang["references"]}
    passages = [p for p in load_passages(oa_project) if p.document == jiang["doc_id"]]
    # "... hearing loss in humans [1-4]." cites entries 1 to 4, by their author-year keys
    sentence = next(s for p in passages for s in p.sentences if "hearing" in s.text and "[1-4]" in s.text)
    assert sentence.cited_works[:4] == [entries[n]["key"] for n in range(1, 5)]
    assert jiang["citations"]["linked"] >= 0.95 * jiang["citations"]["found"] > 100
    lee = records[REVIEWS[0]]  # superscript citations: "translation1,2."
    lee_keys = {e["number"]: e["key"] for e in lee["references"]}
    lee_passages = [p for p in load_passages(oa_project) if p.document == lee["doc_id"]]
    sentence = next(
        s for p in lee_passages for s in p.sentences if "preribosomal stage of translation" in s.text
    )
    assert sentence.cited_works == [lee_keys[1], lee_keys[2]]


def test_no_passage_holds_a_running_head_or_a_line_number(
    oa_project: Settings, records: dict[str, dict], manifest: dict[str, dict[str, str]]
) -> None:
    passages = load_passages(oa_project)
    rows = {
        row.file: row
        for row in pdf_rows(list(records.values()), passages, oa_project.documents_dir, manifest)
    }
    assert all(row.running_heads_left == 0 for row in rows.values()), rows
    assert rows[LINE_NUMBERED].line_numbers_left == 0
    heads = running_heads(_plain_pages(oa_project.documents_dir / LINE_NUMBERED))
    assert any("biorxiv" in head for head in heads)  # the checker sees the preprint's stamp
    jordan = [p.text for p in passages if p.document == records[LINE_NUMBERED]["doc_id"]]
    assert not any(re.search(r"\b(?:protein|two)-\d{3}\b", text) for text in jordan)  # "protein-43 protein"
    assert any("In signaling networks, protein-protein interactions are often mediated" in t for t in jordan)


def test_captions_are_passages_of_their_own(oa_project: Settings, records: dict[str, dict]) -> None:
    passages = load_passages(oa_project)
    captions = [p for p in passages if p.kind == "caption"]
    assert len({p.document for p in captions}) >= 8
    assert all(
        re.match(r"(?:Supplementary )?(?:Fig(?:ure)?\.?|Table|Scheme|Box)\s*S?\d", p.text)
        for p in captions[:1]
    )
    jiang = [p for p in captions if p.document == records[REVIEWS[1]]["doc_id"]]
    assert any(p.text.startswith("Figure 1: General characteristics of GSDMs") for p in jiang)
    assert not any("Figure 1: General characteristics" in p.text for p in passages if p.kind == "text")


def test_headings_front_matter_and_broken_words(oa_project: Settings, records: dict[str, dict]) -> None:
    passages = load_passages(oa_project)
    bawaneh = records["standalone_Bawaneh2022_Cancers_TNBC-microbiota-doxorubicin.pdf"]
    assert ["2. Materials and Methods"] in bawaneh["sections"]
    text = " ".join(p.text for p in passages if p.document == bawaneh["doc_id"])
    assert "Academic Editors" not in text and "Publisher’s Note" not in text  # the MDPI sidebar
    nar = records["standalone_Espinoza2024_NAR_DNA-intercalators-RNAPII-degradation.pdf"]
    assert nar["title"].endswith("leads to degradation of RNA Polymerase II")
    nar_text = " ".join(p.text for p in passages if p.document == nar["doc_id"])
    assert "Downloaded from" not in nar_text and "mainly known for their capacity" in nar_text
    proteomics = records["standalone_Raghuraman2020_Proteomics_Drosophila-eye-absolute-quant.pdf"]
    proteomics_text = " ".join(p.text for p in passages if p.document == proteomics["doc_id"])
    assert "Proteomics is quantitative" in proteomics_text


def test_image_only_pdf_is_reported_or_read_through_ocr(monkeypatch: pytest.MonkeyPatch) -> None:
    path = OA_PDFS / IMAGE_ONLY
    monkeypatch.setattr("reviewqa.corpus.ocr.ocr_available", lambda: False)
    with pytest.raises(UnreadableDocumentError, match=r"no text layer \(6 pages\)"):
        read_pdf_file(path)


@pytest.mark.skipif(not ocr_available(), reason="ocrmypdf and tesseract-ocr are not installed")
def test_image_only_pdf_through_ocr_gives_the_original_title_and_doi(
    tmp_path: Path, manifest: dict[str, dict[str, str]]
) -> None:
    settings = make_settings(tmp_path)
    settings.documents_dir.mkdir(parents=True)
    # Its first page alone, without the file's metadata: OCR takes seconds a page, and title and DOI must
    # come from the page's pixels.
    writer = PdfWriter()
    writer.add_page(PdfReader(OA_PDFS / IMAGE_ONLY).pages[0])
    writer.write(settings.documents_dir / IMAGE_ONLY)
    ingest(settings)
    (record,) = load_documents(settings)
    assert record["reading"]["ocr"] is True
    assert title_matches(record["title"], manifest[IMAGE_ONLY]["title"])  # from the OCR'd first page
    assert record["doi"] == manifest[IMAGE_ONLY]["doi"]
    text = " ".join(p.text for p in load_passages(settings))
    assert "heart failure" in text.lower()


def test_cited_works_of_a_pdf_passage_carry_titles_and_dois(
    oa_project: Settings, records: dict[str, dict]
) -> None:
    from reviewqa.index.search import _bibliography

    passages = load_passages(oa_project)
    bibliography, own_lists = _bibliography(oa_project, passages, list(records.values()))
    jiang = [p for p in passages if p.document == records[REVIEWS[1]]["doc_id"] and p.cited_works]
    works = [
        own_lists.get(p.document, {}).get(key) or bibliography[key] for p in jiang for key in p.cited_works
    ]
    assert works and sum(1 for w in works if w.title and w.year) >= 0.95 * len(works)
    vedovato = records["standalone_Vedovato2024_Diabetologia_KCNJ11-LoF-diabetes.pdf"]
    with_doi = [e for e in vedovato["references"] if e["doi"]]
    assert len(with_doi) >= 0.9 * len(vedovato["references"])  # Springer prints a DOI for most entries
    assert bibliography[with_doi[0]["key"]].doi == with_doi[0]["doi"]
