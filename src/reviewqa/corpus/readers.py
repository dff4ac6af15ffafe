"""Readers turn a file into raw page texts. Pluggable: ``READERS`` maps a file suffix to a reader function.

A reader that also takes an ``on_page`` keyword (called as ``on_page(done, total)`` after each page, like
the PDF reader) lets ``ingest`` show how far a long document has got.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Protocol, cast

from reviewqa.corpus.hygiene import binary_reason
from reviewqa.corpus.pdf_layout import LayoutPage, page_layout
from reviewqa.errors import CorpusError

logger = logging.getLogger(__name__)


class UnreadableDocumentError(CorpusError):
    """One document cannot be read; ingestion skips it and goes on with the rest."""


@dataclass
class RawDocument:
    """What a reader returns: the text of each page, and whether page numbers mean anything."""

    pages: list[str]
    paged: bool  # True for formats with real pages (PDF); plain text is one unnumbered page
    metadata: dict[str, str] = field(default_factory=dict)  # e.g. the title a PDF declares
    layout: list[LayoutPage] | None = None  # a PDF's lines with position, type size and weight

    @property
    def is_empty(self) -> bool:
        return not any(page.strip() for page in self.pages)


Reader = Callable[[Path], RawDocument]
PageCallback = Callable[[int, int], None]  # (pages read, pages in the document)


class PagedReader(Protocol):
    def __call__(self, path: Path, *, on_page: PageCallback | None = None) -> RawDocument: ...


def read_text_file(path: Path) -> RawDocument:
    """UTF-8 text (a BOM is dropped); other encodings are read as cp1252 with a warning."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableDocumentError(f"cannot read {path}: {exc}") from exc
    refused = binary_reason(data)
    if refused:
        raise UnreadableDocumentError(f"{path}: {refused}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        logger.warning("%s is not UTF-8; reading it as cp1252", path)
        text = data.decode("cp1252", errors="replace")
    return RawDocument(pages=[text], paged=False)


def read_pdf_file(
    path: Path, max_pages: int | None = None, *, on_page: PageCallback | None = None, ocr: bool = True
) -> RawDocument:
    """The text of every page (pypdf; only the first ``max_pages`` when given), numbered from 1.
    A page that fails to extract is left empty. ``on_page(done, total)`` follows the extraction, which is
    most of the time a long PDF takes. An image-only PDF goes through OCR when ``ocr`` (not OCR's own
    output: a scan it found no text in still has no text layer)."""
    import pypdf  # imported here: only needed when the corpus holds PDFs
    from pypdf.errors import PyPdfError

    try:
        reader = pypdf.PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableDocumentError(f"{path} is encrypted; cannot read it")
        page_count = len(reader.pages)
    except UnreadableDocumentError:
        raise
    except PyPdfError as exc:
        raise UnreadableDocumentError(f"cannot read PDF {path}: {exc}") from exc
    except Exception as exc:  # damaged PDFs make pypdf raise almost anything; one file must not stop the rest
        raise UnreadableDocumentError(f"cannot read PDF {path}: {type(exc).__name__}: {exc}") from exc
    if max_pages is not None:
        page_count = min(page_count, max_pages)
    layout = []
    for number in range(page_count):
        layout.append(_extract_page(reader, number, path))
        if on_page is not None:
            on_page(number + 1, page_count)
    metadata = _pdf_metadata(reader)
    if (
        ocr
        and page_count
        and not any(page.text.strip() for page in layout)
        and _has_images(reader, page_count)
    ):
        return read_without_text_layer(path, page_count, metadata, max_pages)
    return RawDocument(pages=[page.text for page in layout], paged=True, metadata=metadata, layout=layout)


def read_without_text_layer(
    path: Path, page_count: int, metadata: dict[str, str], max_pages: int | None
) -> RawDocument:
    """An image-only PDF: read through OCR when ``ocrmypdf`` (with tesseract) is installed, else an
    ``UnreadableDocumentError`` saying "no text layer (N pages)"."""
    from reviewqa.corpus.ocr import OcrError, ocr_pdf

    try:
        with ocr_pdf(path, page_count) as ocr_path:
            raw = read_pdf_file(ocr_path, max_pages, ocr=False)
    except OcrError as exc:
        raise UnreadableDocumentError(f"no text layer ({page_count} pages); {exc}") from exc
    if raw.is_empty:
        raise UnreadableDocumentError(f"no text layer ({page_count} pages); OCR found no text either")
    raw.metadata = {**raw.metadata, **metadata, "ocr": "ocrmypdf"}
    logger.info("%s has no text layer; read its %d pages through OCR", path, page_count)
    return raw


def _has_images(reader: object, page_count: int) -> bool:
    """Whether some page draws an image: a scan, as opposed to a blank or damaged page."""
    for number in range(page_count):
        try:
            resources = reader.pages[number].get("/Resources") or {}  # type: ignore[attr-defined]
            objects = resources.get_object().get("/XObject") or {}
            if any(obj.get_object().get("/Subtype") == "/Image" for obj in objects.get_object().values()):
                return True
        except Exception:  # a damaged page is no scan we could read
            logger.debug("page %d: unreadable resources", number + 1, exc_info=True)
    return False


def _extract_page(reader: object, number: int, path: Path) -> LayoutPage:
    try:
        return page_layout(reader.pages[number], number + 1)  # type: ignore[attr-defined]
    except Exception as exc:  # pypdf raises many kinds on damaged pages; one bad page must not stop the rest
        logger.warning("%s: page %d could not be extracted (%s); it is left empty", path, number + 1, exc)
        return LayoutPage(number + 1, 0.0, 0.0)


def _pdf_metadata(reader: object) -> dict[str, str]:
    """The PDF's declared "title" and "authors"; its other text fields ("/Subject", a publisher's "/doi",
    ...) and the XMP packet ("xmp") under their own lower-cased names, where refs looks for DOIs."""
    try:
        declared = reader.metadata or {}  # type: ignore[attr-defined]
        info = {str(name): value.get_object() for name, value in declared.items()}
    except Exception:  # damaged metadata is not worth losing the document over
        info = {}
    metadata = {}
    for raw_name, value in info.items():
        name = raw_name.lstrip("/").lower()
        if isinstance(value, str) and value.strip():
            metadata["authors" if name == "author" else name] = value.strip()
    xmp = _xmp_text(reader)
    if xmp:
        metadata["xmp"] = xmp
    return metadata


def _xmp_text(reader: object) -> str:
    """The raw XMP packet, where publishers often put prism:doi; empty when there is none."""
    try:
        stream = reader.trailer["/Root"].get("/Metadata")  # type: ignore[attr-defined]
        return stream.get_object().get_data().decode("utf-8", errors="replace") if stream else ""
    except Exception:  # a broken XMP packet is not worth losing the document over
        logger.debug("no readable XMP metadata", exc_info=True)
        return ""


# Read-only; pass your own mapping to ``read_document``/``ingest`` to add formats.
READERS: Mapping[str, Reader] = MappingProxyType({".txt": read_text_file, ".pdf": read_pdf_file})


def read_document(
    path: Path, readers: Mapping[str, Reader] | None = None, *, on_page: PageCallback | None = None
) -> RawDocument:
    """Read ``path`` with the reader registered for its suffix; ``on_page`` goes to readers that take it."""
    table = READERS if readers is None else readers
    reader = table.get(path.suffix.lower())
    if reader is None:
        raise UnreadableDocumentError(f"no reader for {path.suffix!r} files: {path}")
    if on_page is not None and reports_pages(reader):
        return cast(PagedReader, reader)(path, on_page=on_page)
    return reader(path)


def reports_pages(reader: Reader) -> bool:
    """Whether ``reader`` takes an ``on_page`` keyword."""
    try:
        parameter = inspect.signature(reader).parameters.get("on_page")
    except (TypeError, ValueError):  # builtins and some callables have no signature to read
        return False
    return parameter is not None and parameter.kind in (
        parameter.KEYWORD_ONLY,
        parameter.POSITIONAL_OR_KEYWORD,
    )
