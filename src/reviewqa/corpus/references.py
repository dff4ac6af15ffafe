"""Reference lists parsed into bibliography entries, and in-text citations linked to them.

Entries: a numbered list ("12. Smith J, ...", "[12] ...", "12 Smith J") starts an entry at each number one
higher than the last; an author-year list at each line opening with a surname and initials after a line that
ended an entry. From each entry: the authors, year, title, DOI and PMID where printed.

Keys: every entry gets the author-year key the corpus stage gives citations ("Smith 2010", "Smith & Jones
2010", "Smith et al. 2010"), so a numbered "[12]" and an author-year "(Smith et al., 2010)" cite the same key
and links between documents (a review's entry and an indexed source paper) work alike. Two entries of one
list with the same key get the letters a, b, ... in list order, as author-year styles print them; across
documents the first document's entry gives a key's corpus-wide fields, and a passage resolves a key
through its own document's list first (``reviewqa.refs.bibliography.document_references``).

Citations: author-year ones as ``reviewqa.corpus.citations`` reads them; numbered ones in brackets ("[12]",
"[3–5]", "[3,5,7]"), in parentheses ("( 3 ,5 )") and as superscripts kept by the text layer
("translation1,2.") when the document uses that form at least ``MIN_FORM_USES`` times and the numbers exist.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from reviewqa.corpus.citations import APOSTROPHE, find_citations

YEAR_RE = re.compile(r"\b((?:19|20)\d\d)([a-z])?\b")
DOI_RE = re.compile(r"\b10\.\d{4,9}/[^\s\"<>]+", re.IGNORECASE)
DOI_URL_END_RE = re.compile(r"(?:https?:\s*//\s*)?(?:dx\.\s*)?doi\.\s*org\s*/\s*10\.[^\n]*$", re.IGNORECASE)
PMID_RE = re.compile(r"\bPMID:?\s*(\d{5,9})\b", re.IGNORECASE)
NUMBERED_START_RE = re.compile(r"^\s*(?:\[(\d{1,4})\]\s*|(\d{1,4})[.)]?\s+)(?=\S)")
AUTHOR_START_RE = re.compile(
    rf"^(?:(?:[A-Z]\.\s?)+\s*)?(?:(?:de|van|von|der|den|da|di|le|la)\s+)*[A-Z][^\s,.;:()]*[a-z{APOSTROPHE}'][^\s,.;:()]*(?:[A-Z]\.)?"
    r"(?:[ -][A-Z][a-z]+)?,?\s+(?:[A-Z]{1,3}\b|[A-Z]\.)"
)
# A group author opening an author-year entry: "Eli Lilly and Company (2021). A Phase 1/2 Study ..."
GROUP_AUTHOR_START_RE = re.compile(r"^[A-Z][^()]{0,80}?\s\((?:19|20)\d\d[a-z]?\)[.,]")
INITIALS_RE = re.compile(r"^(?:[A-Z]{1,3}|[A-Z]\.(?:\s?-?[A-Z]\.?)*)$")  # "JF", "J.", "K.V", "J.-L."
ET_AL_RE = re.compile(r"\bet\s+al\b", re.IGNORECASE)
PAREN_YEAR_RE = re.compile(r"\(((?:19|20)\d\d[a-z]?)\)")
COMMA_YEAR_RE = re.compile(r",\s+((?:19|20)\d\d[a-z]?)\s")
AUTHOR_END_RE = re.compile(r"\.\s+(?=[A-Z0-9“\"‘'(\[]|[a-z]{2})")
QUOTE_START_RE = re.compile(r",?\s*[“\"]")  # "E. Braunwald, “Shattuck lecture ...,” ..."
QUOTED_TITLE_RE = re.compile(r"[“\"]([^”\"]{8,})[”\"]")
# Initials before the surname, names separated by commas ("E. Ahrné, L. Molzahn, A. R. Lara, Proteomics"):
# the author list ends at the first part that is no such name.
PARTICLES = r"(?:van|von|der|den|de|da|di|du|le|la)"
NAME_INITIALS_FIRST_RE = re.compile(
    rf"(?:[A-Z]\.\s?-?\s?)+(?:{PARTICLES}\s?)*[^\W\d_][^\s,.;:()]*(?:\s[A-Z][^\s,.;:()]*)?"
)
NAME_SEPARATOR_RE = re.compile(r"\s*,\s*(?:and\s+|&\s*)?|\s+(?:and|&)\s+")
# Run-together text ("H.Taymaz-Nikerel,A.R.Lara, Front. Bioeng. Biotechnol.2016,4."): spaces restored
# after an initial before a surname, after a comma before a letter, between a surname and its initial
# ("YuH.,"), around a year glued to a word.
GLUED_RE = (
    (re.compile(rf"(?<=\b[A-Z]\.)(?=[^\W\d_][’']?[^\W\d_]|{PARTICLES}[A-Z])"), " "),
    (re.compile(r",(?=[^\W\d_])"), ", "),
    (re.compile(r"(?<=[a-z])(?=[A-Z]\.,?$)"), " "),  # "YuH.," -> "Yu H.,"
    (re.compile(r"(?:(?<=[^\W\d_]{2})|(?<=[^\W\d_]\.))(?=(?:19|20)\d\d(?!\d))"), " "),
    (re.compile(r"(?<=\b(?:19|20)\d\d),(?=\d)"), ", "),
)
# Styles without titles (Wiley, ACS: "A. R. Lara, Front. Bioeng. Biotechnol. 2016, 4.") leave the journal
# where the title would be: a "title" holding the year and volume, or a few words that the year follows
# within ``JOURNAL_WORDS`` words in all ("Curr. Genomics 2008", "Expert Rev. Proteomics 2004"), or a
# book's "in Methods Mol. Biol." is none.
JOURNAL_FIRST_RE = re.compile(r"^\W*(?:\S+\s+){0,5}?(?:19|20)\d\d[a-z]?\s*[,;:]\s*\d")
JOURNAL_WORDS = 4
# BioMed Central: "Geerts WH, Code KI, Szalai JP: A prospective study ..."
COLON_AFTER_AUTHORS_RE = re.compile(
    r"(?:(?<=\b[A-Z])|(?<=\b[A-Z]{2})|(?<=\b[A-Z]{3})|(?<=\bet al)|(?<=\bet al\.)):\s+(?=\S)"
)
MIN_FORM_USES = 3
MAX_RANGE = 50
NUMBER_LIST = r"\d{1,4}(?:\s*[-–—,]\s*\d{1,4})*"
BRACKET_RE = re.compile(rf"\[\s*({NUMBER_LIST})\s*\]")
PAREN_NUMBERS_RE = re.compile(rf"\(\s*({NUMBER_LIST})\s*\)")
SUPERSCRIPT_RE = re.compile(r"(?<=[a-z)\]])(\d{1,4}(?:[-–—,]\d{1,4})*)(?=[\s.,;:)]|$)")
WORD_BEFORE_RE = re.compile(r"([A-Za-z]+)$")


@dataclass
class ReferenceEntry:
    """One entry of a reference list."""

    key: str  # "Smith et al. 2010" (see the module docstring)
    text: str  # the entry as printed, lines joined
    number: int | None = None  # in a numbered list
    authors: str = ""
    year: int | None = None
    title: str = ""
    doi: str = ""
    pmid: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ReferenceList:
    entries: list[ReferenceEntry] = field(default_factory=list)
    numbered: bool = False
    printed: int = 0  # entries counted independently of the parse: the highest number, or entry starts

    def by_number(self) -> dict[int, ReferenceEntry]:
        return {entry.number: entry for entry in self.entries if entry.number is not None}


def parse_reference_lists(lists: list[list[str]]) -> ReferenceList:
    """All entries of a document's reference lists (a list may continue under a second heading)."""
    result = ReferenceList()
    for lines in lists:
        numbered = _is_numbered(lines)
        result.numbered = result.numbered or numbered
        entries = _numbered_entries(lines) if numbered else _author_year_entries(lines)
        result.entries.extend(entries)
        result.printed += _printed_count(lines, numbered)
    _letter_collisions(result.entries)
    return result


