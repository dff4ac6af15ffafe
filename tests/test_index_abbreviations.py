"""Abbreviations mined from the review, and queries expanded both ways."""

from __future__ import annotations

import pytest

from reviewqa.index.abbreviations import expand_query, match_long_form, mine_abbreviations
from reviewqa.settings import PROJECT_ROOT

REVIEW_PATH = PROJECT_ROOT / "corpus" / "documents" / "igf1r-review.txt"


@pytest.fixture(scope="module")
def review_abbreviations() -> dict[str, list[str]]:
    return mine_abbreviations([REVIEW_PATH.read_text(encoding="utf-8")])


def test_defined_abbreviations_of_the_review_are_mined(review_abbreviations: dict[str, list[str]]) -> None:
    assert review_abbreviations["INSR"] == ["insulin receptor"]
    assert review_abbreviations["GH"] == ["growth hormone"]
    assert review_abbreviations["IGF1R"] == ["insulin-like growth factor receptor"]
    assert review_abbreviations["HER2"] == ["human epidermal growth factor receptor-2"]


def test_undefined_acronym_is_matched_to_the_phrase_of_its_initials(
    review_abbreviations: dict[str, list[str]],
) -> None:
    # The review writes "tyrosine kinase inhibitors" and, later, "the TKI" without a definition.
    assert review_abbreviations["TKI"] == ["tyrosine kinase inhibitor"]


def test_trial_ids_and_lowercase_words_in_parentheses_are_not_abbreviations(
    review_abbreviations: dict[str, list[str]],
) -> None:
    assert not any(key.startswith("NCT") for key in review_abbreviations)
    assert "C-peptide" not in review_abbreviations


def test_long_form_walks_back_from_the_parenthesis() -> None:
    assert match_long_form("GH", "In adults, post-pubertal expression of growth hormone") == "growth hormone"
    assert match_long_form("IGFBP", "bound to high-affinity IGF-binding proteins") == "IGF-binding proteins"
    assert match_long_form("XYZ", "nothing here matches at all") is None


def test_query_expansion_works_both_ways(review_abbreviations: dict[str, list[str]]) -> None:
    assert "INSR" in expand_query("Is the insulin receptor a target?", review_abbreviations)
    assert "insulin receptor" in expand_query("Is INSR a target?", review_abbreviations)
    assert "growth hormone" in expand_query("What does GH do?", review_abbreviations)
    assert "GH" in expand_query("What does growth hormone do?", review_abbreviations)
    assert "TKI" in expand_query("toxicity of tyrosine kinase inhibitors", review_abbreviations)


def test_expansion_matches_short_forms_by_case_and_whole_token(
    review_abbreviations: dict[str, list[str]],
) -> None:
    assert expand_query("Were they ever tested?", review_abbreviations) == "Were they ever tested?"
    assert "estrogen receptor" in expand_query("ER-positive tumours and ER", review_abbreviations)


def test_expansion_without_abbreviations_returns_the_query() -> None:
    assert expand_query("insulin receptor", {}) == "insulin receptor"


def test_a_phrase_seen_once_or_a_code_prefix_is_not_an_implicit_abbreviation() -> None:
    text = "BMS-754807 was tested. Screening detects tumours before metastatic spread in BMS trials."
    assert "BMS" not in mine_abbreviations([text])
    twice = text + " Again before metastatic spread, BMS."
    assert mine_abbreviations([twice])["BMS"] == ["before metastatic spread"]


def test_abbreviations_are_scoped_to_the_document_that_defines_them() -> None:
    from reviewqa.index.abbreviations import mine_document_abbreviations

    documents = {
        "assay": "Sera were tested by reduction neutralization assay (RNA) in duplicate. RNA titres rose.",
        "virus-1": "Viral RNA was extracted from swabs. RNA was sequenced.",
        "virus-2": "The RNA genome encodes a polymerase. Its RNA is single stranded.",
        "lung": "Acute respiratory distress syndrome (ARDS) followed. ARDS was fatal in two.",
        "lung-2": "Patients with acute respiratory distress syndrome (ARDS) were ventilated.",
    }
    mined = mine_document_abbreviations(documents)
    assert mined["documents"]["assay"]["RNA"] == ["reduction neutralization assay"]
    assert "RNA" not in mined["documents"]["virus-1"]
    # Three articles use RNA and only one defines it: its meaning there is not RNA's meaning everywhere.
    assert "RNA" not in mined["query"]
    assert mined["query"]["ARDS"] == ["acute respiratory distress syndrome"]


def test_a_short_form_defined_two_ways_is_not_expanded_in_queries() -> None:
    from reviewqa.index.abbreviations import mine_document_abbreviations

    mined = mine_document_abbreviations(
        {
            "a": "severe acute respiratory syndrome (SARS) spread in 2003.",
            "b": "severe adult respiratory distress (SARS) was rare.",
        }
    )
    assert mined["documents"]["b"]["SARS"] == ["severe adult respiratory distress"]
    assert "SARS" not in mined["query"]


def test_fast_mentions_agree_with_a_plain_scan() -> None:
    from reviewqa.index.abbreviations import QueryExpander, _core, _normalise

    abbreviations = {"IGF1R": ["insulin-like growth factor receptor"], "ER": ["estrogen receptor-α"],
                     "TKI": ["tyrosine kinase inhibitor"], "GH": ["growth hormone"]}  # fmt: skip
    expander = QueryExpander(abbreviations)
    for text in ("Tyrosine kinase inhibitors and growth hormones", "estrogen receptors of ER-positive cells",
                 "nothing relevant here", "IGF1Rs and insulin like growth factor receptor"):  # fmt: skip
        normalised = _normalise(text)
        plain = sorted(
            _core(lf)
            for sf, lfs in abbreviations.items()
            for lf in lfs
            if _normalise(_core(lf)) in normalised
            or _normalise(_core(lf)).replace("s ", " ") in normalised.replace("s ", " ")
        )
        found = sorted(m.present for m in expander.mentions(text) if m.present not in abbreviations)
        assert found == plain, text
