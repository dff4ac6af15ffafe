"""In-text citations to normalised keys: "Surname et al. 2016", "Surname & Surname 2014", "Surname 2008",
and trial registry ids "NCT01225172".

Forms handled: parenthetical lists "(Pollak 2008, 2012; Chan et al. 2016)", narrative "Gradishar and
coworkers (2016)" / "Pollak (2008)", "Surname et al. YEAR" and "A & B YEAR" anywhere. A year before a name
("In 1890, Beatson ...") is no citation. Apostrophes in names are normalised to the typographic one (’),
the form the bibliography uses ("O’Flanagan et al. 2016").

Normalisation follows the author-year convention the review uses: one author "Smith 2010", two authors
"Smith & Jones 2010", three or more "Smith et al. 2010", so "(Smith, Jones & Brown 2010)" and
"(Smith, Jones, and Brown, 2010)" are both "Smith et al. 2010". Letter suffixes are kept and a bare letter
extends the previous year: "(Smith et al. 2010a, b)" is "Smith et al. 2010a" and "Smith et al. 2010b".
Saint prefixes stay with the name ("St. John et al. 2010"). Author lists without "et al." are read only
inside parentheses: in running text "In Germany, Smith and Jones (2010)" reads like one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

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
_SAINT = r"(?:Ste?\.\s*|Ste?\s+)?"  # "St. John", "St John", "Ste. Marie"
_NAME = r"[^\W\d_][^\W\d_'’\-]*(?:['’\-][^\W\d_]+)*"
SURNAME = rf"{_SAINT}{_PARTICLE}{_NAME}"
_START = r"(?<![\w'’\-])"  # a name starts at a word start
_SUFFIX = r"[a-z](?![\w'’\-])"  # "2010a, b": a bare letter is the next work of that year
_YEARS = rf"{YEAR}(?:\s*,\s*(?:{YEAR}|{_SUFFIX}))*"
SUFFIX_RE = re.compile(rf"^{_SUFFIX}$")
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
ITEM_PREFIX_RE = re.compile(r"^(?:e\.g\.,?|i\.e\.,?|see(?: also)?|cf\.|reviewed in)\s+", re.IGNORECASE)
# One comma-separated item: "Smith", "Jones & Brown 2010", "and Brown", "Chan et al. 2016"; "&"/"and" in
# front makes it the last name of an author list.
ITEM_RE = re.compile(
    rf"^(?:(?P<lead>&|and)\s+)?(?P<first>{SURNAME})"
    rf"(?:\s+(?P<etal>et\s+al\.?)|\s+(?:&|and)\s+(?P<second>{SURNAME}))?(?:,?\s+(?P<year>{YEAR}))?$"
)
WHITESPACE_RE = re.compile(r"\s+")


def find_citations(text: str) -> list[str]:
    """Normalised keys of the works ``text`` cites, in order of first appearance, without repeats."""
    text = WHITESPACE_RE.sub(" ", text)
    found: list[tuple[int, str]] = []
    found.extend((m.start(), m.group(0)) for m in TRIAL_ID_RE.finditer(text))
    parsed: list[tuple[int, int]] = []  # spans of parenthetical citations, which own their text
    for paren in PAREN_RE.finditer(text):
        for start, end, key in _parenthetical(paren.group(1)):
            found.append((paren.start(1) + start, key))
            parsed.append((paren.start(1) + start, paren.start(1) + end))
    for match in [*NARRATIVE_RE.finditer(text), *RUNNING_RE.finditer(text)]:
        # "Jones & Brown 2010" inside "(Smith, Jones & Brown 2010)" is part of a citation already read
        if not any(start < match.start() < end for start, end in parsed):
            found.extend((match.start(), key) for key in _keys_from_match(match))
    keys: dict[str, None] = {}
    for _, key in sorted(found, key=lambda item: item[0]):
        keys.setdefault(key, None)
    return list(keys)


@dataclass
class _AuthorList:
    """Author names read so far in one pair of parentheses, across the commas between them."""

    start: int = 0
    names: list[str] = field(default_factory=list)
    joined: int = 0  # names joined by "&"/"and" at the end of the list, which all must be surnames

    @property
    def closed(self) -> bool:
        return self.joined > 0

    def add(self, start: int, names: list[str], joined: int) -> None:
        if not self.names or self.closed:
            self.start, self.names = start, []
        self.names.extend(names)
        self.joined = joined

    def authors(self) -> str | None:
        """The whole list once its last name is read; before that, "Smith, Jones 2010" is no list of
        authors and only the name next to the year counts."""
        return _list_authors(self.names, self.joined) if self.closed else _list_authors(self.names[-1:], 1)


@dataclass
class _ParentheticalReader:
    """Reads the comma- and semicolon-separated items of one pair of parentheses in order."""

    keys: list[tuple[int, int, str]] = field(default_factory=list)
    pending: _AuthorList = field(default_factory=_AuthorList)
    authors: str | None = None  # of the last citation, for the bare years and letters after it
    year: str | None = None

    def semicolon(self) -> None:
        self.pending = _AuthorList()  # an author list does not cross a semicolon

    def item(self, item: str, start: int, end: int) -> None:
        if YEAR_RE.match(item) or (SUFFIX_RE.match(item) and self.year and self.year[-1].isalpha()):
            self._bare_year(item, start, end)
            return
        match = ITEM_RE.match(item)
        if match is None:
            self.pending, self.authors, self.year = _AuthorList(), None, None
        elif match.group("etal"):
            self.pending = _AuthorList()
            self.authors = _authors(match)
        else:
            second = match.group("second")
            joined = 2 if second else (1 if match.group("lead") else 0)
            self.pending.add(start, [match.group("first"), *([second] if second else [])], joined)
            self.authors = self.pending.authors()
        if match and match.group("year") and self.authors:
            self.year = match.group("year")
            first = self.pending.start if self.pending.names else start  # a list starts at its first name
            self.keys.append((first, end, f"{self.authors} {self.year}"))
            self.pending = _AuthorList()

    def _bare_year(self, item: str, start: int, end: int) -> None:
        """ "Pollak 2008, 2012", "Jones, 2011", "Smith, Jones, and Brown, 2010", "2010a, b"."""
        if self.pending.names:
            self.authors, start = self.pending.authors(), self.pending.start
            self.pending = _AuthorList()
        if self.authors is None:
            return
        if YEAR_RE.match(item):
            self.year = item
        elif self.year:
            self.year = f"{self.year[:-1]}{item}"
        self.keys.append((start, end, f"{self.authors} {self.year}"))


def _parenthetical(content: str) -> list[tuple[int, int, str]]:
    """(start, end, key) of the citations in the content of one pair of parentheses."""
    reader = _ParentheticalReader()
    offset = 0
    for part in re.split(r"([;,])", content):
        if part in (";", ","):
            if part == ";":
                reader.semicolon()
            offset += 1
            continue
        reader.item(ITEM_PREFIX_RE.sub("", part.strip()), offset, offset + len(part))
        offset += len(part)
    return reader.keys


def _list_authors(names: list[str], joined: int) -> str | None:
    """The author part of a key for a list of names: one "Smith", two "Smith & Jones", more "Smith et
    al.". The last ``joined`` names must be surnames; a word before them that is no surname ends the list
    ("Adjuvant, Smith & Jones" is "Smith & Jones")."""
    surnames = [_surname(name) for name in names]
    if any(surname is None for surname in surnames[-joined:]):
        return None
    while None in surnames:
        surnames = surnames[surnames.index(None) + 1 :]
    valid = [surname for surname in surnames if surname is not None]
    if len(valid) <= 2:
        return " & ".join(valid)
    return f"{valid[0]} et al."


def _keys_from_match(match: re.Match[str]) -> list[str]:
    authors = _authors(match)
    if authors is None:
        return []
    return [f"{authors} {year}" for year in _years(match.group("years"))]


def _years(text: str) -> list[str]:
    """ "2010a, b, 2012" -> 2010a, 2010b, 2012; a letter after a year without one is no year."""
    years: list[str] = []
    for part in (part.strip() for part in text.split(",")):
        if YEAR_RE.match(part):
            years.append(part)
        elif years and years[-1][-1].isalpha():
            years.append(f"{years[-1][:-1]}{part}")
    return years


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
_TIME_WORDS = frozenset(
    {"In", "Since", "From", "Until", "By", "Before", "After", "During", "Between", "And", "Of", "The", "On",
     "Circa", "Around", "Through", "Year", "Years", "Spring", "Summer", "Autumn", "Fall", "Winter", "Early",
     "Late", "Mid", "January", "February", "March", "April", "May", "June", "July", "August", "September",
     "October", "November", "December", "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept",
     "Oct", "Nov", "Dec"}
)  # fmt: skip
# Common words of scientific text that a capital and a year make look like "(Surname YEAR)". Words that
# are also frequent surnames (Brown, Young, Long, Day, Box, Press, Post, Page, Field, Hope) are left out:
# dropping a real citation costs more than keeping an odd key.
_COMMON_WORDS = frozenset(
    {"Table", "Tables", "Figure", "Figures", "Fig", "Panel", "Appendix", "Supplement", "Supplementary",
     "Section", "Chapter", "Phase", "Stage", "Version", "Edition", "Volume", "Issue", "Update", "Updated",
     "Revised", "Published", "Accessed", "Epub", "Online", "Reprinted", "Adapted", "Copyright", "Source",
     "Adjuvant", "Neoadjuvant", "Cohort", "Cohorts", "Trial", "Trials", "Study", "Studies", "Data",
     "Database", "Dataset", "Registry", "Survey", "Census", "Report", "Reports", "Review", "Reviews",
     "Guideline", "Guidelines", "Consensus", "Criteria", "Classification", "Statistics", "Estimates",
     "Analysis", "Analyses", "Results", "Summary", "Abstract", "Introduction", "Methods", "Discussion",
     "Conclusion", "Conclusions", "Baseline", "Control", "Controls", "Placebo", "Treatment", "Therapy",
     "Survival", "Response", "Cancer", "Patients", "Women", "Men", "Total", "Overall", "Mean", "Median",
     "Range", "Model", "Group", "Groups", "Arm", "Cycle", "Dose", "Protocol", "Program", "Programme",
     "Project", "Approved", "Launched", "Established", "Founded", "Released", "Completed", "Enrolled"}
)  # fmt: skip
NOT_SURNAMES = _TIME_WORDS | _COMMON_WORDS
