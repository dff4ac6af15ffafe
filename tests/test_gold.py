"""The gold set itself: evidence really in the cleaned review, keys really cited, a sound split."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from reviewqa.corpus import clean_text, find_citations
from reviewqa.eval.gold import (
    QUESTION_TYPES,
    GoldSetError,
    expected_splits,
    gold_path,
    load_gold,
    select_split,
)
from reviewqa.settings import PROJECT_ROOT

REVIEW_PATH = PROJECT_ROOT / "corpus" / "documents" / "igf1r-review.txt"
GOLD_PATH = gold_path(PROJECT_ROOT / "eval")


@pytest.fixture(scope="module")
def gold():
    return load_gold(GOLD_PATH)


@pytest.fixture(scope="module")
def cleaned_review():
    return clean_text(REVIEW_PATH.read_text(encoding="utf-8"))


def test_size_and_mix(gold) -> None:
    counts = Counter(q.type for q in gold)
    assert len(gold) >= 100
    assert counts["out-of-scope"] >= 20
    assert set(counts) == set(QUESTION_TYPES), "every question type is represented"
    assert all(counts[t] >= 8 for t in QUESTION_TYPES)


def test_ids_and_questions_unique(gold) -> None:
    assert len({q.id for q in gold}) == len(gold)
    assert len({q.question.casefold() for q in gold}) == len(gold)


def test_rows_are_consistent(gold) -> None:
    for q in gold:
        assert q.type in QUESTION_TYPES
        assert q.answer.strip()
        if q.answerable:
            assert q.evidence, q.id
            assert all(3 <= len(phrase.split()) <= 16 for phrase in q.evidence), q.id
        else:
            assert q.type == "out-of-scope"
            assert q.evidence == [] and q.cited_works == [], q.id


def test_every_evidence_phrase_is_in_the_cleaned_review(gold, cleaned_review) -> None:
    missing = [(q.id, p) for q in gold for p in q.evidence if p not in cleaned_review.text]
    assert missing == []


def test_every_cited_key_is_cited_by_the_review(gold, cleaned_review) -> None:
    cited = set(find_citations(cleaned_review.text))
    unknown = [(q.id, key) for q in gold for key in q.cited_works if key not in cited]
    assert unknown == []
    assert sum(bool(q.cited_works) for q in gold) >= 30, "enough questions test cited-work attribution"


def test_every_section_of_the_review_has_questions(gold, cleaned_review) -> None:
    text = cleaned_review.text
    sections_with_text = {p.section for p in cleaned_review.paragraphs}
    covered = set()
    for q in gold:
        for phrase in q.evidence:
            at = text.find(phrase)
            covered.update(p.section for p in cleaned_review.paragraphs if p.start <= at < p.end)
    assert sections_with_text - covered == set()


def test_split_is_recorded_deterministic_and_stratified(gold) -> None:
    assert {q.id: q.split for q in gold} == expected_splits(gold)
    dev, test = select_split(gold, "dev"), select_split(gold, "test")
    assert dev and test and len(dev) + len(test) == len(gold)
    assert 0.55 <= len(dev) / len(gold) <= 0.65
    for question_type in QUESTION_TYPES:
        of_type = [q for q in gold if q.type == question_type]
        dev_share = sum(q.split == "dev" for q in of_type) / len(of_type)
        assert 0.4 <= dev_share <= 0.8, question_type
    assert sum(q.type == "out-of-scope" for q in test) >= 5


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"type": "opinion"}, "unknown type"),
        ({"split": "train"}, "split must be"),
        ({"answerable": False}, "answerable false"),
        ({"evidence": []}, "evidence phrase"),
        ({"evidence": "a phrase"}, "list of strings"),
        ({"question": None}, "'question'"),
        ({"question": "   "}, "must not be empty"),
    ],
)
def test_malformed_rows_are_rejected_with_a_clear_message(tmp_path: Path, row: dict, message: str) -> None:
    base = {
        "id": "q1",
        "question": "Which drug?",
        "answerable": True,
        "answer": "x",
        "evidence": ["a phrase from the review"],
        "cited_works": [],
        "type": "factoid",
        "split": "dev",
    }
    path = tmp_path / "gold.jsonl"
    path.write_text(json.dumps(base | row) + "\n", encoding="utf-8")
    with pytest.raises(GoldSetError, match=message):
        load_gold(path)


def test_duplicate_ids_and_bad_json_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "gold.jsonl"
    row = GOLD_PATH.read_text(encoding="utf-8").splitlines()[0]
    path.write_text(row + "\n" + row + "\n", encoding="utf-8")
    with pytest.raises(GoldSetError, match="duplicate id"):
        load_gold(path)
    path.write_text("{not json\n", encoding="utf-8")
    with pytest.raises(GoldSetError, match="line 1"):
        load_gold(path)
    with pytest.raises(GoldSetError, match="not found"):
        load_gold(tmp_path / "missing.jsonl")
