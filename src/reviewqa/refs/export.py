"""Cited works as reference-manager files: BibTeX, RIS and CSV; and short "Author Year" labels.

Author lists come in the bibliography's Vancouver style ("Arteaga CL, Kitten LJ, ...; CISNET
Collaborators", possibly ending "et al."), but documents' metadata may also say "Jane Smith, John Doe" or
"Smith, J. and Doe, K."; ``author_names`` reads all three.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from reviewqa.models import CitedWork

ET_AL = re.compile(r"^et\.?\s+al\.?$", re.IGNORECASE)
# "CL", "FC", "J.", "J.-P.", "L. J." — the initials after a Vancouver surname, or standing alone.
INITIALS = re.compile(r"(?:[A-Z]\.?[\s-]?){1,4}")
SUFFIXES = {"Jr", "Jr.", "Sr", "Sr.", "II", "III", "IV", "2nd", "3rd"}
# Spreadsheets run a cell starting with these as a formula (CSV injection); such cells get a leading '.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BIBTEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": "(",  # BibTeX counts braces even when escaped: a stray one would end the field
    "}": ")",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


@dataclass(frozen=True)
class Author:
    family: str
    given: str = ""  # initials or given names; empty for a group author
    suffix: str = ""  # "Jr"
    group: bool = False  # "CISNET Collaborators", a consortium: one name, never inverted


@dataclass(frozen=True)
class AuthorList:
    authors: list[Author]
    more: bool  # the list ended "et al." (more authors than named)


def author_names(text: str) -> AuthorList:
    """The authors of an author string, in order."""
    text = " ".join(text.split())
    more = False
    if " and " in text and ";" not in text:
        people, groups = [p.strip() for p in text.split(" and ")], []
        people = [part for person in people for part in _split_inverted(person)]
    else:
        people_part, *group_parts = text.split(";")
        people = [p.strip() for p in people_part.split(",")]
        groups = [g.strip() for g in group_parts if g.strip()]
        people = _merge_inverted(people)
    authors: list[Author] = []
    for name in people:
        if not name:
            continue
        if ET_AL.match(name):
            more = True
            continue
        authors.append(_person(name))
    for group in groups:
        if ET_AL.match(group):
            more = True
        else:
            authors.append(Author(family=group, group=True))
    return AuthorList(authors, more)


def _split_inverted(person: str) -> list[str]:
    """ "Smith, J." stays one name; "Smith, J., Doe, K." (no "and") is split by ``_merge_inverted``."""
    return _merge_inverted([p.strip() for p in person.split(",")]) if "," in person else [person]


def _merge_inverted(parts: list[str]) -> list[str]:
    """Joins "Smith" + "J." (an inverted name split at its comma) back into "Smith, J."; leaves
    "Arteaga CL" and "Jane Smith" alone."""
    merged: list[str] = []
    for part in parts:
        previous = merged[-1] if merged else ""
        if previous and part in SUFFIXES:
            merged[-1] = f"{previous} {part}"
        elif _is_initials(part) and _is_bare_surname(previous):
            merged[-1] = f"{previous}, {part}"
        else:
            merged.append(part)
    return merged


def _is_bare_surname(part: str) -> bool:
    """ "Smith" before "J." (inverted), unlike "Moreau A" (Vancouver, ends in initials) or "Smith, J."."""
    return bool(part) and "," not in part and not _is_initials(part.split()[-1])


def _is_initials(word: str) -> bool:
    return INITIALS.fullmatch(word) is not None


def _person(name: str) -> Author:
    if "(" in name or len(name.split()) > 4:  # "Boehringer Ingelheim (sponsor)": an organisation
        return Author(family=name, group=True)
    if "," in name:  # "Smith, J." / "Smith, Jane"
        family, given = (p.strip() for p in name.split(",", 1))
        return Author(family=family, given=given)
    words = name.split()
    suffix = words.pop() if len(words) > 2 and words[-1] in SUFFIXES else ""
    if len(words) > 1 and _is_initials(words[-1]):
        family, given = " ".join(words[:-1]), words[-1]  # Vancouver: "van't Veer LJ"
    elif len(words) > 1:
        family, given = words[-1], " ".join(words[:-1])  # "Jane Smith"
    else:
        family, given = name, ""
    return Author(family=family, given=given, suffix=suffix)


def dotted_initials(given: str) -> str:
    """ "LJ" -> "L. J."; given names that are not bare initials are kept."""
    if given.isupper() and given.isalpha() and len(given) <= 4:
        return " ".join(f"{letter}." for letter in given)
    return given


def short_label(authors: str, year: int | None) -> str:
    """ "Yee 2018", "Biller-Andorno & Juni 2014", "Arteaga et al. 1989" (as the review cites works), or ""."""
    names = author_names(authors)
    if not names.authors:
        return ""
    first = names.authors[0].family
    if len(names.authors) == 2 and not names.more:
        first = f"{first} & {names.authors[1].family}"
    elif len(names.authors) > 2 or names.more:
        first = f"{first} et al."
    return f"{first} {year}" if year else first


# ---------------------------------------------------------------- BibTeX


def bibtex(works: Sequence[CitedWork]) -> str:
    keys = citation_keys(works)
    return "\n".join(_bibtex_entry(work, key) for work, key in zip(works, keys, strict=True))


def citation_keys(works: Sequence[CitedWork]) -> list[str]:
    """BibTeX keys such as "Arteaga1989", with a, b, ... appended where two works would share one."""
    bases = [_key_base(work) for work in works]
    counts: dict[str, int] = {}
    for base in bases:
        counts[base] = counts.get(base, 0) + 1
    seen: dict[str, int] = {}
    keys = []
    for base in bases:
        if counts[base] == 1:
            keys.append(base)
            continue
        seen[base] = seen.get(base, 0) + 1
        keys.append(base + _letters(seen[base]))
    return keys


def _letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return letters


def _key_base(work: CitedWork) -> str:
    names = author_names(work.authors).authors
    stem = names[0].family if names else work.key
    stem = re.sub(r"\bet al\.?|\b\d{4}[a-z]?\b", "", stem) if not names else stem
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    base = re.sub(r"[^A-Za-z0-9]", "", ascii_stem) or "ref"
    return f"{base}{work.year}" if work.year else base


def _bibtex_entry(work: CitedWork, key: str) -> str:
    names = author_names(work.authors)
    authors = [_bibtex_name(author) for author in names.authors] + (["others"] if names.more else [])
    fields = [
        ("author", " and ".join(authors)),  # each name escaped already
        ("title", _bibtex_value(work.title or work.key)),
        ("journal", _bibtex_value(work.journal)),
        ("year", str(work.year) if work.year else ""),
        ("doi", _verbatim(work.doi)),
        ("pmid", _bibtex_value(work.pmid)),
        ("url", _verbatim(work.url)),
        ("note", _bibtex_value(f"Cited as {work.key}")),
    ]
    kind = "article" if work.journal else "misc"
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields if value)
    return f"@{kind}{{{key},\n{body}\n}}\n"


def _bibtex_name(author: Author) -> str:
    if author.group:
        return "{" + _bibtex_value(author.family) + "}"  # braces: a group name is not "Last, First"
    parts = [author.family, author.suffix, dotted_initials(author.given)]
    if not author.suffix:
        parts.pop(1)
    return ", ".join(_bibtex_value(part) for part in parts if part)  # "von Last, Jr, First"


def _bibtex_value(value: str) -> str:
    return "".join(BIBTEX_SPECIAL.get(char, char) for char in " ".join(value.split()))


def _verbatim(value: str) -> str:
    """DOIs and URLs stay as they are (biblatex reads them verbatim), but for braces, which end the field."""
    return " ".join(value.split()).replace("{", "%7B").replace("}", "%7D")


# ---------------------------------------------------------------- RIS


def ris(works: Sequence[CitedWork]) -> str:
    """RIS records (TY ... ER), as EndNote, Zotero and Mendeley import them."""
    keys = citation_keys(works)
    lines: list[str] = []
    for work, key in zip(works, keys, strict=True):
        names = author_names(work.authors)
        lines.append(_ris_line("TY", "JOUR" if work.journal else "GEN"))
        lines.append(_ris_line("ID", key))
        for author in names.authors:
            parts = (author.family, dotted_initials(author.given), author.suffix)  # "Last, First, Suffix"
            lines.append(_ris_line("AU", ", ".join(part for part in parts if part)))
        for tag, value in (
            ("TI", work.title or work.key),
            ("T2", work.journal),
            ("PY", str(work.year) if work.year else ""),
            ("DO", work.doi),
            ("AN", work.pmid),
            ("DB", "PubMed" if work.pmid else ""),
            ("UR", work.url),
            ("N1", f"Cited as {work.key}"),
        ):
            if value:
                lines.append(_ris_line(tag, value))
        lines.append("ER  - ")
        lines.append("")
    return "\r\n".join(lines)


def _ris_line(tag: str, value: str) -> str:
    return f"{tag}  - {' '.join(value.split())}"


# ---------------------------------------------------------------- CSV

CSV_COLUMNS = ("key", "authors", "year", "title", "journal", "doi", "pmid", "url")


def csv_table(works: Iterable[CitedWork]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for work in works:
        writer.writerow([_csv_cell(getattr(work, column)) for column in CSV_COLUMNS])
    return out.getvalue()


def _csv_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


# Each format: (render, media type, file extension).
FORMATS = {
    "bibtex": (bibtex, "application/x-bibtex", "bib"),
    "ris": (ris, "application/x-research-info-systems", "ris"),
    "csv": (csv_table, "text/csv", "csv"),
}
