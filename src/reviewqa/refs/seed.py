"""Build `corpus/references.tsv` from the annotated reference list in `../shared/references/`.

The seed file has a ``source_of_fact`` column saying which fields were checked against a public page
("V[...]") and which are recalled ("R[...]"). The clean bibliography has no notes, so an identifier that
was only recalled must not appear as if it were checked: DOIs and PMIDs not marked verified are left blank
unless the caller asks to keep them. Unconfirmed candidate titles ("UNRESOLVED. Candidate only: ...") are
dropped, and editorial remarks in parentheses are stripped from titles and journals.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from reviewqa.models import CitedWork
from reviewqa.refs.bibliography import BibliographyError, registry_url
from reviewqa.settings import PROJECT_ROOT, Settings

DEFAULT_SEED_PATH = PROJECT_ROOT.parent / "shared" / "references" / "references.tsv"
SEED_COLUMNS = ["key", "authors", "year", "title", "journal", "doi", "pmid", "source_of_fact"]
IDENTIFIER_FIELDS = ("doi", "pmid")

_MARKED_FIELDS_RE = re.compile(r"\b([VR])\[([^\]]*)\]")
_UNCONFIRMED_RE = re.compile(r"^\s*(UNRESOLVED\b|candidate\b)", re.IGNORECASE)
# A trailing "(...)" that describes the record rather than being part of the title or journal name.
_REMARK_RE = re.compile(
    r"\s*\((?=[^()]*\b(?:comment|commentary|abstract|seed|sabcs|posted|investigators)\b)[^()]*\)\s*$",
    re.IGNORECASE,
)


@dataclass
class SeedResult:
    works: list[CitedWork]
    blanked: dict[str, list[str]] = field(default_factory=dict)  # key -> identifier fields left blank
    keys_only: bool = False  # made from the cited keys alone, without a seed list


def verified_fields(note: str) -> tuple[set[str], set[str]]:
    """Field names marked verified and recalled in a ``source_of_fact`` note ("all" covers every field)."""
    verified: set[str] = set()
    recalled: set[str] = set()
    for mark, names in _MARKED_FIELDS_RE.findall(note):
        target = verified if mark == "V" else recalled
        for name in names.split(","):
            words = name.strip().lower().split()
            if words:
                target.add(words[0])
    return verified, recalled


def is_verified(field_name: str, note: str) -> bool:
    """True only when the note marks ``field_name`` (or "all") as checked and not also as recalled."""
    verified, recalled = verified_fields(note)
    if field_name in recalled or ("all" in recalled and field_name not in verified):
        return False
    return field_name in verified or "all" in verified


def parse_seed(
    text: str,
    *,
    keep_unverified: bool = False,
    normalise_key: Callable[[str], str] | None = None,
) -> SeedResult:
    """Clean works from the seed TSV text, in file order."""
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter="\t")
    missing = [c for c in SEED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise BibliographyError(f"the seed file lacks the column(s) {', '.join(missing)}")
    result = SeedResult(works=[])
    seen: set[str] = set()
    for line_number, row in enumerate(reader, start=2):
        work, blanked = _clean_row(row, keep_unverified=keep_unverified)
        if work is None:
            continue
        if normalise_key is not None:
            work.key = normalise_key(work.key)
        if work.key in seen:
            raise BibliographyError(f"the seed file repeats the key {work.key!r} (line {line_number})")
        seen.add(work.key)
        result.works.append(work)
        if blanked:
            result.blanked[work.key] = blanked
    return result


def _clean_row(row: dict[str, str | None], *, keep_unverified: bool) -> tuple[CitedWork | None, list[str]]:
    def cell(name: str) -> str:
        return " ".join((row.get(name) or "").split())

    key = cell("key")
    if not key:
        return None, []
    note = cell("source_of_fact")
    title, journal = cell("title"), cell("journal")
    if _UNCONFIRMED_RE.match(title) or _UNCONFIRMED_RE.match(journal):
        title, journal = "", ""
    work = CitedWork(
        key=key,
        authors=cell("authors"),
        year=int(cell("year")) if cell("year").isdigit() else None,
        title=_strip_remark(title),
        journal=_strip_remark(_first_clause(journal)),
        doi=cell("doi"),
        pmid=cell("pmid"),
        url=registry_url(key),
    )
    blanked: list[str] = []
    if not keep_unverified:
        for name in IDENTIFIER_FIELDS:
            if getattr(work, name) and not is_verified(name, note):
                setattr(work, name, "")
                blanked.append(name)
    return work, blanked


def _strip_remark(value: str) -> str:
    return _REMARK_RE.sub("", value).strip()


def _first_clause(value: str) -> str:
    """The text before the first ";" outside parentheses (later clauses are remarks)."""
    depth = 0
    for position, char in enumerate(value):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == ";" and depth == 0:
            return value[:position].strip()
    return value


def read_seed(path: Path, *, keep_unverified: bool = False) -> SeedResult:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise BibliographyError(f"seed file not found: {path} (pass --from PATH)") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise BibliographyError(f"cannot read the seed file {path}: {exc}") from exc
    return parse_seed(text, keep_unverified=keep_unverified, normalise_key=_corpus_key_normaliser())


def seed_from_keys(keys: Iterable[str]) -> SeedResult:
    """One row per key with every field blank but a trial id's registry URL: a bibliography to fill in."""
    return SeedResult(works=[CitedWork(key=key, url=registry_url(key)) for key in keys], keys_only=True)


def default_seed(settings: Settings, *, keep_unverified: bool = False) -> SeedResult:
    """The shared annotated list when it is on this machine, otherwise the keys the corpus cites (running
    the corpus stage if its list of cited works is missing or stale)."""
    if DEFAULT_SEED_PATH.exists():
        return read_seed(DEFAULT_SEED_PATH, keep_unverified=keep_unverified)
    from reviewqa.refs.check import current_cited_works

    return seed_from_keys(current_cited_works(settings))


def _corpus_key_normaliser() -> Callable[[str], str] | None:
    """Keys as the corpus stage normalises citations, so the bibliography and the text agree."""
    try:
        from reviewqa.corpus import find_citations
    except ImportError:
        return None

    def normalise(key: str) -> str:
        found = find_citations(f"({key})")
        return found[0] if len(found) == 1 else key

    return normalise
