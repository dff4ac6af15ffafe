"""Which cited works a sentence's claim belongs to.

A sentence that cites works itself belongs to them. A sentence that cites nothing but continues the
discussion of a work ("These authors showed...", "In this trial...") belongs to the work its paragraph is
discussing: the nearest preceding citing sentence of the same paragraph, or, when the paragraph itself
opens by referring back ("A novel aspect of this trial..."), of the paragraph before it. Two quieter
continuations stay within their paragraph: the points of a list that directly follows an attributed
sentence ("(Ryan et al. 2011). First, ... Second, ...") belong to it, and a sentence naming a drug
belongs to the nearest earlier attributed sentence naming the same drug ("In this trial, the antibody
cixutumumab was given... A trial arm of cixutumumab alone was also studied."). The review's own
remarks ("Thus, ...", "Unfortunately, ...") belong to nobody. Only keys the
corpus stage found are returned; narrative mentions ("Gradishar and coworkers (2016)") are resolved
against those keys and dropped when ambiguous.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from reviewqa.answer.figures import drugs_named
from reviewqa.answer.text import (
    author_mentions,
    continues_discussion,
    enumerates,
    is_own_remark,
    normalize_space,
    resolve_author_mention,
)
from reviewqa.models import Passage, Sentence

# How many paragraphs back a referring sentence may reach for the work under discussion.
MAX_PARAGRAPH_HOPS = 2
_REFERENT = re.compile(r"\b(?:this|these|that|the same)\s+(trial|study|authors|work|drug|antibody)\b", re.I)


@dataclass(frozen=True)
class DocumentSentence:
    sentence: Sentence
    section: tuple[str, ...]


class SentenceTable:
    """Every sentence of every document in document order, rebuilt from the (overlapping) passages."""

    def __init__(self, passages: Iterable[Passage]) -> None:
        by_doc: dict[str, dict[int, DocumentSentence]] = {}
        known: dict[str, None] = {}
        for passage in passages:
            doc = by_doc.setdefault(passage.document, {})
            for sentence in passage.sentences:
                doc.setdefault(sentence.start, DocumentSentence(sentence, tuple(passage.section)))
                for key in sentence.cited_works:
                    known.setdefault(key, None)
            for key in passage.cited_works:
                known.setdefault(key, None)
        self._sentences = {doc: [by_start[s] for s in sorted(by_start)] for doc, by_start in by_doc.items()}
        self._position = {
            (doc, item.sentence.start): i
            for doc, items in self._sentences.items()
            for i, item in enumerate(items)
        }
        self.known_keys: tuple[str, ...] = tuple(known)
        self._attributed: dict[tuple[str, int], list[str]] = {}

    def documents(self) -> list[tuple[str, list[Sentence]]]:
        """Each document's sentences in order."""
        return [(doc, [item.sentence for item in items]) for doc, items in self._sentences.items()]

    def count(self, document: str) -> int:
        """How many distinct sentences ``document`` has."""
        return len(self._sentences.get(document, ()))

    def position(self, document: str, start: int) -> int | None:
        return self._position.get((document, start))

    def at(self, document: str, position: int) -> DocumentSentence | None:
        items = self._sentences.get(document, [])
        return items[position] if 0 <= position < len(items) else None

    def previous(self, document: str, start: int) -> Sentence | None:
        """The sentence before the one starting at ``start`` in the same paragraph, if any."""
        position = self.position(document, start)
        if position is None:
            return None
        current, before = self.at(document, position), self.at(document, position - 1)
        if current is None or before is None or before.sentence.paragraph != current.sentence.paragraph:
            return None
        return before.sentence

    def following(self, document: str, start: int, count: int) -> list[Sentence]:
        """Up to ``count`` sentences after the one starting at ``start``, in the same paragraph."""
        position = self.position(document, start)
        if position is None:
            return []
        paragraph = self._sentences[document][position].sentence.paragraph
        after = []
        for offset in range(1, count + 1):
            item = self.at(document, position + offset)
            if item is None or item.sentence.paragraph != paragraph:
                break
            after.append(item.sentence)
        return after

    def paragraph_links(self) -> list[tuple[str, Sentence, int]]:
        """(document, a paragraph's first sentence, the number of the paragraph before it in its section)."""
        links = []
        for document, items in self._sentences.items():
            for before, item in itertools.pairwise(items):
                if item.sentence.paragraph != before.sentence.paragraph and item.section == before.section:
                    links.append((document, item.sentence, before.sentence.paragraph))
        return links

    def paragraph_text(self, document: str, start: int) -> str:
        """The text of the paragraph holding the sentence at ``start`` (for context scoring)."""
        position = self.position(document, start)
        if position is None:
            return ""
        paragraph = self._sentences[document][position].sentence.paragraph
        return " ".join(
            item.sentence.text for item in self._sentences[document] if item.sentence.paragraph == paragraph
        )

    def works_cited_by(self, sentence: Sentence) -> list[str]:
        """Keys a sentence cites itself, in parentheses or by naming the authors."""
        keys = dict.fromkeys(sentence.cited_works)
        for surname, year in author_mentions(normalize_space(sentence.text)):
            key = resolve_author_mention(surname, year, self.known_keys)
            if key is not None:
                keys.setdefault(key, None)
        return list(keys)

    def attributed_works(self, document: str, start: int) -> list[str]:
        """The works the sentence at (document, start) attributes its claim to; [] for the review's own."""
        position = self.position(document, start)
        if position is None:
            return []
        key = (document, position)
        # The table is fixed once built, so each answer is kept; service threads racing to fill an entry
        # compute the same list.
        if key not in self._attributed:
            self._attributed[key] = self._attribute(document, position)
        return list(self._attributed[key])

    def _attribute(self, document: str, position: int) -> list[str]:
        sentence = self._sentences[document][position].sentence
        own = self.works_cited_by(sentence)
        if own or is_own_remark(sentence.text):
            return own
        if continues_discussion(sentence.text):
            return self._discussed_work(document, position, _referent(sentence.text))
        return self._continued_in_paragraph(document, position)

    def _continued_in_paragraph(self, document: str, position: int) -> list[str]:
        """Works of a list point or of a sentence about a drug, from earlier in the same paragraph."""
        items = self._sentences[document]
        sentence = items[position].sentence
        before = items[position - 1].sentence if position > 0 else None
        if enumerates(sentence.text):
            if before is None or before.paragraph != sentence.paragraph:
                return []
            return self.attributed_works(document, before.start)
        drugs = drugs_named(sentence.text)
        index = position - 1
        while drugs and index >= 0 and items[index].sentence.paragraph == sentence.paragraph:
            earlier = items[index].sentence
            if drugs & drugs_named(earlier.text):
                works = self.attributed_works(document, earlier.start)
                if works:
                    return works
            index -= 1
        return []

    def _discussed_work(self, document: str, position: int, referent: str | None) -> list[str]:
        items = self._sentences[document]
        current = items[position]
        index = position - 1
        while index >= 0 and items[index].sentence.paragraph == current.sentence.paragraph:
            works = self.works_cited_by(items[index].sentence)
            if works:
                return works
            index -= 1
        # Nothing cited before it in its paragraph: a later sentence of the paragraph that cites a work and
        # names the same referent ("In this trial, ganitumab was tested..." ... "in this trial (Yee et al.
        # 2017)") is the paragraph's own source, nearer than any earlier paragraph's. Not for "these
        # authors": they are the ones named before.
        later = self._later_citing(items, position, referent) if referent != "authors" else []
        if later:
            return later
        # Reach into earlier paragraphs only while each paragraph opens by referring back.
        opener = items[index + 1].sentence
        refers_back = index + 1 == position or continues_discussion(opener.text)
        hops = 0
        while (
            refers_back
            and index >= 0
            and hops < MAX_PARAGRAPH_HOPS
            and items[index].section == current.section
        ):
            paragraph = items[index].sentence.paragraph
            found = self._nearest_citing(items, index, paragraph, referent)
            if found:
                return found
            while index >= 0 and items[index].sentence.paragraph == paragraph:
                index -= 1
            refers_back = continues_discussion(items[index + 1].sentence.text)
            hops += 1
        return []

    def _later_citing(self, items: list[DocumentSentence], position: int, referent: str | None) -> list[str]:
        paragraph = items[position].sentence.paragraph
        index = position + 1
        while referent and index < len(items) and items[index].sentence.paragraph == paragraph:
            works = self.works_cited_by(items[index].sentence)
            if works and _mentions_referent(items[index].sentence.text, referent):
                return works
            index += 1
        return []

    def _nearest_citing(
        self, items: list[DocumentSentence], last: int, paragraph: int, referent: str | None
    ) -> list[str]:
        """In an earlier paragraph, the citing sentence nearest its end, preferring one that mentions the
        referent ("trial" for "this trial", a narrative author mention for "these authors")."""
        citing: list[tuple[DocumentSentence, list[str]]] = []
        index = last
        while index >= 0 and items[index].sentence.paragraph == paragraph:
            works = self.works_cited_by(items[index].sentence)
            if works:
                citing.append((items[index], works))
            index -= 1
        if not citing:
            return []
        for item, works in citing:
            if referent and _mentions_referent(item.sentence.text, referent):
                return works
        return citing[0][1]


def _referent(text: str) -> str | None:
    match = _REFERENT.search(normalize_space(text))
    return match.group(1).lower() if match else None


def _mentions_referent(text: str, referent: str) -> bool:
    if referent == "authors":
        return bool(author_mentions(normalize_space(text)))
    return referent in text.lower()
