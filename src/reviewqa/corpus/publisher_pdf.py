"""A publisher PDF made ready for cleaning: line numbers removed, metadata read, front matter, small type and
stamps dropped, headings and captions marked, broken words repaired (see ``pdf_layout``, ``pdf_metadata``,
``words``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from reviewqa.corpus.pdf_layout import HintedLine, LayoutPage, hinted_pages, strip_line_numbers
from reviewqa.corpus.pdf_metadata import pdf_metadata
from reviewqa.corpus.words import WordRepair


@dataclass
class PreparedPdf:
    pages: list[list[HintedLine]]
    metadata: dict[str, str] = field(default_factory=dict)  # title, authors, year, journal, doi
    line_numbers_removed: int = 0


def prepare_pdf(layout: list[LayoutPage], declared: dict[str, str]) -> PreparedPdf:
    line_numbers = strip_line_numbers(layout)
    metadata = pdf_metadata(declared, layout)
    pages = hinted_pages(layout)
    repair = WordRepair(line.text for page in pages for line in page)
    for page in pages:
        for line in page:
            if line.text:
                line.text = repair.repair_line(line.text)
    if "title" in metadata:
        metadata["title"] = repair.repair_line(metadata["title"])
    return PreparedPdf(pages, metadata, line_numbers)
