"""Link the files in `corpus/documents/sources/` to their bibliography rows.

A file is linked by the DOI in its metadata or on its first page, else by its title (fuzzy, rapidfuzz),
else by a file name equal to the key or its slug. Anything else is reported unmatched, never guessed.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from rapidfuzz import fuzz

from reviewqa.corpus.metadata import SOURCES_FOLDER, documents_toml_path, load_document_table
from reviewqa.corpus.readers import READERS, UnreadableDocumentError, read_document, read_pdf_file
from reviewqa.models import CitedWork
from reviewqa.refs.bibliography import load_bibliography, short_slug, slugify
from reviewqa.refs.document_table import update_document_entries
from reviewqa.settings import Settings

logger = logging.getLogger(__name__)

SOURCE_SUFFIXES = frozenset(READERS)  # every format the corpus can ingest
HEAD_CHARS = 4000  # a paper's own DOI and title sit on its first page; later pages cite other works
TITLE_THRESHOLD = 90.0
TITLE_MARGIN = 3.0  # the best title must beat the runner-up by this much, else the match is ambiguous
MIN_TITLE_WORDS = 4

DOI_RE = re.compile(r"\b10\.\d{4,9}/[^\s\"<>]+", re.IGNORECASE)

MatchMethod = Literal["doi", "title", "filename", "existing"]


@dataclass
class SourceText:
    """What matching looks at: the start of the text, metadata DOIs and the metadata title."""

    relative_path: str  # relative to corpus/documents/
    head: str
    metadata_dois: list[str] = field(default_factory=list)
    metadata_title: str = ""


@dataclass
class SourceMatch:
    path: str  # relative to corpus/documents/
    key: str
    method: MatchMethod
    detail: str


@dataclass
class Unmatched:
    path: str
    reason: str


@dataclass
class MatchReport:
    matched: list[SourceMatch] = field(default_factory=list)
    unmatched: list[Unmatched] = field(default_factory=list)

    def keys_with_several_files(self) -> dict[str, list[str]]:
        files: dict[str, list[str]] = defaultdict(list)
        for match in self.matched:
            files[match.key].append(match.path)
        return {key: paths for key, paths in files.items() if len(paths) > 1}


def match_sources(settings: Settings, *, force: bool = False, write: bool = True) -> MatchReport:
    """Match every source file; record new links in documents.toml (existing links kept unless ``force``)."""
    bibliography = load_bibliography(settings.references_path)
    table_path = documents_toml_path(settings.corpus_dir)
    entries = load_document_table(table_path)
    report = MatchReport()
    for path in source_files(settings.documents_dir):
        relative = path.relative_to(settings.documents_dir).as_posix()
        existing_key = entries.get(relative, {}).get("key")
        if existing_key in bibliography and not force:
            report.matched.append(
                SourceMatch(relative, existing_key, "existing", "already in documents.toml")
            )
            continue
        try:
            source = read_source_text(path, relative)
        except SourceReadError as exc:
            report.unmatched.append(Unmatched(relative, str(exc)))
            continue
        result = match_source(source, bibliography)
        (report.matched if isinstance(result, SourceMatch) else report.unmatched).append(result)
    if write:
        new_links = [m for m in report.matched if m.method != "existing"]
        update_document_entries(table_path, {m.path: source_entry(bibliography[m.key]) for m in new_links})
    return report


def source_entry(work: CitedWork) -> dict[str, object]:
    """The documents.toml fields for a source document of ``work``."""
    return {
        "kind": "source",
        "key": work.key,
        "title": work.title or work.key,
        "authors": work.authors,
        "year": work.year,
    }


def source_files(documents_dir: Path) -> list[Path]:
    folder = documents_dir / SOURCES_FOLDER
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in SOURCE_SUFFIXES and not p.name.startswith(".")
    )


def match_source(source: SourceText, bibliography: dict[str, CitedWork]) -> SourceMatch | Unmatched:
    """The bibliography row ``source`` belongs to, by DOI, then title, then file name."""
    by_name = match_by_filename(source.relative_path, bibliography)
    by_content = match_by_doi(source, bibliography) or match_by_title(source, bibliography)
    if isinstance(by_content, SourceMatch):
        if by_name is not None and by_name.key != by_content.key:
            by_content.detail += f"; the file name suggests {by_name.key!r}"
        return by_content
    if by_name is not None:
        return by_name
    if isinstance(by_content, Unmatched):  # an ambiguous title: say so
        return by_content
    return Unmatched(source.relative_path, "no DOI, title or file name matches a key")


def match_by_doi(source: SourceText, bibliography: dict[str, CitedWork]) -> SourceMatch | None:
    keys_by_doi = {normalise_doi(w.doi): w.key for w in bibliography.values() if w.doi}
    candidates = [("metadata", doi) for doi in source.metadata_dois]
    candidates += [("text", doi) for doi in find_dois(source.head)]
    for where, doi in candidates:
        key = keys_by_doi.get(normalise_doi(doi))
        if key is not None:
            return SourceMatch(source.relative_path, key, "doi", f"DOI {doi} in the {where}")
    return None


def match_by_title(source: SourceText, bibliography: dict[str, CitedWork]) -> SourceMatch | Unmatched | None:
    """The row whose title appears (fuzzily) in the metadata title or first page; ambiguous is unmatched."""
    head = normalise_words(source.head)
    metadata_title = normalise_words(source.metadata_title)
    scored: list[tuple[float, str]] = []
    for work in bibliography.values():
        title = normalise_words(work.title)
        if len(title.split()) < MIN_TITLE_WORDS:
            continue
        score = fuzz.partial_ratio(title, head) if len(head) >= len(title) else 0.0
        if metadata_title:
            score = max(score, fuzz.token_sort_ratio(title, metadata_title))
        scored.append((score, work.key))
    scored.sort(reverse=True)
    if not scored or scored[0][0] < TITLE_THRESHOLD:
        return None
    (best_score, best_key), runner_up = scored[0], scored[1] if len(scored) > 1 else (0.0, "")
    if runner_up[0] >= TITLE_THRESHOLD and best_score - runner_up[0] < TITLE_MARGIN:
        return Unmatched(
            source.relative_path,
            f"title ambiguous between {best_key!r} ({best_score:.0f})"
            f" and {runner_up[1]!r} ({runner_up[0]:.0f})",
        )
    return SourceMatch(source.relative_path, best_key, "title", f"title similarity {best_score:.0f}/100")


def match_by_filename(relative_path: str, bibliography: dict[str, CitedWork]) -> SourceMatch | None:
    """A file named after the key ("Gradishar et al. 2016.pdf") or its slug ("gradishar-et-al-2016.txt")."""
    stem = Path(relative_path).stem
    stem_slug = slugify(stem)
    for work in bibliography.values():
        if " ".join(stem.split()).casefold() == work.key.casefold() or stem_slug == slugify(work.key):
            return SourceMatch(relative_path, work.key, "filename", f"file name {stem!r}")
    # "gradishar-2016" too, when exactly one key shortens to it.
    short = [w.key for w in bibliography.values() if short_slug(w.key) == stem_slug]
    if len(short) == 1:
        return SourceMatch(relative_path, short[0], "filename", f"file name {stem!r}")
    return None


class SourceReadError(Exception):
    """A source file that cannot be read (reported as unmatched, not raised to the user)."""


def read_source_text(path: Path, relative_path: str) -> SourceText:
    """The first page and metadata of ``path``, read by the corpus reader for its format."""
    try:
        # Only the first page matters (see HEAD_CHARS), so a long PDF is not extracted whole.
        raw = read_pdf_file(path, max_pages=1) if path.suffix.lower() == ".pdf" else read_document(path)
    except UnreadableDocumentError as exc:
        kind = "PDF" if path.suffix.lower() == ".pdf" else "file"
        raise SourceReadError(f"unreadable {kind}: {exc}") from exc
    return SourceText(
        relative_path=relative_path,
        head=(raw.pages[0] if raw.pages else "")[:HEAD_CHARS],
        metadata_dois=[doi for value in raw.metadata.values() for doi in find_dois(value)],
        metadata_title=raw.metadata.get("title", ""),
    )


def find_dois(text: str) -> list[str]:
    """DOIs in order of appearance, without trailing punctuation or an unbalanced closing bracket."""
    dois = []
    for raw in DOI_RE.findall(text):
        doi = raw.rstrip(".,;:'\"]")
        while doi.endswith(")") and doi.count(")") > doi.count("("):
            doi = doi[:-1].rstrip(".,;:")
        dois.append(doi)
    return dois


def normalise_doi(doi: str) -> str:
    doi = doi.strip().lower()
    for prefix in ("https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "doi:"):
        if doi.startswith(prefix):
            doi = doi[len(prefix) :]
    return doi


def normalise_words(text: str) -> str:
    """Lower-case ASCII words separated by single spaces (hyphenation and line breaks of PDFs removed)."""
    text = re.sub(r"-\s*\n\s*", "", text)
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", ascii_text.lower()).split())
