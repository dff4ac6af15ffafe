"""The BM25 tokenizer keeps biomedical tokens whole and normalises ordinary words."""

from __future__ import annotations

import pytest

from reviewqa.index.tokenize import BiomedicalTokenizer, tokenize


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("IGF1R", "igf1r"),
        ("BMS-754807", "bms-754807"),
        ("INSR-A", "insr-a"),
        ("NCT03099174", "nct03099174"),
        ("CDK4/6", "cdk4/6"),
        ("5.7%", "5.7%"),
    ],
)
def test_biomedical_tokens_stay_whole(token: str, expected: str) -> None:
    tokens = tokenize(f"In the trial, {token}. It was tested ({token}), then {token}; again")
    assert tokens.count(expected) == 3
    assert not any(t in tokens for t in ("754807", "5", "7", "cdk4", "insr"))


def test_sentence_punctuation_is_not_part_of_a_token() -> None:
    assert tokenize("Inhibitors of IGF1R. CDK4/6, letrozole; 5.7%.") == [
        "inhibitor",
        "igf1r",
        "cdk4/6",
        "letrozol",
        "5.7%",
    ]


def test_words_are_lowercased_stemmed_and_stopwords_dropped() -> None:
    assert tokenize("The Receptors and the receptor") == ["receptor", "receptor"]


def test_hyphenated_word_compounds_also_give_their_parts() -> None:
    tokens = tokenize("insulin-like growth, HER2-positive")
    assert {"insulin-like", "insulin", "like", "her2-positive", "her2"} <= set(tokens)


def test_short_hyphenated_codes_also_match_without_the_hyphen() -> None:
    assert "igf1r" in tokenize("IGF-1R")


def test_unstemmed_tokenizer_keeps_words_as_written() -> None:
    assert BiomedicalTokenizer(stem=False)("Receptors inhibitors") == ["receptors", "inhibitors"]


def test_empty_and_symbol_only_text_gives_no_tokens() -> None:
    assert tokenize("") == []
    assert tokenize(" -- / % () ") == []
