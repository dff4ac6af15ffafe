"""Following a citation: where in an indexed source paper the review's claim is supported."""

from __future__ import annotations

from typing import Any

import numpy as np

from reviewqa.models import Passage, SourceSupport


def source_document_ids(index: Any, key: str) -> set[str]:
    """Ids of the indexed source documents that are the cited work ``key``."""
    return {
        doc_id
        for doc_id, meta in index.documents.items()
        if meta.get("key") == key and meta.get("kind", "source") == "source"
    }


def find_support(index: Any, key: str, quote: str, min_score: float = 0.0) -> SourceSupport | None:
    """The sentence of the source ``key`` closest in meaning to the review sentence ``quote``.

    Returns its passage, the sentence as an exact substring of that passage's text, and the cosine score;
    None when no source document with that key is indexed, ``quote`` is blank, or the best sentence's
    score is below ``min_score`` (a weak best match is not support).
    """
    if not quote.strip():
        return None
    documents = source_document_ids(index, key)
    passages = [p for p in index.passages if p.document in documents]
    if not passages:
        return None
    query = np.asarray(index.embed_queries([quote]), dtype=np.float32)[0]
    best: tuple[float, Passage, int] | None = None
    for passage in passages:
        vectors = index.sentence_vectors_for(passage)
        if len(vectors) == 0:
            continue
        scores = np.asarray(vectors, dtype=np.float32) @ query
        position = int(np.argmax(scores))
        if best is None or scores[position] > best[0]:
            best = (float(scores[position]), passage, position)
    if best is None:
        return None
    score, passage, position = best
    if score < min_score:
        return None
    return SourceSupport(
        passage_id=passage.passage_id, quote=sentence_in_passage(passage, position), score=score
    )


def sentence_in_passage(passage: Passage, position: int) -> str:
    """The sentence's text exactly as it appears in the passage text (offsets are document offsets)."""
    sentence = passage.sentences[position]
    by_offsets = passage.text[sentence.start - passage.start : sentence.end - passage.start]
    if by_offsets and by_offsets.strip() == sentence.text.strip():
        return by_offsets.strip()
    if sentence.text and sentence.text in passage.text:
        return sentence.text
    return by_offsets.strip() or passage.text
