"""The answer stage on the real review, with the real packaged model and index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reviewqa.answer import answer, engine_for
from reviewqa.cli import main
from reviewqa.errors import QuestionError
from reviewqa.models import Answer
from reviewqa.settings import PROJECT_ROOT, Settings

GOLD_PATH = PROJECT_ROOT / "eval" / "gold.jsonl"

pytestmark = pytest.mark.slow


def ask(question: str, settings: Settings, index, **kwargs) -> Answer:
    result = answer(question, settings, index, **kwargs)
    for citation in result.citations:
        passage = index.passage_by_id[citation.passage_id]
        assert citation.quote and citation.quote in passage.text, citation
    return result


def citation_with(result: Answer, phrase: str):
    return next((c for c in result.citations if phrase.lower() in c.quote.lower()), None)


def test_major_toxicity_of_ganitumab_is_hyperglycemia(review_settings: Settings, review_index) -> None:
    result = ask(
        "What was the major toxicity of ganitumab with endocrine therapy?", review_settings, review_index
    )
    assert not result.abstained
    assert "hyperglycemia" in result.answer.lower()
    citation = citation_with(result, "major toxicity of this combination was hyperglycemia")
    assert citation is not None, result.citations
    assert citation.document == "igf1r-review" and citation.title
    assert "Robertson et al. 2013" in [w.key for w in citation.cited_works]
    assert f"[{citation.marker}]" in result.answer


def test_insr_isoform_binding_igf2(review_settings: Settings, review_index) -> None:
    result = ask("Which INSR isoform binds IGF2 with high affinity?", review_settings, review_index)
    assert not result.abstained
    assert "INSR-A" in result.answer
    keys = [w.key for c in result.citations for w in c.cited_works]
    assert "Sciacca et al. 1999" in keys


def test_metformin_dose_in_i_spy_2(review_settings: Settings, review_index) -> None:
    result = ask("What dose of metformin was given in I-SPY 2?", review_settings, review_index)
    assert not result.abstained
    assert "850 mg" in result.answer
    assert citation_with(result, "850 mg") is not None


def test_these_authors_sentence_is_attributed_to_gradishar(review_index) -> None:
    table = engine_for(review_index).stats.table
    sentence = next(
        s for p in review_index.passages for s in p.sentences if s.text.startswith("These authors showed")
    )
    assert not sentence.cited_works  # the sentence cites nothing itself
    assert table.attributed_works("igf1r-review", sentence.start) == ["Gradishar et al. 2016"]


@pytest.mark.parametrize(
    ("opening", "works"),
    [
        # list points right after the citing sentence "(Ryan et al. 2011)"
        ("First, in the overall population", ["Ryan et al. 2011"]),
        ("Second, a subpopulation of women", ["Ryan et al. 2011"]),
        ("While this subgroup of patients", ["Ryan et al. 2011"]),
        # the review's own remark closing that paragraph
        ("Unfortunately, this drug is no longer", []),
        # the drug of the trial introduced by "In this trial, the antibody cixutumumab..." (Gradishar)
        ("A trial arm of cixutumumab alone", ["Gradishar et al. 2016"]),
        ("Overall survival was worse in the patients who received ganitumab", ["Robertson et al. 2013"]),
        # points of the review's own argument: the sentence before them cites nothing
        ("First, the actual target, IGF1R was not expressed", []),
        ("Second, the disruption of glucose homeostasis", []),
        # mechanism sentences between two citations are not pulled to either
        ("This induction of hyperinsulinemia", []),
    ],
)
def test_continuations_are_attributed_to_the_work_under_discussion(
    review_index, opening: str, works: list[str]
) -> None:
    table = engine_for(review_index).stats.table
    sentence = next(s for p in review_index.passages for s in p.sentences if s.text.startswith(opening))
    assert not sentence.cited_works
    assert table.attributed_works("igf1r-review", sentence.start) == works


def test_answer_citing_these_authors_names_gradishar(review_settings: Settings, review_index) -> None:
    result = ask(
        "How did the level of INSR compare with the level of IGF1R in the tumors?",
        review_settings,
        review_index,
    )
    citation = citation_with(result, "These authors showed")
    assert citation is not None, result.answer
    assert "Gradishar et al. 2016" in [w.key for w in citation.cited_works]


@pytest.mark.parametrize(
    "question",
    [
        "What is the capital of France?",
        "What did the trial of dalotuzumab show?",
        "Who won the football world cup in 2014?",
    ],
)
def test_out_of_scope_questions_abstain(review_settings: Settings, review_index, question: str) -> None:
    result = ask(question, review_settings, review_index)
    assert result.abstained, (result.confidence, result.answer)
    assert result.citations == []
    assert "do not answer" in result.answer
    assert len(result.passages) == review_settings.top_k  # the closest passages are still listed
    # Abstention is decided on the evidence's support, and an abstention's confidence is at most that.
    assert result.support is not None and result.support < review_settings.abstain_threshold
    assert 0.0 <= result.confidence <= result.support


def test_undefined_abbreviations_and_identifiers_are_answered(
    review_settings: Settings, review_index
) -> None:
    # The review spells out "pathologic complete response" and never writes "pCR".
    pcr = ask("Were pCR rates better with ganitumab?", review_settings, review_index)
    assert not pcr.abstained and "pathologic complete response" in pcr.answer.lower()
    # It gives the trial's registry number without the words "registration number".
    registry = ask("What is the NCT number of the abemaciclib trial?", review_settings, review_index)
    assert not registry.abstained and "NCT03099174" in registry.answer


@pytest.mark.parametrize(
    "question",
    [
        "Which somatostatin analogs failed with tamoxifen?",  # the review names none
        "How often did grade 4 hyperglycemia occur with ganitumab?",  # it reports grade 2 only
    ],
)
def test_near_misses_abstain(review_settings: Settings, review_index, question: str) -> None:
    result = ask(question, review_settings, review_index)
    assert result.abstained, (result.confidence, result.answer)


def test_answer_contract(review_settings: Settings, review_index) -> None:
    result = ask(
        "Why were tyrosine kinase inhibitors of IGF1R not pursued?", review_settings, review_index, top_k=3
    )
    data = json.loads(json.dumps(result.to_dict()))
    assert set(data) == {
        "question",
        "answer",
        "abstained",
        "confidence",
        "citations",
        "passages",
        "timings_ms",
        "question_type",
        "verdict",
        "support",
    }
    assert set(data["timings_ms"]) == {"retrieve", "select", "total"}
    assert len(data["passages"]) == 3
    scores = [p["score"] for p in data["passages"]]
    assert scores == sorted(scores, reverse=True)
    assert 0.0 <= data["confidence"] <= 1.0
    assert not data["abstained"]
    assert 1 <= len(data["citations"]) <= review_settings.max_answer_sentences
    assert [c["marker"] for c in data["citations"]] == list(range(1, len(data["citations"]) + 1))
    for citation in data["citations"]:
        assert f"[{citation['marker']}]" in data["answer"]
        assert citation["document_kind"] == "review"


def test_answer_text_has_no_dangling_connectives(review_settings: Settings, review_index) -> None:
    result = ask("How does IGF1R inhibition cause hyperinsulinemia?", review_settings, review_index)
    assert not result.abstained
    for opener in ("Further,", "Thus,", "However,", "Moreover,"):
        assert not result.answer.startswith(opener)
        assert f"]. {opener}" not in result.answer


def test_follow_up_question_uses_previous_terms(review_settings: Settings, review_index) -> None:
    history = [{"question": "What was tested with paclitaxel in the I-SPY 2 trial?", "answer": "Ganitumab."}]
    result = ask("What dose of metformin did they give?", review_settings, review_index, history=history)
    assert "850 mg" in result.answer


def test_elliptical_follow_up_about_toxicity(review_settings: Settings, review_index) -> None:
    history = [
        {"question": "What did the trial of ganitumab with exemestane or fulvestrant show?", "answer": "..."}
    ]
    follow_up = ask("What about its toxicity?", review_settings, review_index, history=history)
    assert not follow_up.abstained
    assert "hyperglycemia" in follow_up.answer.lower()
    assert "ganitumab" in follow_up.passages[0].text.lower()
    assert "Robertson et al. 2013" in [w.key for c in follow_up.citations for w in c.cited_works]


@pytest.mark.parametrize(
    ("previous", "follow_up", "expected"),
    [
        ("Which kinase inhibitor was tested with letrozole?", "Why was that trial stopped?", "BMS-754807"),
        ("What was linsitinib evaluated in?", "Was it developed further?", "linsitinib"),
    ],
)
def test_follow_up_needs_its_history(
    review_settings: Settings, review_index, previous: str, follow_up: str, expected: str
) -> None:
    # Without the previous question these follow-ups do not say what they are about.
    alone = ask(follow_up, review_settings, review_index)
    assert alone.abstained or expected not in alone.answer
    history = [{"question": previous, "answer": ""}]
    result = ask(follow_up, review_settings, review_index, history=history)
    assert not result.abstained and expected in result.answer, result.answer


def test_bad_questions_raise(review_settings: Settings, review_index) -> None:
    with pytest.raises(QuestionError):
        answer("   ", review_settings, review_index)
    with pytest.raises(QuestionError):
        answer("IGF1R " * (review_settings.max_question_tokens + 1), review_settings, review_index)
    with pytest.raises(QuestionError, match="not valid Unicode"):  # would crash the model's tokenizer
        answer("What is \ud800 IGF1R?", review_settings, review_index)
    with pytest.raises(QuestionError, match="not valid Unicode"):
        answer("What about it?", review_settings, review_index, history=[{"question": "IGF1R\udc00"}])
    result = ask('What is <b>"IGF1R"</b>? </script> ✓', review_settings, review_index)
    assert result.question == 'What is <b>"IGF1R"</b>? </script> ✓'


def test_every_gold_quote_is_exact(review_settings: Settings, review_index) -> None:
    if not GOLD_PATH.exists():
        pytest.skip("eval/gold.jsonl is not written yet")
    questions = [json.loads(line)["question"] for line in GOLD_PATH.read_text().splitlines() if line.strip()]
    assert questions
    answered = 0
    for question in questions:
        result = ask(question, review_settings, review_index)  # ask() checks every quote
        answered += not result.abstained
    assert answered > len(questions) // 2


def test_cli_ask_json_and_text(review_settings: Settings, review_index) -> None:
    env = {
        "REVIEWQA_CORPUS_DIR": str(review_settings.corpus_dir),
        "REVIEWQA_INDEX_DIR": str(review_settings.index_dir),
    }
    runner = CliRunner()
    result = runner.invoke(
        main, ["ask", "What dose of metformin was given in I-SPY 2?", "--json", "--top-k", "2"], env=env
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # stdout only: model loading may log progress on stderr
    assert len(data["passages"]) == 2 and "850 mg" in data["answer"]
    text = runner.invoke(main, ["ask", "What dose of metformin was given in I-SPY 2?"], env=env)
    assert text.exit_code == 0 and "[1]" in text.output and "850 mg" in text.output


def test_cli_without_index_says_to_build_it(tmp_path: Path) -> None:
    (tmp_path / "corpus" / "documents").mkdir(parents=True)
    env = {"REVIEWQA_CORPUS_DIR": str(tmp_path / "corpus"), "REVIEWQA_INDEX_DIR": str(tmp_path / "index")}
    result = CliRunner().invoke(main, ["ask", "What is IGF1R?"], env=env)
    assert result.exit_code != 0
    assert "reviewqa index" in result.output and "Traceback" not in result.output
    empty = CliRunner().invoke(main, ["ask", "  "], env=env)
    assert empty.exit_code != 0 and "empty" in empty.output
    surrogate = CliRunner().invoke(main, ["ask", "What is \ud800?"], env=env)
    assert surrogate.exit_code != 0 and "not valid Unicode" in surrogate.output
    assert "Traceback" not in surrogate.output


def test_a_forward_reference_is_not_offered_as_an_answer(review_settings: Settings, review_index) -> None:
    # "As noted below, there are additional reasons why..." ends its paragraph: its reasons are elsewhere.
    question = "Why were the tumors in most ER+ IGF1R trials endocrine resistant by definition?"  # gold q058
    result = ask(question, review_settings, review_index)
    assert "endocrine resistant" in result.answer
    assert "As noted below" not in result.answer
