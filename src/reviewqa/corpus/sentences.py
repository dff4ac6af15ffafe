"""Sentence splitting that survives scientific text: "et al.", "e.g.", "Fig. 2", "5.7%", "(NCT03099174)."."""

from __future__ import annotations

import re

# A candidate boundary: terminal punctuation, closing quotes/brackets, then whitespace.
BOUNDARY_RE = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s)")
FINAL_PUNCTUATION_RE = re.compile(r"[.!?]+[\"'”’)\]]*$")
PARAGRAPH_BREAK_RE = re.compile(r"\n[^\S\n]*\n\s*")
# Abbreviations after which a sentence never ends (lower-cased, with their final period).
NEVER_FINAL = frozenset(
    {"e.g.", "i.e.", "cf.", "vs.", "viz.", "fig.", "figs.", "no.", "nos.", "ref.", "refs.", "eq.", "eqs.",
     "tab.", "approx.", "ca.", "dr.", "prof.", "mr.", "mrs.", "ms.", "st.", "vol.", "pp.", "p.", "ed.",
     "eds.", "suppl.", "sp.", "spp.", "var.", "resp.", "sect.", "ch.", "chap.", "jr.", "sr.", "inc.",
     "ltd.", "co.", "dept.", "univ.", "mol.", "biol.", "res.", "clin.", "j."}
)  # fmt: skip
# "et al." usually sits inside a sentence ("Chan et al. 2016"); it ends one only before a sentence opener.
SENTENCE_OPENERS = frozenset(
    {"The", "This", "These", "That", "Those", "They", "Their", "There", "It", "Its", "In", "We", "Our",
     "However", "Further", "Furthermore", "Moreover", "Thus", "Therefore", "Similarly", "A", "An", "As",
     "While", "Although", "Since", "Because", "When", "Both", "Also", "Here", "Such", "Despite"}
)  # fmt: skip
# Words before which a single capital letter is a numeral or label ("phase I."), not an initial.
LABEL_WORDS = frozenset({"phase", "type", "stage", "grade", "class", "group", "arm", "part", "isoform"})
INITIAL_RE = re.compile(r"^(?:[A-Z]\.)+$")
# A caption's label ("Figure 2.", "Table S1 .", "Fig. 3A.") is no sentence of its own: the caption goes on.
CAPTION_LABEL_RE = re.compile(
    r"^(?:supplementary |extended data )?(?:figure|fig\.?|table|scheme|box|chart)\s*S?\d+[A-Za-z]?\s*\.$",
    re.IGNORECASE,
)
UNBALANCED_PAREN_LIMIT = 250  # an opening parenthesis this far back without a close is a stray one


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of ``text``, whitespace trimmed; blank lines always split."""
    spans: list[tuple[int, int]] = []
    block_start = 0
    for match in PARAGRAPH_BREAK_RE.finditer(text):
        spans.extend(_split_block(text, block_start, match.start()))
        block_start = match.end()
    spans.extend(_split_block(text, block_start, len(text)))
    return spans


def _split_block(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans = []
    sentence_start = start
    for match in BOUNDARY_RE.finditer(text, start, end):
        if _is_boundary(text, sentence_start, match.start(), match.end(), end):
            spans.append((sentence_start, match.end()))
            sentence_start = match.end()
    spans.append((sentence_start, end))
    return [trimmed for span in spans if (trimmed := _trim(text, *span)) is not None]


def _is_boundary(text: str, sentence_start: int, mark: int, after: int, end: int) -> bool:
    following = text[after:end].lstrip()
    if not following or not _opens_sentence(following):
        return False
    if _inside_parentheses(text[sentence_start:mark]):
        return False
    word_start = max(text.rfind(" ", sentence_start, mark), text.rfind("\n", sentence_start, mark)) + 1
    word = text[word_start:after].lstrip("([{\"'‘“")
    if text[mark] != ".":
        return True
    return _period_ends_sentence(word, following, text[sentence_start:word_start])


def _period_ends_sentence(word: str, following: str, before: str) -> bool:
    lowered = word.lower().rstrip(")]\"'”’")
    next_word = following.split(maxsplit=1)[0].strip(",;:")
    if lowered in NEVER_FINAL or CAPTION_LABEL_RE.match(f"{before.strip()} {word}".strip()):
        return False
    if lowered == "al.":
        return next_word in SENTENCE_OPENERS
    if INITIAL_RE.match(word):
        previous_words = before.split()
        return bool(previous_words) and previous_words[-1].lower() in LABEL_WORDS
    return True


def ends_sentence(text: str) -> bool:
    """Whether ``text`` ends a sentence: terminal punctuation not belonging to an abbreviation ("et al.")."""
    stripped = text.rstrip()
    match = FINAL_PUNCTUATION_RE.search(stripped)
    if match is None:
        return False
    if not match.group(0).startswith("."):
        return True
    last_word = stripped.split()[-1].lstrip("([{\"'‘“")
    lowered = last_word.lower().rstrip(")]\"'”’")
    return lowered not in NEVER_FINAL and lowered != "al." and not INITIAL_RE.match(last_word)


def _opens_sentence(following: str) -> bool:
    """Sentences start with a capital, a digit, a quote, or a lower-case word holding a capital ("mRNA")."""
    first = following[0]
    if first.isupper() or first.isdigit() or first in "\"'‘“":
        return True
    word = following.split(maxsplit=1)[0]
    return first.islower() and any(char.isupper() for char in word)


def _inside_parentheses(sentence: str) -> bool:
    depth = 0
    last_open = -1
    for i, char in enumerate(sentence):
        if char == "(":
            depth += 1
            last_open = i
        elif char == ")" and depth:
            depth -= 1
    return depth > 0 and len(sentence) - last_open < UNBALANCED_PAREN_LIMIT


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None
