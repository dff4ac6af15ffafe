"""In-text citations to normalised keys: "Surname et al. 2016", "Surname & Surname 2014", "Surname 2008",
and trial registry ids "NCT01225172".

Forms handled: parenthetical lists "(Pollak 2008, 2012; Chan et al. 2016)", narrative "Gradishar and
coworkers (2016)" / "Pollak (2008)", "Surname et al. YEAR" and "A & B YEAR" anywhere. A year before a name
("In 1890, Beatson ...") is no citation. Apostrophes in names are normalised to the typographic one (’),
the form the bibliography uses ("O’Flanagan et al. 2016").
"""

from __future__ import annotations

import re

APOSTROPHE = "’"
TRIAL_ID_RE = re.compile(r"\bNCT\d{8}\b")
YEAR = r"(?:1[5-9]\d\d|20\d\d)[a-z]?"
YEAR_RE = re.compile(rf"^{YEAR}$")
PARTICLES = (
    "de",
    "del",
    "della",
    "den",
    "der",
    "di",
    "du",
    "da",
    "dos",
    "das",
    "la",
    "le",
    "van",
    "von",
    "ten",
    "ter",
)
_PARTICLE = rf"(?:(?:{'|'.join(PARTICLES)})\s+)*"
_NAME = r"[^\W\d_][^\W\d_'’\-]*(?:['’\-][^\W\d_]+)*"
SURNAME = rf"{_PARTICLE}{_NAME}"
_START = r"(?<![\w'’\-])"  # a name starts at a word start
_YEARS = rf"{YEAR}(?:\s*,\s*{YEAR})*"
# "Gradishar and coworkers (2016)", "Pollak (2008, 2012)", "Smith and Jones (2010)", "Chan et al. (2016)"
NARRATIVE_RE = re.compile(
    rf"{_START}(?P<first>{SURNAME})(?:\s+(?P<joiner>and|&)\s+(?P<second>co-?workers|colleagues|{SURNAME})"
    rf"|\s+(?P<etal>et\s+al\.?))?\s*\((?P<years>{_YEARS})\)"
)
# "Yee et al. 2012" and "Pearson & Ray 1960" outside parentheses too: the joiner makes them unambiguous.
RUNNING_RE = re.compile(
    rf"{_START}(?P<first>{SURNAME})(?:\s+(?P<etal>et\s+al\.?)|\s+&\s+(?P<second>{SURNAME})),?\s+(?P<years>{_YEARS})\b"
)
PAREN_RE = re.compile(r"\(([^()]*)\)")
ITEM_PREFIX_RE = re.compile(r"^(?:e\.g\.,?|i\.e\.,?|see(?: also)?|cf\.|reviewed in|and)\s+", re.IGNORECASE)
ITEM_RE = re.compile(
    rf"^(?P<first>{SURNAME})(?:\s+(?P<etal>et\s+al\.?)|\s+(?:&|and)\s+(?P<second>{SURNAME}))?(?:,?\s+(?P<year>{YEAR}))?$"
)
WHITESPACE_RE = re.compile(r"\s+")


def find_citations(text: str) -> list[str]:
    """Normalised keys of the works ``text`` cites, in order of first appearance, without repeats."""
    text = WHITESPACE_RE.sub(" ", text)
    found: list[tuple[int, str]] = []
    found.extend((m.start(), m.group(0)) for m in TRIAL_ID_RE.finditer(text))
    for paren in PAREN_RE.finditer(text):
        found.extend((paren.start(1) + offset, key) for offset, key in _parenthetical(paren.group(1)))
    for match in NARRATIVE_RE.finditer(text):
        found.extend((match.start(), key) for key in _keys_from_match(match))
    for match in RUNNING_RE.finditer(text):
        found.extend((match.start(), key) for key in _keys_from_match(match))
    keys: dict[str, None] = {}
    for _, key in sorted(found, key=lambda item: item[0]):
        keys.setdefault(key, None)
    return list(keys)


def _parenthetical(content: str) -> list[tuple[int, str]]:
    """Keys in the content of one pair of parentheses: items separated by ';' or ',', where a bare year
    goes with the previous item's authors ("Pollak 2008, 2012", "Smith et al., 2010")."""
    keys: list[tuple[int, str]] = []
    authors: str | None = None
    offset = 0
    for raw_item in re.split(r"([;,])", content):
        if raw_item in (";", ","):
            offset += 1
            continue
        position = offset
        offset += len(raw_item)
        item = ITEM_PREFIX_RE.sub("", raw_item.strip())
        if YEAR_RE.match(item) and authors is not None:
            keys.append((position, f"{authors} {item}"))
            continue
        match = ITEM_RE.match(item)
        authors = _authors(match) if match else None
        if match and authors and match.group("year"):
            keys.append((position, f"{authors} {match.group('year')}"))
    return keys


def _keys_from_match(match: re.Match[str]) -> list[str]:
    authors = _authors(match)
    if authors is None:
        return []
    years = [year.strip() for year in match.group("years").split(",")]
    return [f"{authors} {year}" for year in years]


def _authors(match: re.Match[str]) -> str | None:
    """The author part of a key, or None when the words are no surnames."""
    first = _surname(match.group("first"))
    if first is None:
        return None
    groups = match.groupdict()
    second = groups.get("second")
    if groups.get("etal") or (second and second.lower().replace("-", "") in {"coworkers", "colleagues"}):
        return f"{first} et al."
    if second:
        other = _surname(second)
        return f"{first} & {other}" if other else None
    return first


def _surname(words: str) -> str | None:
    """A surname with optional lower-case particles ("de Lint"); the name itself capitalised and not an
    acronym (it holds a lower-case letter), so "In", "IGF" or "ER" are no authors."""
    parts = words.split()
    name = parts[-1]
    if not name[0].isupper() or not any(char.islower() for char in name) or name in NOT_SURNAMES:
        return None
    return " ".join([*parts[:-1], name.replace("'", APOSTROPHE)])


# Capitalised words that come before a year in running text without being authors.
NOT_SURNAMES = frozenset(
    {"In", "Since", "From", "Until", "By", "Before", "After", "During", "Between", "And", "Of", "The", "On",
     "Circa", "Around", "Through", "Year", "Years", "Spring", "Summer", "Autumn", "Fall", "Winter", "Early",
     "Late", "Mid", "January", "February", "March", "April", "May", "June", "July", "August", "September",
     "October", "November", "December", "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept",
     "Oct", "Nov", "Dec", "Table", "Figure", "Fig", "Phase", "Stage", "Version"}
)  # fmt: skip
