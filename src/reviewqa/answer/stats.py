"""The answer stage's per-sentence statistics, computed once when the index is built and read on load.

Each sentence's content terms (its words stemmed, its own document's abbreviations spelled both ways, the
canonical forms of listed synonyms) are what the scoring compares questions with. Computing them touches
every sentence of the corpus, so ``write_answer_stats`` runs at index time through the index's build hook
(``write_index(..., derived_writers=DERIVED_WRITERS)``, wired by the command line) and stores them as
arrays; loading is then reading. An index built without the hook, or by another version of the rules,
gets them computed in memory on first use (with a log line saying to rebuild).
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from reviewqa.answer.synonyms import Synonyms
from reviewqa.answer.text import Tokenizer, content_terms
from reviewqa.index.abbreviations import QueryExpander
from reviewqa.index.tokenize import DEFAULT_TOKENIZER
from reviewqa.models import Passage
from reviewqa.settings import Settings

log = logging.getLogger(__name__)

NAME = "answer_stats"
# Bump when content_terms, the stopwords, the synonym list or the expansion rules change.
STATS_VERSION = "2"  # 2: sentence forms
FOLDER = "answer_stats"
VOCABULARY = "vocabulary.json"
ARRAYS = "sentence_terms.npz"

SentenceKey = tuple[str, int]
DEFAULT_SYNONYMS = Synonyms.of()


# What a sentence is like, whatever the question: fixed per corpus, so computed with its terms.
FORM: tuple[str, ...] = (
    "length", "question_mark", "front_matter", "announces", "needs_context", "has_number", "reason",
    "definition", "enumeration", "negations",
)  # fmt: skip
_NUMBER = re.compile(r"\d")


def sentence_form(text: str) -> tuple[float, ...]:
    """The ``FORM`` figures of one sentence."""
    from reviewqa.answer.qtype import defines, enumerates_items, gives_reason, negated
    from reviewqa.answer.text import announces, looks_like_front_matter, needs_context, normalize_space

    flat = normalize_space(text)
    return (
        math.log1p(len(flat.split())),
        float(flat.endswith("?")),
        float(looks_like_front_matter(flat)),
        float(announces(flat)),
        float(needs_context(flat)),
        float(bool(_NUMBER.search(flat))),
        float(gives_reason(flat)),
        float(defines(flat)),
        float(enumerates_items(flat)),
        float(negated(flat)),
    )


def compute_sentence_forms(passages: Sequence[Passage]) -> dict[SentenceKey, tuple[float, ...]]:
    forms: dict[SentenceKey, tuple[float, ...]] = {}
    for passage in passages:
        for sentence in passage.sentences:
            key = (passage.document, sentence.start)
            if key not in forms:
                forms[key] = sentence_form(sentence.text)
    return forms


def compute_sentence_terms(
    passages: Sequence[Passage],
    tokenize: Tokenizer,
    expand: Callable[[str, str], str],
    synonyms: Synonyms = DEFAULT_SYNONYMS,
) -> dict[SentenceKey, frozenset[str]]:
    """Content terms of every distinct sentence, keyed by (document, start)."""
    terms: dict[SentenceKey, frozenset[str]] = {}
    for passage in passages:
        for sentence in passage.sentences:
            key = (passage.document, sentence.start)
            if key not in terms:
                text = synonyms.with_canonical_forms(expand(passage.document, sentence.text))
                terms[key] = frozenset(content_terms(text, tokenize))
    return terms


def write_answer_stats(
    directory: Path, passages: list[Passage], documents: list[dict[str, Any]], settings: Settings
) -> dict[str, Any]:
    """The build hook: sentence terms into ``directory/answer_stats/`` (abbreviations.json is read from
    ``directory``, written before the hooks run)."""
    abbreviations = json.loads((directory / "abbreviations.json").read_text(encoding="utf-8"))
    expanders = {doc: QueryExpander(found) for doc, found in abbreviations["documents"].items()}

    def expand(document: str, text: str) -> str:
        expander = expanders.get(document)
        return expander(text) if expander else text

    terms = compute_sentence_terms(passages, DEFAULT_TOKENIZER, expand)
    save_sentence_terms(directory / FOLDER, terms, compute_sentence_forms(passages))
    from reviewqa.answer.ranker import model_versions

    # The learned models the answers of this index are made with (they are package data, not in the index).
    return {"version": STATS_VERSION, "sentences": len(terms), "models": model_versions()}


def save_sentence_terms(
    folder: Path, terms: dict[SentenceKey, frozenset[str]], forms: dict[SentenceKey, tuple[float, ...]]
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    vocabulary = sorted({t for found in terms.values() for t in found})
    position = {t: i for i, t in enumerate(vocabulary)}
    documents = sorted({doc for doc, _ in terms})
    document_position = {d: i for i, d in enumerate(documents)}
    keys = sorted(terms)
    ids = [sorted(position[t] for t in terms[key]) for key in keys]
    offsets = np.cumsum([0, *map(len, ids)]).astype(np.int64)
    np.savez(
        folder / ARRAYS,
        document=np.array([document_position[d] for d, _ in keys], dtype=np.int32),
        start=np.array([s for _, s in keys], dtype=np.int64),
        offsets=offsets,
        terms=np.array([i for found in ids for i in found], dtype=np.int32),
        forms=np.array([forms[key] for key in keys], dtype=np.float32).reshape(len(keys), len(FORM)),
    )
    payload = {"version": STATS_VERSION, "documents": documents, "vocabulary": vocabulary, "form": list(FORM)}
    (folder / VOCABULARY).write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")


StoredStats = tuple[dict[SentenceKey, frozenset[str]], dict[SentenceKey, np.ndarray]]


def load_sentence_stats(directory: Path | None, manifest: dict[str, Any]) -> StoredStats | None:
    """The stored terms and forms of the sentences of the index in ``directory``; None when absent or
    of another version."""
    recorded = (manifest.get("derived") or {}).get(NAME) or {}
    if directory is None or recorded.get("version") != STATS_VERSION:
        if directory is not None:
            log.info("the index has no answer statistics of version %s: computing them now "
                     "(rebuild with `reviewqa index --force` to store them)", STATS_VERSION)  # fmt: skip
        return None
    folder = directory / FOLDER
    try:
        payload = json.loads((folder / VOCABULARY).read_text(encoding="utf-8"))
        with np.load(folder / ARRAYS, allow_pickle=False) as arrays:
            document, start, offsets, ids, forms = (
                arrays[k] for k in ("document", "start", "offsets", "terms", "forms")
            )
    except (OSError, ValueError, KeyError) as exc:
        log.warning("cannot read the answer statistics in %s (%s): computing them now", folder, exc)
        return None
    if payload.get("form") != list(FORM):
        return None
    vocabulary = np.array(payload["vocabulary"], dtype=object)
    documents = payload["documents"]
    keys = [(documents[d], s) for d, s in zip(document.tolist(), start.tolist(), strict=True)]
    terms = {
        key: frozenset(vocabulary[ids[offsets[i] : offsets[i + 1]]].tolist()) for i, key in enumerate(keys)
    }
    return terms, dict(zip(keys, forms, strict=True))


write_answer_stats.version = STATS_VERSION  # type: ignore[attr-defined]
DERIVED_WRITERS = {NAME: write_answer_stats}
