"""The answer stage's pure logic: question checks, cleaning, attribution, composition, MMR, follow-ups.

Sentences are taken verbatim from the review so the rules are exercised on the text they are for.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from reviewqa.answer.attribution import SentenceTable
from reviewqa.answer.compose import Evidence, answer_text, gather_evidence, quote_span
from reviewqa.answer.evidence import CandidateSentence, CorpusStats, QuestionTerms, select_mmr
from reviewqa.answer.figures import drugs_named, figure_kind, holds_figure
from reviewqa.answer.question import (
    is_elliptical,
    retrieval_question,
    validate_history,
    validate_question,
)
from reviewqa.answer.text import (
    add_marker,
    announces,
    author_mentions,
    clean_sentence,
    continues_discussion,
    needs_context,
    resolve_author_mention,
)
from reviewqa.corpus import token_counter
from reviewqa.errors import QuestionError
from reviewqa.models import Passage, Sentence
from reviewqa.settings import Settings


def simple_tokenize(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9][A-Za-z0-9\-/]*", text)


# Three paragraphs of the review's "Randomized clinical trials" section: (sentence, keys it cites).
GANITUMAB = [
    (
        "Ganitumab in combination with the aromatase inhibitor exemestane or the selective estrogen "
        "receptor modulator fulvestrant (Robertson et al. 2013) was reported.",
        ["Robertson et al. 2013"],
    ),
    ("This trial demonstrated no evidence of benefit for the combination.", []),
    ("Overall survival was worse in the patients who received ganitumab.", []),
    (
        "The major toxicity of this combination was hyperglycemia, and this toxicity might explain the "
        "results.",
        [],
    ),
]
GRADISHAR = [
    (
        "A reason for these worse outcomes was suggested by Gradishar and coworkers (2016) when receptor "
        "levels were measured in the patient's tumors.",
        [],
    ),
    ("In this trial, the antibody cixutumumab was given with or without an aromatase inhibitor.", []),
    ("A trial arm of cixutumumab alone was also studied.", []),
]
NOVEL_ASPECT = [
    ("A novel aspect of this trial included the evaluation of tumor expression of IGF1R and INSR.", []),
    ("These authors showed the level of INSR far exceeded the level of IGF1R, the intended target.", []),
    ("Further, the two isoforms of INSR were measured.", []),
    (
        "This is a significant finding as INSR-A has been shown to have high affinity for the ligand IGF2 "
        "(Sciacca et al. 1999).",
        ["Sciacca et al. 1999"],
    ),
]
LATER = [
    (
        "As shown by Gradishar and coworkers, the tumors with the top quartile of IR expression had the "
        "poorest progression-free survival (Gradishar et al. 2016).",
        ["Gradishar et al. 2016"],
    ),
    ("Thus, these data suggest a role for INSR.", []),
]


def build_passage(paragraphs: list[list[tuple[str, list[str]]]], doc: str = "igf1r-review") -> Passage:
    """One passage holding the given paragraphs, with consistent offsets."""
    text, sentences, cursor = "", [], 0
    for number, paragraph in enumerate(paragraphs):
        for sentence_text, keys in paragraph:
            sentences.append(Sentence(cursor, cursor + len(sentence_text), sentence_text, keys, number))
            text += sentence_text + " "
            cursor = len(text)
        text += "\n"
        cursor = len(text)
    keys = list(dict.fromkeys(k for s in sentences for k in s.cited_works))
    return Passage(f"{doc}:0", doc, ["Randomized trials"], None, 0, len(text), text, sentences, keys)


@pytest.fixture
def section() -> Passage:
    return build_passage([GANITUMAB, GRADISHAR, NOVEL_ASPECT, LATER])


def start_of(passage: Passage, prefix: str) -> int:
    return next(s.start for s in passage.sentences if s.text.startswith(prefix))


# --- questions ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("question", ["", "   ", "\n\t "])
def test_empty_questions_are_rejected(question: str) -> None:
    with pytest.raises(QuestionError, match="empty"):
        validate_question(question, Settings.load())


def test_too_long_question_is_rejected_by_token_count() -> None:
    settings = Settings.load().replace(max_question_tokens=12)
    ok = "What was the major toxicity of ganitumab?"
    assert token_counter(settings.encoding)(ok) <= 12
    assert validate_question(f"  {ok}  ", settings) == ok
    too_long = ok + " And what about cixutumumab with endocrine therapy?"
    assert token_counter(settings.encoding)(too_long) > 12
    with pytest.raises(QuestionError, match="too long"):
        validate_question(too_long, settings)


@pytest.mark.parametrize(
    "question",
    [
        'Was "INSR-A" <b>really</b> higher?',
        "Quelle est la toxicité du ganitumab ? 🧪",
        "<|endoftext|> IGF1R?",
    ],
)
def test_unicode_quotes_and_html_are_plain_text(question: str) -> None:
    assert validate_question(question, Settings.load()) == question


def test_non_text_question_is_rejected() -> None:
    with pytest.raises(QuestionError):
        validate_question(None, Settings.load())


@pytest.mark.parametrize("question", ["What is \ud800 IGF1R?", "\udfff", "dose of ganitumab\udc00?"])
def test_lone_surrogates_are_rejected_with_a_clear_message(question: str) -> None:
    with pytest.raises(QuestionError, match="not valid Unicode text"):
        validate_question(question, Settings.load())


def test_history_with_lone_surrogates_or_non_mapping_turns_is_rejected() -> None:
    validate_history([{"question": "What is ganitumab? 🧪", "answer": "An antibody."}])
    with pytest.raises(QuestionError, match=r"turn 2.*not valid Unicode"):
        validate_history([{"question": "ok", "answer": ""}, {"question": "IGF1R \ud800", "answer": ""}])
    with pytest.raises(QuestionError, match="turn 1 must be a mapping"):
        validate_history(["What is ganitumab?"])  # type: ignore[list-item]


# --- cleaning and markers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("Further, the two isoforms of INSR\nwere measured.", "The two isoforms of INSR were measured."),
        ("Thus, targeting IGF1R function could serve.", "Targeting IGF1R function could serve."),
        ("As shown by Gradishar and coworkers, the tumors did poorly.", "The tumors did poorly."),
        ("The major toxicity was hyperglycemia.", "The major toxicity was hyperglycemia."),
        (
            "Furthermore IGF1R is expressed.",
            "Furthermore IGF1R is expressed.",
        ),  # no comma: not a dangling opener
    ],
)
def test_clean_sentence(raw: str, cleaned: str) -> None:
    assert clean_sentence(raw) == cleaned


def test_marker_goes_before_final_punctuation() -> None:
    assert add_marker("It was hyperglycemia.", 2) == "It was hyperglycemia [2]."
    assert add_marker("No full stop", 1) == "No full stop [1]."


def test_discourse_cues() -> None:
    assert continues_discussion("These authors showed the level of INSR far exceeded the level of IGF1R.")
    assert continues_discussion("In this trial, ganitumab was tested in combination with paclitaxel.")
    assert not continues_discussion("Thus, this drug is no longer being pursued.")  # the review's own view
    assert not continues_discussion("IGF1R stimulation results in proliferation, survival and metastasis.")
    assert needs_context("This trial demonstrated no evidence of benefit.")
    assert needs_context("Further, these authors measured INSR.")
    assert not needs_context("The major toxicity of this combination was hyperglycemia.")


def test_author_mentions_resolve_only_to_known_keys() -> None:
    known = ["Gradishar et al. 2016", "Chan et al. 1998", "Chan et al. 2016", "Drury et al. 2011"]
    assert author_mentions("suggested by Gradishar and coworkers (2016) when") == [("Gradishar", 2016)]
    assert resolve_author_mention("Gradishar", 2016, known) == "Gradishar et al. 2016"
    assert resolve_author_mention("Gradishar", None, known) == "Gradishar et al. 2016"
    assert resolve_author_mention("Chan", None, known) is None  # ambiguous: never guess
    assert resolve_author_mention("Smith", 2016, known) is None  # unknown: never invent


# --- attribution -------------------------------------------------------------------------------------


def test_these_authors_belongs_to_gradishar(section: Passage) -> None:
    table = SentenceTable([section])
    start = start_of(section, "These authors showed")
    assert table.attributed_works("igf1r-review", start) == ["Gradishar et al. 2016"]


def test_this_combination_belongs_to_the_paragraphs_trial(section: Passage) -> None:
    table = SentenceTable([section])
    assert table.attributed_works("igf1r-review", start_of(section, "The major toxicity")) == [
        "Robertson et al. 2013"
    ]
    assert table.attributed_works("igf1r-review", start_of(section, "This trial demonstrated")) == [
        "Robertson et al. 2013"
    ]


def test_own_citations_and_unattributed_sentences(section: Passage) -> None:
    table = SentenceTable([section])
    assert table.attributed_works("igf1r-review", start_of(section, "This is a significant")) == [
        "Sciacca et al. 1999"
    ]
    # A plain statement naming no drug of an attributed sentence before it is attributed to nobody.
    assert table.attributed_works("igf1r-review", start_of(section, "Further, the two isoforms")) == []
    # One naming the drug of the trial its paragraph reports belongs to that trial.
    assert table.attributed_works("igf1r-review", start_of(section, "Overall survival")) == [
        "Robertson et al. 2013"
    ]
    assert table.attributed_works("igf1r-review", start_of(section, "A trial arm of cixutumumab")) == [
        "Gradishar et al. 2016"
    ]
    # The review's own conclusion is not pinned on the work before it.
    assert table.attributed_works("igf1r-review", start_of(section, "Thus, these data")) == []


def test_attribution_never_crosses_into_a_paragraph_that_does_not_refer_back() -> None:
    passage = build_passage([GANITUMAB, [("Overall survival was worse.", []), ("These authors agreed.", [])]])
    table = SentenceTable([passage])
    # "These authors" follows a paragraph opener that does not refer back, so the previous paragraph's
    # Robertson et al. 2013 must not be borrowed.
    assert table.attributed_works("igf1r-review", start_of(passage, "These authors agreed")) == []


def test_overlapping_passages_give_one_sentence_table(section: Passage) -> None:
    half = len(section.sentences) // 2
    first = build_passage([GANITUMAB, GRADISHAR])
    second = Passage(
        "igf1r-review:1",
        "igf1r-review",
        section.section,
        None,
        section.start,
        section.end,
        section.text,
        section.sentences[half - 1 :],
        section.cited_works,
    )
    table = SentenceTable([first, second])
    assert table.attributed_works("igf1r-review", start_of(section, "These authors showed")) == [
        "Gradishar et al. 2016"
    ]


# --- composition -------------------------------------------------------------------------------------


def candidate(passage: Passage, prefix: str, relevance: float, vector: list[float]) -> CandidateSentence:
    sentence = next(s for s in passage.sentences if s.text.startswith(prefix))
    array = np.asarray(vector, dtype=np.float32)
    return CandidateSentence(passage, 0, sentence, array / np.linalg.norm(array), 0.5, relevance=relevance)


def test_context_sentence_is_joined_and_quote_is_exact(section: Passage) -> None:
    table = SentenceTable([section])
    chosen = [candidate(section, "This trial demonstrated", 0.9, [1, 0])]
    [evidence] = gather_evidence(chosen, table, lambda doc: [section])
    assert [s.text[:20] for s in evidence.sentences] == [GANITUMAB[0][0][:20], GANITUMAB[1][0][:20]]
    assert evidence.quote in section.text
    assert evidence.quote.startswith("Ganitumab in combination") and evidence.quote.endswith("combination.")


def test_announcing_sentence_is_quoted_with_the_points_that_follow() -> None:
    passage = build_passage(
        [
            [
                ("In this clinical scenario, the drug was harmful for two reasons.", []),
                ("First, the actual target, IGF1R was not expressed in these tumors.", []),
                (
                    "Second, the disruption of glucose homeostasis could have resulted in hyperinsulinemia.",
                    [],
                ),
                ("This is exactly the opposite of the intended effect.", []),
            ]
        ]
    )
    table = SentenceTable([passage])
    [evidence] = gather_evidence(
        [candidate(passage, "In this clinical scenario", 0.9, [1, 0])], table, lambda doc: [passage]
    )
    assert evidence.quote.startswith("In this clinical scenario") and evidence.quote.endswith(
        "hyperinsulinemia."
    )
    assert evidence.quote in passage.text and evidence.selected.text.startswith("In this clinical")
    # a point already in the answer is not quoted twice
    both = [
        candidate(passage, "In this clinical scenario", 0.9, [1, 0]),
        candidate(passage, "First, the actual", 0.8, [0, 1]),
    ]
    first, second = gather_evidence(both, table, lambda doc: [passage])
    assert first.quote == "In this clinical scenario, the drug was harmful for two reasons."
    assert second.quote.startswith("First, the actual")
    assert announces("Before drugs existed, there were surgical methods to suppress these cancers.")
    assert not announces("Oophorectomy in premenopausal women was a commonly used strategy.")


def test_answer_text_orders_cleans_and_marks(section: Passage) -> None:
    first = next(s for s in section.sentences if s.text.startswith("The major toxicity"))
    second = next(s for s in section.sentences if s.text.startswith("Further, the two"))
    evidence = [
        Evidence(section, [first], quote_span(section, first, first) or "", first),
        Evidence(section, [second], quote_span(section, second, second) or "", second),
    ]
    text = answer_text(evidence)
    assert text.startswith("The major toxicity of this combination was hyperglycemia")
    assert "[1]." in text and text.endswith("The two isoforms of INSR were measured [2].")
    assert all(item.quote and item.quote in section.text for item in evidence)


def test_quote_span_rejects_offsets_outside_the_passage(section: Passage) -> None:
    outside = Sentence(section.end + 5, section.end + 20, "elsewhere", [], 9)
    assert quote_span(section, outside, outside) is None


# --- MMR ---------------------------------------------------------------------------------------------


def test_mmr_skips_near_duplicates_and_stops_at_weak_sentences(section: Passage) -> None:
    best = candidate(section, "The major toxicity", 0.80, [1, 0, 0])
    duplicate = candidate(section, "Overall survival", 0.79, [1, 0.01, 0])
    diverse = candidate(section, "This trial demonstrated", 0.70, [0, 1, 0])
    weak = candidate(section, "A trial arm", 0.30, [0, 0, 1])
    chosen = select_mmr([weak, diverse, duplicate, best], limit=4, mmr_lambda=0.7)
    assert chosen == [best, diverse]


def test_mmr_respects_the_limit(section: Passage) -> None:
    pool = [
        candidate(section, p, 0.8 - i * 0.01, np.eye(4)[i].tolist())
        for i, p in enumerate(
            ["The major toxicity", "Overall survival", "This trial demonstrated", "A trial arm"]
        )
    ]
    assert len(select_mmr(pool, limit=2, mmr_lambda=0.7)) == 2
    assert select_mmr([], limit=3, mmr_lambda=0.7) == []


# --- follow-ups --------------------------------------------------------------------------------------


def test_elliptical_follow_up_borrows_previous_key_terms() -> None:
    history = [{"question": "What did the trial of ganitumab with exemestane show?", "answer": "..."}]
    query = retrieval_question("What about its toxicity?", history, simple_tokenize)
    assert query.startswith("What about its toxicity?")
    assert "ganitumab" in query and "exemestane" in query


def test_full_question_is_not_rewritten() -> None:
    history = [{"question": "What did the trial of ganitumab show?", "answer": "..."}]
    question = "Which INSR isoform binds IGF2 with high affinity in breast cancer cells?"
    assert not is_elliptical(question, simple_tokenize)
    assert retrieval_question(question, history, simple_tokenize) == question
    assert retrieval_question("What about its toxicity?", None, simple_tokenize) == "What about its toxicity?"


def test_follow_up_chains_through_history() -> None:
    history = [
        {"question": "What was tested in the I-SPY 2 trial?", "answer": "..."},
        {"question": "And with metformin?", "answer": "..."},
    ]
    query = retrieval_question("What about its dose?", history, simple_tokenize)
    assert "I-SPY" in query


# --- figures -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("What dose of metformin was given in I-SPY 2?", "dose"),
        ("What percentage of women have metabolic syndrome?", "percent"),
        ("What was the hazard ratio in the subgroup?", "ratio"),
        ("In what year was IGF1 first sequenced?", "year"),
        ("How many genes are in the assay?", "count"),
        ("How long was the therapy with ganitumab?", "measure"),
        ("Did ganitumab improve pCR rates in I-SPY 2?", None),  # yes/no: no figure expected
        ("What was the major toxicity of ganitumab?", None),
    ],
)
def test_figure_kind(question: str, kind: str | None) -> None:
    assert figure_kind(question) == kind


def test_a_dose_belongs_to_the_drug_named_before_it() -> None:
    sentence = (
        "Because of the known hyperglycemia induced by ganitumab, patients were also given metformin "
        "(850 mg po BID) to manage glucose."
    )
    assert holds_figure(sentence, "dose", drugs_named("What dose of metformin was given?"))
    assert not holds_figure(sentence, "dose", drugs_named("What dose of ganitumab was given?"))
    assert holds_figure(sentence, "dose")


def test_a_count_is_a_whole_number_not_a_percentage_or_a_measure() -> None:
    assert holds_figure("Therapy was followed by 4 cycles of doxorubicin", "count")
    assert not holds_figure("a hemoglobin A1C less than 5.7% suggested benefit", "count")
    assert not holds_figure("high-risk tumors as measured by tumor size (>2.5 cm)", "count")
    assert not holds_figure("too small (hazard ratio = 0.60, CI: 0.32–1.1)", "count")
    assert holds_figure("high-risk tumors as measured by tumor size (>2.5 cm)", "measure")
    assert holds_figure("Therapy was 12 weeks in combination with paclitaxel", "measure")


def test_a_subgroup_figure_does_not_answer_for_the_whole_population() -> None:
    subgroup = (
        "While this subgroup was too small (hazard ratio = 0.60, CI: 0.32–1.1), the data suggested benefit."
    )
    overall = QuestionTerms.of("What was the hazard ratio in the overall population?", simple_tokenize)
    asked_for_subgroup = QuestionTerms.of(
        "What was the hazard ratio in the low-HbA1c group?", simple_tokenize
    )
    assert not overall.answered_by(subgroup)
    assert asked_for_subgroup.answered_by(subgroup)


def test_citation_years_are_not_figures() -> None:
    cited = "Linsitinib was given in two schedules (Jones et al. 2015, Puzanov et al. 2015)."
    assert not holds_figure(cited, "year")
    assert holds_figure("In 1890, Beatson removed young woman’s ovaries (Beatson 1896).", "year")
    assert holds_figure("a hemoglobin A1C less than 5.7% suggested benefit", "percent")
    assert not holds_figure("xentuzumab with the CDK4/6 inhibitor abemaciclib (NCT03099174)", "count")
    assert holds_figure("as determined by the 70-gene assay", "count")


def test_carried_terms_count_for_half() -> None:
    terms = QuestionTerms.of("What about its toxicity?", simple_tokenize, carried=" ganitumab exemestane")
    assert terms.terms[0] == "toxicity"
    assert terms.scale == {"ganitumab": 0.5, "exemestane": 0.5}
    assert terms.drugs == frozenset({"ganitumab"})


def test_missing_terms_allow_inflections_and_compound_parts(section: Passage) -> None:
    stats = CorpusStats.build([section], simple_tokenize, lambda _document, text: text)
    question = QuestionTerms.of(
        "Did cixutumumab-treated receptors of dalotuzumab reach hyperglycemic INSR?", simple_tokenize
    )
    # "hyperglycemic" is "hyperglycemia" inflected; a compound is judged by its parts (which the real
    # tokenizer emits too), never as a whole; "dalotuzumab" is a drug the text never names.
    assert question.missing_terms(stats) == ["dalotuzumab", "reach"]
    assert "hyperglycemic" not in question.missing_terms(stats)
    assert question.missing_factor("dalotuzumab") < question.missing_factor("reach")
