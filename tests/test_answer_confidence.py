"""The confidence signal's parts: equivalent wordings, numbered things, identifiers, drug-class questions
and figures held by the sentence about what was asked. Small hand-built passages; no model."""

from __future__ import annotations

import re

import numpy as np
import pytest

from reviewqa.answer.evidence import (
    NO_MEMBER_FACTOR,
    CandidateSentence,
    CorpusStats,
    QuestionTerms,
    confidence,
    coverage,
)
from reviewqa.answer.figures import asks_for_member, figure_kind, holds_figure, names_member
from reviewqa.answer.synonyms import Synonyms
from reviewqa.answer.text import numbered_qualifiers
from reviewqa.models import Passage, Sentence

SYNONYMS = Synonyms.of()


def tokenize(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9][A-Za-z0-9\-/]*", text)


def passage_of(*texts: str) -> Passage:
    """One passage, one paragraph per sentence, with consistent offsets."""
    body, sentences = "", []
    for number, text in enumerate(texts):
        sentences.append(Sentence(len(body), len(body) + len(text), text, [], number))
        body += text + "\n"
    return Passage("doc:0", "doc", ["Trials"], None, 0, len(body), body, sentences, [])


TRIAL = passage_of(
    "Pathologic complete response rates were similar with ganitumab and paclitaxel.",
    "The major toxicity was grade 2 hyperglycemia, seen in a phase II trial.",
    "Women whose hemoglobin A1C was under 5.7% did better (hazard ratio = 0.60).",
    "Across all patients, adding figitumumab gave no benefit.",
    "Somatostatin analogs were not successful in combination with tamoxifen.",
    "Xentuzumab is in trial with the CDK4/6 inhibitor abemaciclib (NCT03099174).",
)


@pytest.fixture(scope="module")
def stats() -> CorpusStats:
    return CorpusStats.build([TRIAL], tokenize, lambda _document, text: text)


def sentence_terms(stats: CorpusStats, prefix: str) -> frozenset[str]:
    sentence = next(s for s in TRIAL.sentences if s.text.startswith(prefix))
    return stats.sentence_terms[(TRIAL.document, sentence.start)]


# --- equivalent wordings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "canonical"),
    [
        (
            "Were pCR rates higher with paclitaxel?",
            "Were pathologic complete response rates higher with paclitaxel?",
        ),
        ("Can antibodies give high blood sugar?", "Can antibodies give hyperglycemia ?"),
        ("In the low-HbA1c subgroup?", "In the low hemoglobin A1C subgroup?"),
        ("What side-effects did moAbs have?", "What toxicity did monoclonal antibody have?"),
        ("Were tumours smaller?", "Were tumor smaller?"),
    ],
)
def test_wordings_are_replaced_by_their_canonical_form(question: str, canonical: str) -> None:
    assert SYNONYMS.canonicalize(question) == canonical


def test_abbreviations_match_case_sensitively_and_whole() -> None:
    assert SYNONYMS.canonicalize("What OS was reported?") == "What overall survival was reported?"
    for untouched in ("chaos and os", "the PCR assay", "macOS", "OSX"):
        assert SYNONYMS.canonicalize(untouched) == untouched


def test_sentences_gain_the_canonical_form_only_when_worded_otherwise() -> None:
    assert SYNONYMS.with_canonical_forms("Hemoglobin A1C increased.") == "Hemoglobin A1C increased."
    assert SYNONYMS.with_canonical_forms("pathological complete responses") == (
        "pathological complete responses (pathologic complete response)"
    )
    assert SYNONYMS.with_canonical_forms("Glucose did not change.") == "Glucose did not change."


def test_a_lay_or_undefined_wording_matches_the_corpus_wording(stats: CorpusStats) -> None:
    asked = "Were pCR rates of ganitumab higher in the HbA1c group?"
    literal = QuestionTerms.of(asked, tokenize, synonyms=Synonyms(()))
    assert {"pcr", "hba1c"} <= set(literal.missing_terms(stats))
    question = QuestionTerms.of(asked, tokenize)
    assert not {"pcr", "hba1c"} & set(question.missing_terms(stats))
    _, found = coverage(question.terms, sentence_terms(stats, "Pathologic"), stats)
    assert {"pathologic", "complete", "response", "rate", "ganitumab"} <= set(found)
    lay = QuestionTerms.of("Why does blood sugar rise, giving high blood sugar?", tokenize)
    assert "hyperglycemia" in lay.terms and "sugar" not in lay.terms
    assert "hyperglycemia" in coverage(lay.terms, sentence_terms(stats, "The major"), stats)[1]