def entry_number(line: str) -> int | None:
    """The number a numbered entry opens with ("[12] ..." or "12. ..."), if the line opens one."""
    match = NUMBERED_START_RE.match(line)
    return int(match.group(1) or match.group(2)) if match else None


def _is_numbered(lines: list[str]) -> bool:
    starts = [n for line in lines if (n := entry_number(line)) is not None]
    rising = sum(1 for a, b in itertools.pairwise(starts) if b == a + 1)
    return len(starts) >= 2 and rising >= 0.5 * len(starts)


def _printed_count(lines: list[str], numbered: bool) -> int:
    if numbered:  # the highest number printed at a line start right after its predecessor's
        starts = {n for line in lines if (n := entry_number(line)) is not None}
        return max((n for n in starts if n - 1 in starts or n == 1), default=0)
    # entry starts: after a line that ends an entry, a name (or a group) with a year in the next lines
    return sum(
        1
        for i, line in enumerate(lines)
        if (i == 0 or ends_entry(lines[i - 1]))
        and _opens_author_year_entry(line)
        and YEAR_RE.search(" ".join(lines[i : i + 3]))
    )


def _opens_author_year_entry(line: str) -> bool:
    return bool(AUTHOR_START_RE.match(line) or GROUP_AUTHOR_START_RE.match(line))


