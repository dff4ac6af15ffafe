"""Following a citation into an indexed source paper: `reviewqa.refs.support.find_support`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from reviewqa.models import Passage, Sentence
from reviewqa.refs.support import find_support


def passage(passage_id: str, document: str, start: int, sentences: list[str]) -> Passage:
    text = " ".join(sentences)
    spans, offset = [], start
    for sentence in sentences:
        spans.append(Sentence(start=offset, end=offset + len(sentence), text=sentence))
        offset += len(sentence) + 1
    return Passage(passage_id, document, ["Results"], None, start, start + len(text), text, spans, [])


@dataclass
class VectorIndex:
    """Just the SearchIndex attributes find_support uses, with hand-made unit vectors per sentence."""

    passages: list[Passage]
    documents: dict[str, dict]
    vectors: dict[str, np.ndarray]  # sentence text -> vector
    queries: list[str] = field(default_factory=list)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        self.queries.extend(texts)
        return np.stack([self.vectors[t] for t in texts])

    def sentence_vectors_for(self, p: Passage) -> np.ndarray:
        return np.stack([self.vectors[s.text] for s in p.sentences])


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def test_picks_the_closest_sentence_of_the_source_with_that_key_only() -> None:
    review = passage("igf1r-review:3", "igf1r-review", 900, ["INSR was high in the review's words."])
    source_a = passage(
        "sources/gradishar:0", "sources/gradishar", 0, ["We enrolled patients.", "Dosing was weekly."]
    )
    source_b = passage(
        "sources/gradishar:1", "sources/gradishar", 40, ["Dosing was weekly.", "INSR mRNA was elevated."]
    )
    other = passage("sources/haluska:0", "sources/haluska", 0, ["INSR exactly as in the claim."])
    quote = "Tumours with high INSR levels responded poorly."
    index = VectorIndex(
        passages=[review, source_a, source_b, other],
        documents={
            "igf1r-review": {"kind": "review", "key": None},
            "sources/gradishar": {"kind": "source", "key": "Gradishar et al. 2016"},
            "sources/haluska": {"kind": "source", "key": "Haluska et al. 2007"},
        },
        vectors={
            quote: unit(1, 0, 0),
            "INSR was high in the review's words.": unit(1, 0, 0),
            "INSR exactly as in the claim.": unit(1, 0, 0),
            "We enrolled patients.": unit(0, 1, 0),
            "Dosing was weekly.": unit(0, 0, 1),
            "INSR mRNA was elevated.": unit(3, 1, 0),
        },
    )

    support = find_support(index, "Gradishar et al. 2016", quote)

    assert support is not None
    assert support.passage_id == "sources/gradishar:1"
    assert support.quote == "INSR mRNA was elevated."
    assert support.quote in source_b.text
    assert abs(support.score - float(unit(3, 1, 0) @ unit(1, 0, 0))) < 1e-6
    assert index.queries == [quote]


def test_none_when_the_source_is_not_indexed_or_the_quote_is_blank() -> None:
    source = passage("sources/gradishar:0", "sources/gradishar", 0, ["INSR mRNA was elevated."])
    index = VectorIndex(
        passages=[source],
        documents={"sources/gradishar": {"kind": "source", "key": "Gradishar et al. 2016"}},
        vectors={"INSR mRNA was elevated.": unit(1, 0), "claim": unit(1, 0)},
    )
    assert find_support(index, "Fox et al. 2011", "claim") is None
    assert find_support(index, "Gradishar et al. 2016", "   ") is None
    assert index.queries == []  # nothing embedded when there is nothing to compare with
