"""Turn selected evidence sentences into answer text with [n] markers and their citations."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from reviewqa.answer.attribution import SentenceTable
from reviewqa.answer.evidence import CandidateSentence
from reviewqa.answer.text import add_marker, announces, clean_sentence, needs_context, normalize_space
from reviewqa.models import Citation, CitedWork, CitedWorkRef, Passage, Sentence, SourceSupport

logger = logging.getLogger(__name__)

ABSTAIN_TEXT = (
    "The documents do not answer this question. The closest passages are listed, but none of them "
    "states an answer."
)

SupportFinder = Callable[[str, str], SourceSupport | None]


@dataclass
class Evidence:
    """A selected sentence, possibly joined with its neighbours, quoted from one passage."""

    passage: Passage
    sentences: list[Sentence]  # in document order
    quote: str  # exact substring of passage.text
    selected: Sentence  # the sentence chosen as evidence, one of ``sentences``


def quote_span(passage: Passage, first: Sentence, last: Sentence) -> str | None:
    """The exact text of ``first``..``last`` inside ``passage``, or None when it is not all there."""
    begin, end = first.start - passage.start, last.end - passage.start
    if begin < 0 or end > len(passage.text) or begin >= end:
        return None
    quote = passage.text[begin:end].strip()
    return quote or None


def locate_quote(passage: Passage, sentence: Sentence) -> str | None:
    """The sentence as it appears in the passage, by offsets, else by searching its text."""
    quote = quote_span(passage, sentence, sentence)
    if quote is not None and normalize_space(quote) == normalize_space(sentence.text):
        return quote
    text = sentence.text.strip()
    return text if text and text in passage.text else None


# An announcing sentence ("...harmful for two reasons.") is quoted with at most this many that follow.
ANNOUNCED_POINTS = 2


def gather_evidence(
    chosen: Sequence[CandidateSentence],
    table: SentenceTable,
    document_passages: Callable[[str], list[Passage]],
) -> list[Evidence]:
    """Quote each chosen sentence, joining the sentence before it when it opens with "This trial...",
    and the points after it when it announces them ("...for two reasons."), unless those sentences are
    in the answer themselves."""
    chosen_keys = {c.key for c in chosen}
    evidence: list[Evidence] = []
    for candidate in chosen:
        sentence, passage = candidate.sentence, candidate.passage
        document = passage.document
        before = table.previous(document, sentence.start) if needs_context(sentence.text) else None
        if before is not None and (document, before.start) in chosen_keys:
            before = None
        after = _announced_points(table, document, sentence, chosen_keys)
        neighbours = [s for s in [before, *after] if s is not None]
        if neighbours:
            group = sorted([sentence, *neighbours], key=lambda s: s.start)
            joined = _joined(passage, group, sentence, document_passages)
            if joined is not None:
                evidence.append(joined)
                continue
        quote = locate_quote(passage, sentence)
        if quote is None:
            logger.warning(
                "sentence at %s:%d not found in passage %s", document, sentence.start, passage.passage_id
            )
            continue
        evidence.append(Evidence(passage, [sentence], quote, sentence))
    return evidence


def _announced_points(
    table: SentenceTable, document: str, sentence: Sentence, chosen_keys: set[tuple[str, int]]
) -> list[Sentence]:
    """The points an announcing sentence introduces, up to the first that is in the answer itself (so
    the quote stays one unbroken span)."""
    if not announces(sentence.text):
        return []
    points = []
    for point in table.following(document, sentence.start, ANNOUNCED_POINTS):
        if (document, point.start) in chosen_keys:
            break
        points.append(point)
    return points


def _joined(
    passage: Passage,
    group: list[Sentence],
    selected: Sentence,
    document_passages: Callable[[str], list[Passage]],
) -> Evidence | None:
    """The sentences of ``group`` (consecutive, in document order) quoted from a passage holding them all."""
    first, last = group[0], group[-1]
    for holder in [passage, *document_passages(passage.document)]:
        if holder.start <= first.start and last.end <= holder.end:
            quote = quote_span(holder, first, last)
            if quote is not None:
                return Evidence(holder, group, quote, selected)
    return None


def answer_text(evidence: Sequence[Evidence]) -> str:
    """The selected sentences, cleaned, each followed by its marker, in order of relevance."""
    parts = []
    for marker, item in enumerate(evidence, start=1):
        sentence_texts = [normalize_space(s.text) for s in item.sentences]
        text = " ".join([clean_sentence(sentence_texts[0]), *sentence_texts[1:]])
        parts.append(add_marker(text, marker))
    return " ".join(parts)


def cited_work_ref(
    key: str, work: CitedWork | None, support: SourceSupport | None, source_indexed: bool
) -> CitedWorkRef:
    if work is None:
        return CitedWorkRef(key=key, support=support, source_indexed=source_indexed)
    return CitedWorkRef(
        key=key,
        doi=work.doi or None,
        pmid=work.pmid or None,
        title=work.title or None,
        url=work.url or None,
        support=support,
        source_indexed=source_indexed,
    )


def build_citations(
    evidence: Sequence[Evidence],
    table: SentenceTable,
    documents: Mapping[str, Mapping[str, object]],
    cited_work: Callable[[str, str], CitedWork | None],
    find_support: SupportFinder,
) -> list[Citation]:
    """One citation per evidence item; ``cited_work(key, doc_id)`` gives a key's work as that document
    cites it."""
    indexed_sources = {meta.get("key") for meta in documents.values() if meta.get("kind") == "source"}
    citations = []
    for marker, item in enumerate(evidence, start=1):
        passage = item.passage
        keys: dict[str, None] = {}
        others = [s for s in item.sentences if s is not item.selected]
        for sentence in [item.selected, *others]:  # the selected sentence's works first
            keys.update(dict.fromkeys(table.attributed_works(passage.document, sentence.start)))
        meta = documents.get(passage.document, {})
        citations.append(
            Citation(
                marker=marker,
                passage_id=passage.passage_id,
                document=passage.document,
                title=str(meta.get("title") or passage.document),
                section=passage.section_label,
                page=_page_of(item, passage, meta.get("pages")),
                quote=item.quote,
                cited_works=[
                    cited_work_ref(
                        k, cited_work(k, passage.document), find_support(k, item.quote), k in indexed_sources
                    )
                    for k in keys
                ],
                document_kind="source" if meta.get("kind") == "source" else "review",
                work_key=passage.work_key,
            )
        )
    return citations


def _page_of(item: Evidence, passage: Passage, pages: object) -> int | None:
    """The page the quote starts on, from the document's page ranges when known, else the passage's."""
    offset = item.sentences[0].start
    if isinstance(pages, list):
        for entry in pages:
            if isinstance(entry, list | tuple) and len(entry) == 3 and entry[1] <= offset < entry[2]:
                return int(entry[0])
    return passage.page