def _numbered_entries(lines: list[str]) -> list[ReferenceEntry]:
    entries: list[tuple[int, list[str]]] = []
    expected = None
    for line in lines:
        match = NUMBERED_START_RE.match(line)
        number = int(match.group(1) or match.group(2)) if match else None
        if match and number is not None and (expected is None or number == expected):
            entries.append((number, [line[match.end() :]]))
            expected = number + 1
        elif entries:
            entries[-1][1].append(line)
    return [_entry(_join_lines(parts), number) for number, parts in entries]


def _author_year_entries(lines: list[str]) -> list[ReferenceEntry]:
    entries: list[list[str]] = []
    for line in lines:
        previous = entries[-1] if entries else None
        ended = previous is None or ends_entry(previous[-1])
        if _opens_author_year_entry(line) and ended:
            entries.append([line])
        elif previous is not None:
            previous.append(line)
        elif _opens_author_year_entry(line):
            entries.append([line])
    return [_entry(_join_lines(parts), None) for parts in entries]


def ends_entry(line: str) -> bool:
    """Whether a line can end an entry: a full stop, a closing parenthesis, a page number or a DOI."""
    text = line.rstrip()
    return text.endswith((".", ")")) or bool(DOI_RE.search(text[-60:])) or text[-1:].isdigit()


def _join_lines(lines: list[str]) -> str:
    text = ""
    for line in lines:
        line = line.strip()
        if text.endswith("-") and line[:1].islower() and not text.endswith(" -"):
            text = text[:-1] + line  # a word split across lines
        elif text.endswith(("/", "-")) or not text:
            text += line
        else:
            text += " " + line
    return text


def _entry(text: str, number: int | None) -> ReferenceEntry:
    text = _respaced(text)
    authors, rest = _split_authors(text)
    year_match = PAREN_YEAR_RE.search(text) or COMMA_YEAR_RE.search(text)
    year_text = year_match.group(1) if year_match else ""
    if not year_text:  # the first year after the title, else the last one (IEEE style ends with it)
        years = [m.group(0) for m in YEAR_RE.finditer(rest)]
        year_text = years[0] if years and not QUOTED_TITLE_RE.search(rest) else (years[-1] if years else "")
    year = int(year_text[:4]) if year_text else None
    doi = DOI_RE.search(_doi_url_rejoined(text))
    pmid = PMID_RE.search(text)
    entry = ReferenceEntry(
        key=_key(authors, year_text),
        text=text,
        number=number,
        authors=authors,
        year=year,
        title=_title(rest),
        doi=doi.group(0).rstrip(".,;)") if doi else "",
        pmid=pmid.group(1) if pmid else "",
    )
    return entry


def _respaced(text: str) -> str:
    """Spaces restored where extraction ran words together (``GLUED_RE``); links and DOIs are left alone."""
    tokens = text.split(" ")
    for i, token in enumerate(tokens):
        if "/" not in token and not token.startswith("10."):
            for pattern, space in GLUED_RE:
                token = pattern.sub(space, token)
            tokens[i] = token
    return " ".join(tokens)


def _initials_first_end(text: str) -> int | None:
    """Where an author list of names with initials first, separated by commas, ends (None for other
    styles): after the last name followed by a separator, or after "et al." following one."""
    end = None
    position = 0
    while (name := NAME_INITIALS_FIRST_RE.match(text, position)) and (
        separator := NAME_SEPARATOR_RE.match(text, name.end())
    ):
        end, position = name.end(), separator.end()
    if end is not None and (et_al := ET_AL_RE.match(text, position)):
        end = et_al.end() + (text[et_al.end() : et_al.end() + 1] == ".")
    return end


