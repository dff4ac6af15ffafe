"""Source support in answers: a cited source's best sentence counts only above `support_min_score`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from reviewqa.answer.pipeline import support_finder
from reviewqa.models import Passage, Sentence
from reviewqa.refs.support import find_support
from reviewqa.settings import Settings

KEY = "Gradishar et al. 2016"
STRONG_CLAIM = "Tumours with high INSR levels responded poorly."
WEAK_CLAIM = "Dosing schedules varied between sites."
SOURCE_SENTENCES = ["INSR mRNA was elevated in non-responders.", "Patients were enrolled at ten sites."]


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


@dataclass
class TwoSentenceSource:
    """The SearchIndex attributes find_support reads, with fixed vectors: the strong claim's best
    source sentence scores 0.8, the weak claim's 0.18."""

    passages: list[Passage]
    documents: dict[str, dict]

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        vectors = {STRONG_CLAIM: unit(0.8, 0.6, 0), WEAK_CLAIM: unit(0.18, 0, float(np.sqrt(1 - 0.18**2)))}
        return np.stack([vectors[t] for t in texts])

    def sentence_vectors_for(self, passage: Passage) -> np.ndarray:
        return np.stack([unit(1, 0, 0), unit(0, 1, 0)])


@pytest.fixture
def index() -> TwoSentenceSource:
    text = " ".join(SOURCE_SENTENCES)
    first, second = SOURCE_SENTENCES
    sentences = [Sentence(0, len(first), first), Sentence(len(first) + 1, len(text), second)]
    passage = Passage(
        "sources/gradishar:0", "sources/gradishar", ["Results"], None, 0, len(text), text, sentences, []
    )
    return TwoSentenceSource([passage], {"sources/gradishar": {"kind": "source", "key": KEY}})


def test_a_weak_best_sentence_is_no_support(index: TwoSentenceSource) -> None:
    assert find_support(index, KEY, WEAK_CLAIM) is not None  # without a minimum, the best is returned
    assert find_support(index, KEY, WEAK_CLAIM, min_score=0.4) is None
    strong = find_support(index, KEY, STRONG_CLAIM, min_score=0.4)
    assert strong is not None and strong.quote == SOURCE_SENTENCES[0]
    assert strong.score == pytest.approx(0.8, abs=1e-6)
    assert find_support(index, KEY, STRONG_CLAIM, min_score=0.8 - 1e-6) is not None  # the limit is inclusive
    assert find_support(index, KEY, STRONG_CLAIM, min_score=0.81) is None


def test_answers_use_the_support_min_score_setting(
    index: TwoSentenceSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings.load()
    assert 0.18 < settings.support_min_score < 0.8
    find = support_finder(index, settings.support_min_score)  # type: ignore[arg-type]
    assert find(KEY, WEAK_CLAIM) is None
    assert find(KEY, STRONG_CLAIM) is not None
    monkeypatch.setenv("REVIEWQA_SUPPORT_MIN_SCORE", "0.1")
    lenient = Settings.load().support_min_score
    assert lenient == 0.1
    assert support_finder(index, lenient)(KEY, WEAK_CLAIM) is not None  # type: ignore[arg-type]
