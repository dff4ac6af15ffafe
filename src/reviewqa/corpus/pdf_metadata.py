"""Title, authors, year, journal and DOI of a publisher PDF: from its metadata and XMP, else its first page.

The file name is never used. A declared title is kept when the first page's title (the longest run of lines
in its largest type) agrees with it; when the page's title only extends it (a declared title cut short), the
page's is taken; when there is no declared title, the page's. The DOI comes from a metadata field that names
one (``/doi``, XMP ``prism:doi``, a publisher's ``*ARTICLEDOI``), else from any metadata text, else from the
first page. The year is the one printed beside "©", "Published" or the journal reference on the first page.
"""

from __future__ import annotations

import re
from collections import Counter

from reviewqa.corpus.pdf_layout import LayoutPage, body_font_size, find_title

DOI_RE = re.compile(r"\b10\.\d{4,9}/[^\s\"<>,;]+", re.IGNORECASE)
XMP_DOI_RE = re.compile(r"<prism:doi>\s*([^<\s]+)\s*</prism:doi>|prism:doi=\"([^\"]+)\"", re.IGNORECASE)
XMP_JOURNAL_RE = re.compile(r"<prism:publicationName>\s*([^<]+?)\s*</prism:publicationName>", re.IGNORECASE)
YEAR_RE = re.compile(r"(?<!\d)(19[5-9]\d|20\d\d)(?!\d)")  # "©2020TheAuthors" too
DATED_LINE_RE = re.compile(
    r"©|copyright|published|\(\d{4}\)\s*\d+|\b\d{4}\s*[,;]\s*(?:vol\.?\s*)?\d+\s*[(:]", re.I
)
LETTERS_RE = re.compile(r"[^\W\d_]+")
MIN_TITLE_WORDS = 3
# A label of the article's type set in the title's type ("Research Article", "Review") is no part of it.
ARTICLE_TYPE_RE = re.compile(
    r"^(?:(?:research|review|original|short|brief)\s+(?:article|report|communication)|review|article|report)\s+(?=[A-Z])",
    re.IGNORECASE,
)


def pdf_metadata(declared: dict[str, str], pages: list[LayoutPage]) -> dict[str, str]:
    """title, authors, year, journal, doi (each only when found) from ``declared`` (the reader's metadata)
    and the first page."""
    found: dict[str, str] = {}
    first_page = pages[0] if pages else None
    page_title = find_title(first_page, body_font_size(pages)) if first_page is not None else None
    title = _title(declared.get("title", ""), ARTICLE_TYPE_RE.sub("", page_title[0]) if page_title else "")
    if title:
        found["title"] = title
    authors = declared.get("authors", "").strip()
    if authors:
        found["authors"] = authors
    doi = _doi(declared, first_page)
    if doi:
        found["doi"] = doi
    journal = _journal(declared)
    if journal:
        found["journal"] = journal
    year = _year(first_page)
    if year:
        found["year"] = year
    return found


def letters(text: str) -> str:
    """Letters only, lower-cased: titles compared across spacing, hyphenation and punctuation."""
    return "".join(LETTERS_RE.findall(text.casefold()))


def _title(declared: str, on_page: str) -> str:
    declared = " ".join(declared.split())
    on_page = " ".join(on_page.split())
    usable = len(declared.split()) >= MIN_TITLE_WORDS and not declared.lower().startswith("microsoft word")
    if (
        usable
        and on_page
        and letters(on_page).startswith(letters(declared))
        and letters(on_page) != letters(declared)
    ):
        return on_page  # the declared title was cut short
    if on_page and letters(on_page) in letters(declared) and len(on_page) * 3 < len(declared) * 2:
        return on_page  # a declared "title" that describes the file around the real one
    if usable and (
        not on_page or letters(declared) in letters(on_page) or letters(on_page) in letters(declared)
    ):
        return declared
    return on_page or (declared if usable else "")


def _doi(declared: dict[str, str], first_page: LayoutPage | None) -> str:
    named = [value for key, value in declared.items() if key == "doi" or key.endswith("articledoi")]
    xmp = XMP_DOI_RE.search(declared.get("xmp", ""))
    if xmp:
        named.append(xmp.group(1) or xmp.group(2))
    others = [value for key, value in declared.items() if "journal" not in key and key != "xmp"]
    page = [first_page.text] if first_page is not None else []
    for text in [*named, *others, *page]:
        match = DOI_RE.search(text)
        if match:
            return re.sub(r"(?:doi:?|\.|\)|\])+$", "", match.group(0), flags=re.IGNORECASE)
    return ""


def _journal(declared: dict[str, str]) -> str:
    xmp = XMP_JOURNAL_RE.search(declared.get("xmp", ""))
    if xmp:
        return xmp.group(1)
    subject = declared.get("subject", "")
    if subject and len(subject) < 150:  # "Experimental & Molecular Medicine, doi:...", not an abstract
        name = re.split(r"[,;]|\s\d|\sdoi", subject, maxsplit=1)[0].strip()
        if len(name.split()) >= 1 and not DOI_RE.search(name) and not name.lower().startswith("doi"):
            return name
    return ""


def _year(first_page: LayoutPage | None) -> str:
    if first_page is None:
        return ""
    dated = [line.text for line in first_page.lines if DATED_LINE_RE.search(line.text)]
    years = Counter(year for text in dated for year in YEAR_RE.findall(text))
    if not years:
        years = Counter(YEAR_RE.findall(first_page.text))
    return years.most_common(1)[0][0] if years else ""
