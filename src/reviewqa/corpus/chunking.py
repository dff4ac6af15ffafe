"""Sentences and passages: windows of whole sentences within one section, sized in tokens."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import groupby
from typing import NamedTuple

from reviewqa.corpus.citations import find_citations
from reviewqa.corpus.cleaning import CleanedText
from reviewqa.corpus.sentences import split_sentences
from reviewqa.models import Document, Passage, Sentence

TokenCounter = Callable[[str], int]
Citer = Callable[[str], list[str]]


class Place(NamedTuple):
    """Where a sentence stands: its section path and the kind of paragraph ("text" or "caption")."""

    section: tuple[str, ...]
    kind: str = "text"
    caption: int = -1  # a caption's paragraph index: each caption is passages of its own


def document_sentences(cleaned: CleanedText, cite: Citer = find_citations) -> list[tuple[Place, Sentence]]:
    """Every sentence of the document with its place, in reading order; ``cite`` gives a sentence's keys."""
    sentences = []
    for paragraph in cleaned.paragraphs:
        caption = paragraph.index if paragraph.kind == "caption" else -1
        place = Place(paragraph.section, paragraph.kind, caption)
        for start, end in split_sentences(cleaned.text[paragraph.start : paragraph.end]):
            absolute_start, absolute_end = paragraph.start + start, paragraph.start + end
            text = cleaned.text[absolute_start:absolute_end]
            sentences.append(
                (place, Sentence(absolute_start, absolute_end, text, cite(text), paragraph.index))
            )
    return sentences


def build_passages(
    document: Document,
    sentences: list[tuple[Place, Sentence]],
    count_tokens: TokenCounter,
    chunk_tokens: int,
    overlap_sentences: int,
) -> list[Passage]:
    """Passages of ``document``; none crosses a section boundary or mixes captions with running text; ids
    number them in reading order."""
    passages: list[Passage] = []
    for (section, kind, _), group in groupby(sentences, key=lambda item: item[0]):
        section_sentences = [sentence for _, sentence in group]
        sizes = [count_tokens(sentence.text) for sentence in section_sentences]
        for first, last in windows(sizes, chunk_tokens, overlap_sentences):
            window = section_sentences[first:last]
            start, end = window[0].start, window[-1].end
            passages.append(
                Passage(
                    passage_id=f"{document.doc_id}:{len(passages)}",
                    document=document.doc_id,
                    section=list(section),
                    page=document.page_at(start),
                    start=start,
                    end=end,
                    text=document.text[start:end],
                    sentences=window,
                    cited_works=_union(sentence.cited_works for sentence in window),
                    work_key=document.key if document.kind == "source" else None,
                    kind=kind,
                )
            )
    return passages


def windows(sizes: list[int], max_tokens: int, overlap: int) -> Iterator[tuple[int, int]]:
    """(first, last) index ranges of consecutive items whose sizes sum to at most ``max_tokens`` (an item
    larger than that stands alone); each window after the first repeats the last ``overlap`` items of the
    previous one (fewer when they would not leave room for a new item), so every window adds a new one."""
    first = 0
    while first < len(sizes):
        last = first + 1
        total = sizes[first]
        while last < len(sizes) and total + sizes[last] <= max_tokens:
            total += sizes[last]
            last += 1
        yield first, last
        if last == len(sizes):
            return
        # Overlap only as far as the next new item still fits beside the repeated ones.
        first = max(first + 1, last - overlap)
        while first < last and sum(sizes[first:last]) + sizes[last] > max_tokens:
            first += 1


def _union(key_lists: Iterator[list[str]]) -> list[str]:
    keys: dict[str, None] = {}
    for key_list in key_lists:
        for key in key_list:
            keys.setdefault(key, None)
    return list(keys)