# --- numbered things -------------------------------------------------------------------------------------


def test_numbered_qualifiers() -> None:
    assert numbered_qualifiers("How common was grade 3 or grade 4 hyperglycemia?") == ["grade 3", "grade 4"]
    assert numbered_qualifiers("a phase II trial, then phase  3 and I-SPY 2") == [
        "phase 2",
        "phase 3",
        "i-spy 2",
    ]
    assert numbered_qualifiers("less than 5.7% and 12 weeks, CDK4/6, 850 mg") == []


def test_a_numbered_thing_the_corpus_never_names_is_missing(stats: CorpusStats) -> None:
    absent = QuestionTerms.of("How common was grade 3 hyperglycemia?", tokenize)
    assert absent.missing_terms(stats) == ["common", "grade 3"]
    assert absent.missing_factor("grade 3") < absent.missing_factor("common")
    assert QuestionTerms.of("Was grade 2 hyperglycemia seen in phase 2?", tokenize).missing_terms(stats) == []


# --- identifiers -----------------------------------------------------------------------------------------


def test_registration_numbers_are_identifiers() -> None:
    question = "Under which trial registration number is the abemaciclib combination listed?"
    assert figure_kind(question) == "identifier"
    assert holds_figure("the CDK4/6 inhibitor abemaciclib (NCT03099174).", "identifier")
    assert not holds_figure("the kinase inhibitor BMS-754807 and 70-gene assay", "identifier")
    terms = QuestionTerms.of(question, tokenize)
    assert "registration" not in terms.terms and "abemaciclib" in terms.terms


# --- which drug of a class -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("Which somatostatin analogs were tried alongside tamoxifen?", True),
        ("Which inhibitors were combined with IGF1R inhibition?", True),
        ("Give the name of any ligand-neutralizing antibody.", True),
        ("What should the inhibitor studies measure?", False),
        ("Which INSR isoform binds IGF2?", False),
        ("Why did developers abandon tyrosine kinase inhibitors?", False),
    ],
)
def test_questions_asking_for_a_drug_of_a_class(question: str, asks: bool) -> None:
    assert asks_for_member(question) is asks


def test_a_member_is_a_drug_or_a_specific_class_not_in_the_question() -> None:
    asked = frozenset({"which", "analog", "tamoxifen", "abemaciclib"})
    assert not names_member("First-generation analogs failed with tamoxifen (Ingle et al. 1999).", asked)
    assert names_member("Octreotide and lanreotide were tried.", asked)
    assert names_member("combined with phosphatidyl-inositol 3-kinase inhibitors", asked)
    assert not names_member("with abemaciclib", asked)


# --- confidence ----------------------------------------------------------------------------------------


def candidate(stats: CorpusStats, question: QuestionTerms, prefix: str, cosine: float) -> CandidateSentence:
    sentence = next(s for s in TRIAL.sentences if s.text.startswith(prefix))
    found = CandidateSentence(TRIAL, 0, sentence, np.zeros(3, dtype=np.float32), cosine)
    found.coverage, _ = coverage(question.terms, sentence_terms(stats, prefix), stats)
    found.context_coverage = 1.0  # the paragraph is about the question
    return found


def test_a_figure_in_a_sentence_about_something_else_gives_low_confidence(stats: CorpusStats) -> None:
    question = QuestionTerms.of("Across all patients, what hazard ratio did figitumumab give?", tokenize)
    on_topic = candidate(stats, question, "Across all", 0.7)
    with_ratio = candidate(stats, question, "Women whose", 0.3)
    low, _ = confidence([on_topic, with_ratio], question, stats)
    with_ratio.cosine = 0.7  # the same figure in a sentence that is about what was asked
    high, _ = confidence([on_topic, with_ratio], question, stats)
    assert low < 0.4 < high


def test_naming_no_drug_of_the_asked_class_lowers_confidence(stats: CorpusStats) -> None:
    which = QuestionTerms.of("Which somatostatin analogs were tried alongside tamoxifen?", tokenize)
    what = QuestionTerms.of("Were somatostatin analogs tried alongside tamoxifen?", tokenize)
    evidence = "Somatostatin analogs"
    asked_which, _ = confidence([candidate(stats, which, evidence, 0.8)], which, stats)
    asked_whether, _ = confidence([candidate(stats, what, evidence, 0.8)], what, stats)
    assert asked_which == pytest.approx(asked_whether * NO_MEMBER_FACTOR, abs=0.02)
