"""Search over the real review with the real packaged model."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from reviewqa.errors import QuestionError
from reviewqa.index import SearchIndex, SearchModeError, build_index, load_index
from reviewqa.settings import Settings

pytestmark = pytest.mark.slow


def mentions(text: str, pattern: str) -> bool:
    return re.search(pattern, " ".join(text.split()), flags=re.IGNORECASE) is not None


def only_abbreviation(index: SearchIndex, short: str, long: str) -> set[str]:
    """Passages that use the abbreviation but never its long form."""
    return {
        p.passage_id
        for p in index.passages
        if re.search(rf"\b{short}\b", p.text) and not mentions(p.text, long.replace(" ", r"[\s-]+"))
    }


def test_insulin_receptor_finds_passages_that_only_say_insr(review_index: SearchIndex) -> None:
    insr_only = only_abbreviation(review_index, "INSR", "insulin receptor")
    assert insr_only, "the review has passages that say INSR without 'insulin receptor'"
    for mode in ("bm25", "hybrid"):
        hits = review_index.search("Is the insulin receptor also a target in breast cancer?", k=3, mode=mode)
        assert mentions(hits[0].passage.text, r"\bINSR\b|insulin receptor"), mode
        assert insr_only & {h.passage.passage_id for h in hits}, mode


def test_growth_hormone_questions_find_passages_that_only_say_gh(review_index: SearchIndex) -> None:
    gh_only = only_abbreviation(review_index, "GH", "growth hormone")
    assert gh_only
    hits = review_index.search("Which surgery lowered growth hormone and IGF1 levels?", k=1)
    assert hits[0].passage.passage_id in gh_only
    hits = review_index.search(
        "What happens to growth hormone when IGF1 sensing in the brain is blocked?", k=3
    )
    assert gh_only & {h.passage.passage_id for h in hits}


def test_abbreviation_question_finds_the_long_form(review_index: SearchIndex) -> None:
    hits = review_index.search("What does GH do to IGF1 production?", k=1)
    assert mentions(hits[0].passage.text, "growth hormone")
    hits = review_index.search("TKI toxicity", k=5, mode="bm25")
    assert any(mentions(h.passage.text, "tyrosine kinase inhibitor") for h in hits)


def test_drug_code_query_ranks_its_passage_first(review_index: SearchIndex) -> None:
    for mode in ("bm25", "hybrid"):
        hits = review_index.search("BMS-754807 with letrozole", k=1, mode=mode)
        assert "BMS-754807" in hits[0].passage.text


def test_hits_carry_the_scores_of_their_mode(review_index: SearchIndex) -> None:
    dense = review_index.search("insulin receptor isoforms", k=5, mode="dense")
    assert all(h.bm25_score is None and h.dense_score == h.score for h in dense)
    assert [h.score for h in dense] == sorted((h.score for h in dense), reverse=True)
    bm25 = review_index.search("insulin receptor isoforms", k=5, mode="bm25")
    assert all(h.dense_score is None and h.bm25_score == h.score for h in bm25)
    hybrid = review_index.search("insulin receptor isoforms", k=5, mode="hybrid")
    assert all(h.dense_score is not None and h.bm25_score is not None for h in hybrid)


def test_given_query_vector_is_used_instead_of_embedding(review_index: SearchIndex) -> None:
    vector = review_index.embed_queries(["hyperglycemia after ganitumab"])[0]
    given = review_index.search("unrelated words", k=3, mode="dense", query_vector=vector)
    embedded = review_index.search("hyperglycemia after ganitumab", k=3, mode="dense")
    assert [h.passage.passage_id for h in given] == [h.passage.passage_id for h in embedded]


def test_query_vectors_are_normalised_and_cached_per_index(review_index: SearchIndex) -> None:
    vectors = review_index.embed_queries(["insulin receptor", "growth hormone"])
    assert vectors.shape == (2, review_index.dimension) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert review_index.query_cache.get("insulin receptor") is not None
    assert np.array_equal(review_index.embed_queries(["insulin receptor"])[0], vectors[0])


def test_sentence_vectors_are_precomputed_in_order(review_index: SearchIndex) -> None:
    passage = next(p for p in review_index.passages if len(p.sentences) >= 3)
    vectors = review_index.sentence_vectors_for(passage)
    assert vectors.shape == (len(passage.sentences), review_index.dimension)
    fresh = review_index.encoder.encode([s.text for s in passage.sentences])
    assert np.allclose(np.sum(vectors * fresh, axis=1), 1.0, atol=1e-4)


def test_neighbours_follow_document_order(review_index: SearchIndex) -> None:
    first, second = review_index.passages[0], review_index.passages[1]
    assert review_index.neighbours(first.passage_id) == (None, second.passage_id)
    assert review_index.neighbours(second.passage_id)[0] == first.passage_id
    with pytest.raises(KeyError):
        review_index.neighbours("nope:0")


def test_index_exposes_documents_and_bibliography(review_index: SearchIndex) -> None:
    assert "igf1r-review" in review_index.documents
    cited = {key for p in review_index.passages for key in p.cited_works}
    assert cited and cited <= set(review_index.bibliography)
    assert review_index.abbreviations["INSR"] == ["insulin receptor"]


def test_bad_queries_and_modes_are_clear_errors(review_index: SearchIndex) -> None:
    with pytest.raises(QuestionError):
        review_index.search("   ")
    with pytest.raises(SearchModeError, match="dense, bm25, hybrid"):
        review_index.search("insulin", mode="semantic")


def test_approximate_search_agrees_with_exact_on_the_review(
    review_settings: Settings, review_index: SearchIndex, tmp_path: Path
) -> None:
    # efSearch below the passage count, so the graph search is not an exhaustive scan in disguise.
    approx_settings = review_settings.replace(
        index_dir=tmp_path / "index", approx_threshold=1, hnsw_ef_search=16
    )
    shutil.copytree(review_settings.index_dir / "current", approx_settings.index_dir / "current")
    build_index(approx_settings)  # the threshold change alone makes the flat index stale
    approx = load_index(approx_settings)
    assert approx.manifest["dense"]["kind"] == "hnsw" and review_index.manifest["dense"]["kind"] == "flat"
    assert approx.dense.hnsw.efSearch == 16 < len(approx.passages)
    questions = [
        "Is the insulin receptor a target in breast cancer?",
        "What was the toxicity of ganitumab?",
        "Which trials tested IGF1R antibodies with endocrine therapy?",
        "How do IGF binding proteins regulate IGF1?",
    ]
    for question in questions:
        for mode in ("dense", "hybrid"):
            exact_ids = [h.passage.passage_id for h in review_index.search(question, k=10, mode=mode)]
            approx_ids = [h.passage.passage_id for h in approx.search(question, k=10, mode=mode)]
            assert approx_ids == exact_ids, (question, mode)