def _doi_url_rejoined(text: str) -> str:
    """Springer's DOI links extract with spaces ("https:// doi. org/ 10. 2337/ diabe tes. 54.9. 2503"): a
    doi.org link ending the entry is read without its spaces, up to a capitalised word ("Cancer Cell 40")."""
    match = DOI_URL_END_RE.search(text)
    if not match:
        return text
    link = match.group(0)
    stop = re.search(r"\s(?=[A-Z][a-z]{2,})", link)
    rest = link[stop.start() :] if stop else ""
    return text[: match.start()] + re.sub(r"\s+", "", link[: stop.start()] if stop else link) + rest


def _split_authors(text: str) -> tuple[str, str]:
    """(the author list, the rest) of an entry."""
    ends = []
    if (initials_first := _initials_first_end(text)) is not None:
        ends.append(initials_first)
    et_al = ET_AL_RE.search(text)
    if et_al:
        ends.append(et_al.end() + 1 if text[et_al.end() : et_al.end() + 1] == "." else et_al.end())
    for pattern in (PAREN_YEAR_RE, COMMA_YEAR_RE, QUOTE_START_RE, COLON_AFTER_AUTHORS_RE):
        match = pattern.search(text)
        if match:
            ends.append(match.start())
    for match in AUTHOR_END_RE.finditer(text):
        before = text[: match.start()].rsplit(None, 1)[-1] if text[: match.start()].strip() else ""
        after = text[match.end() :].split(None, 1)[0] if text[match.end() :].strip() else ""
        if INITIALS_RE.match(before.strip(",")) and INITIALS_RE.match(after.rstrip(",.")):
            continue  # "Lee, E. Y., Hwang" or "M. H. Kim": initials go on
        if re.match(r"^[A-Z]\.?,?$", after) or after.endswith(",") or after in {"and", "&", "et"}:
            continue  # "Smith, J. and Jones, K.", "Cho, H. Y. et al."
        ends.append(match.start() + 1)
        break
    end = min(ends) if ends else len(text)
    return text[:end].strip(" .,;"), text[end:].strip(" .,;:")


def _surnames(authors: str) -> list[str]:
    names = []
    for part in re.split(r",|;|\s&\s|\sand\s", ET_AL_RE.sub("", authors)):
        tokens = [t for t in part.split() if not INITIALS_RE.match(t.rstrip(".,")) and t not in {"and", "&"}]
        if tokens:
            names.append(" ".join(tokens).replace("'", APOSTROPHE))
    return names


def _key(authors: str, year: str) -> str:
    surnames = _surnames(authors)
    if not surnames or not year:
        return ""
    if ET_AL_RE.search(authors) or len(surnames) >= 3:
        who = f"{surnames[0]} et al."
    elif len(surnames) == 2:
        who = f"{surnames[0]} & {surnames[1]}"
    else:
        who = surnames[0]
    return f"{who} {year}"


def _title(rest: str) -> str:
    quoted = QUOTED_TITLE_RE.search(rest)
    if quoted:
        return quoted.group(1).strip(" ,.")
    rest = re.sub(r"^\(?(?:19|20)\d\d[a-z]?\)?[.,]?\s*", "", rest)
    match = re.search(r"(?<=[a-z0-9)\]?])[.?]\s+(?=[A-Z])", rest)
    title = (rest[: match.start() + 1] if match else rest).strip(" .,")
    after = rest[match.end() :] if match else ""
    if (
        JOURNAL_FIRST_RE.match(title)
        or re.match(r"in:?\s+[A-Z]", title)
        or _year_soon(after, JOURNAL_WORDS if len(title.split()) == 1 else JOURNAL_WORDS - len(title.split()))
        or not re.search(r"[^\W\d_]{3}", title)
    ):
        return ""
    return title


def _year_soon(text: str, words: int) -> bool:
    """Whether ``text`` reaches a year within ``words`` words."""
    return words >= 0 and bool(re.match(rf"^\W*(?:\S+\s+){{0,{words}}}?\(?(?:19|20)\d\d(?!\d)", text))


def _letter_collisions(entries: list[ReferenceEntry]) -> None:
    """Two entries of one document with the same key become "... 2010a" and "... 2010b"."""
    counts = Counter(entry.key for entry in entries if entry.key)
    seen: Counter[str] = Counter()
    for entry in entries:
        if entry.key and counts[entry.key] > 1 and not entry.key[-1].isalpha():
            entry.key = f"{entry.key}{'abcdefghijklmnopqrstuvwxyz'[seen[entry.key] % 26]}"
            seen[entry.key[:-1]] += 1


# ---------------------------------------------------------------- in-text citations


@dataclass
class CitationLinker:
    """Gives a sentence's cited keys, resolving numbered citations through one document's entries."""

    references: ReferenceList
    forms: set[str] = field(default_factory=set)  # "bracket", "paren", "superscript"
    vocabulary: set[str] = field(default_factory=set)  # words the document uses alone (superscript bases)
    found: int = 0  # citation mentions seen (numbers and author-year keys)
    linked: int = 0  # of those, resolved to an entry of the list
    unresolved: list[str] = field(default_factory=list)
    # The list's keys and numbered entries, looked up for every sentence (the list does not change).
    _keys: set[str] = field(init=False, repr=False)
    _by_number: dict[int, ReferenceEntry] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._keys = {entry.key for entry in self.references.entries}
        self._by_number = self.references.by_number()

    @classmethod
    def for_document(cls, references: ReferenceList, sentences: list[str]) -> CitationLinker:
        linker = cls(references)
        text = " ".join(sentences)
        linker.vocabulary = {word.casefold() for word in re.findall(r"\b[A-Za-z]{3,}\b", text)}
        if references.numbered:
            for form, pattern in (("bracket", BRACKET_RE), ("paren", PAREN_NUMBERS_RE)):
                uses = [m for m in pattern.finditer(text) if _numbers(m.group(1)) <= linker._by_number.keys()]
                if len(uses) >= MIN_FORM_USES:
                    linker.forms.add(form)
            if len(linker._superscripts(text)) >= MIN_FORM_USES:
                linker.forms.add("superscript")
        return linker

    def cite(self, sentence: str) -> list[str]:
        keys = list(find_citations(sentence))
        for key in keys:
            self.found += 1
            if key in self._keys:
                self.linked += 1
            elif self.references.entries:
                self.unresolved.append(key)
        for number in self._numbers_in(sentence):
            self.found += 1
            entry = self._by_number.get(number)
            if entry is None or not entry.key:
                self.unresolved.append(f"[{number}]")
                continue
            self.linked += 1
            if entry.key not in keys:
                keys.append(entry.key)
        return keys

    def _numbers_in(self, sentence: str) -> list[int]:
        found: list[int] = []
        if "bracket" in self.forms:
            found += [n for m in BRACKET_RE.finditer(sentence) for n in sorted(_numbers(m.group(1)))]
        if "paren" in self.forms:
            found += [n for m in PAREN_NUMBERS_RE.finditer(sentence) for n in sorted(_numbers(m.group(1)))]
        if "superscript" in self.forms:
            found += [n for m in self._superscripts(sentence) for n in sorted(_numbers(m.group(1)))]
        return list(dict.fromkeys(found))

    def _superscripts(self, text: str) -> list[re.Match[str]]:
        """ "translation1,2." : digits right after a word the document also uses alone."""
        matches = []
        for match in SUPERSCRIPT_RE.finditer(text):
            word = WORD_BEFORE_RE.search(text[: match.start()])
            base = word.group(1).casefold() if word else ""
            if (
                len(base) >= 3
                and base in self.vocabulary
                and _numbers(match.group(1)) <= self._by_number.keys()
            ):
                matches.append(match)
        return matches


def _numbers(text: str) -> set[int]:
    """ "3–5, 7" -> {3, 4, 5, 7}; a reversed or over-long range counts its ends only."""
    numbers: set[int] = set()
    for part in re.split(r"\s*,\s*", text.strip()):
        bounds = [int(n) for n in re.split(r"\s*[-–—]\s*", part) if n.isdigit()]
        if len(bounds) == 2 and 0 < bounds[1] - bounds[0] <= MAX_RANGE:
            numbers.update(range(bounds[0], bounds[1] + 1))
        else:
            numbers.update(bounds)
    return numbers
