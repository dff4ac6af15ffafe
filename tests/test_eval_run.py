"""The evaluation run end to end on the real index: a regression guard, the report files, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reviewqa.cli import main
from reviewqa.eval.compare import EvalReportError, compare_summaries, format_comparison
from reviewqa.eval.gold import GoldSetError, gold_path, load_gold
from reviewqa.eval.report import new_report_dir, write_report
from reviewqa.eval.runner import run_eval, take_stratified
from reviewqa.settings import PROJECT_ROOT

GOLD = gold_path(PROJECT_ROOT / "eval")
SLICE = 25

# The regression guard runs the whole gold set (154 questions take seconds once the index is loaded).
# Each floor sits a little (0.02-0.05, a few questions) below what the pipeline scores on split all
# (docs/answers.md, "The review"), so a change that costs a few questions fails; the test below shows that
# real degradations cross them.
FLOORS = {
    ("retrieval", "hit@1"): 0.92,
    ("retrieval", "hit@5"): 0.97,
    ("retrieval", "mrr"): 0.94,
    ("retrieval", "ndcg@10"): 0.80,
    ("answer", "token_f1"): 0.30,
    ("answer", "key_term_accuracy"): 0.87,
    ("citations", "precision"): 0.69,
    ("citations", "recall"): 0.88,
    ("citations", "cited_work_accuracy"): 0.87,
    ("citations", "cited_work_precision"): 0.81,
    ("abstention", "precision"): 0.84,
    ("abstention", "recall"): 0.84,
}
CEILINGS = {("abstention", "false_abstention_rate"): 0.05, ("calibration", "ece"): 0.08}


def guard_failures(summary: dict) -> list[str]:
    """The metrics of ``summary`` below their floor or above their ceiling (a missing one fails too)."""
    failures = []
    for (section, name), floor in FLOORS.items():
        value = summary[section][name]
        if value is None or value < floor:
            failures.append(f"{section}.{name} = {value} < {floor}")
    for (section, name), ceiling in CEILINGS.items():
        value = summary[section][name]
        if value is None or value > ceiling:
            failures.append(f"{section}.{name} = {value} > {ceiling}")
    return failures


@pytest.fixture(scope="module")
def full_run(review_settings, review_index):
    return run_eval(review_settings, review_index, "all", gold_file=GOLD)


@pytest.fixture(scope="module")
def slice_run(review_settings, review_index):
    return run_eval(review_settings, review_index, "all", limit=SLICE, gold_file=GOLD)


def test_slice_mixes_types_and_includes_out_of_scope() -> None:
    chosen = take_stratified(load_gold(GOLD), SLICE)
    assert len(chosen) == SLICE
    assert len({q.type for q in chosen}) == 7
    assert sum(not q.answerable for q in chosen) >= 3


@pytest.mark.slow
def test_every_metric_clears_its_floor(full_run) -> None:
    assert full_run.summary["questions"] == len(load_gold(GOLD))
    assert guard_failures(full_run.summary) == []


@pytest.mark.slow
@pytest.mark.parametrize(
    ("change", "caught"),
    [
        ({"search_mode": "dense"}, "retrieval.ndcg@10"),  # the lexical half of hybrid search lost
        # BM25 alone is no longer caught: the learned ranking of sentences makes up for the dense half.
        ({"answer_ranker": "heuristic"}, "citations.precision"),  # the learned ranker lost
        ({"abstain_threshold": 0.0}, "abstention.recall"),  # never abstains
        ({"abstain_threshold": 0.6}, "abstention.false_abstention_rate"),  # abstains too readily
    ],
)
def test_the_guard_catches_a_degraded_pipeline(review_settings, review_index, change, caught) -> None:
    degraded = run_eval(review_settings.replace(**change), review_index, "all", gold_file=GOLD)
    assert any(failure.startswith(caught) for failure in guard_failures(degraded.summary))


@pytest.mark.slow
def test_out_of_scope_questions_score_abstention_only(slice_run) -> None:
    assert slice_run.summary["questions"] == SLICE
    for result in slice_run.results:
        if result.answerable:
            assert {"hit@5", "token_f1", "citation_precision"} <= set(result.metrics)
        else:
            assert "hit@5" not in result.metrics
            assert result.metrics["abstention_correct"] == result.abstained


@pytest.mark.slow
def test_run_is_deterministic_apart_from_latency(review_settings, review_index, slice_run) -> None:
    again = run_eval(review_settings, review_index, "all", limit=SLICE, gold_file=GOLD)

    def stable(run):
        summary = {k: v for k, v in run.summary.items() if k != "latency_ms"}
        results = [{k: v for k, v in r.to_dict().items() if k != "latency_ms"} for r in run.results]
        return summary, results

    assert stable(again) == stable(slice_run)


@pytest.mark.slow
def test_report_files_are_written_and_html_is_escaped(review_settings, review_index, tmp_path: Path) -> None:
    hostile = "<script>alert('x')</script> Which drug was tested with exemestane?"
    rows = [
        {"id": "x1", "question": hostile, "answerable": True, "answer": "Figitumumab & <b>friends</b>",
         "evidence": ["a phrase that is nowhere in the review"], "cited_works": [], "type": "factoid",
         "split": "dev"},
        {"id": "x2", "question": "What is the capital of Australia?", "answerable": False, "answer": "-",
         "evidence": [], "cited_works": [], "type": "out-of-scope", "split": "dev"},
    ]  # fmt: skip
    gold_file = tmp_path / "gold.jsonl"
    gold_file.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    run = run_eval(review_settings, review_index, "dev", gold_file=gold_file)
    paths = write_report(run, tmp_path / "report")

    assert [json.loads(line)["id"] for line in paths["results.jsonl"].read_text().splitlines()] == [
        "x1",
        "x2",
    ]
    summary = json.loads(paths["summary.json"].read_text())
    assert summary["questions"] == 2 and summary["retrieval"]["hit@5"] == 0.0
    assert "x1" in paths["report.md"].read_text()
    page = paths["report.html"].read_text()
    assert "<script>" not in page and "<b>friends</b>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page  # listed among the failed questions
    assert page.count("data:image/png;base64,") == 5  # with the reliability diagram


@pytest.mark.slow
def test_cli_writes_a_report_and_compares_two(review_settings, review_index, tmp_path: Path) -> None:
    env = {
        "REVIEWQA_CORPUS_DIR": str(review_settings.corpus_dir),
        "REVIEWQA_INDEX_DIR": str(review_settings.index_dir),
        "REVIEWQA_EVAL_DIR": str(tmp_path),
    }
    runner = CliRunner()
    for name in ("a", "b"):
        args = ["eval", "--split", "dev", "--limit", "8", "--gold", str(GOLD), "--out", str(tmp_path / name)]
        result = runner.invoke(main, [*args, "--no-progress"], env=env)
        assert result.exit_code == 0, result.output
        assert "Evidence hit@5" in result.output
    compared = runner.invoke(main, ["eval", "--compare", str(tmp_path / "a"), str(tmp_path / "b")], env=env)
    assert compared.exit_code == 0, compared.output
    assert "B - A" in compared.output and "+0.000" in compared.output
    again = ["eval", "--split", "dev", "--limit", "2", "--gold", str(GOLD), "--out", str(tmp_path / "a")]
    refused = runner.invoke(main, [*again, "--no-progress"], env=env)
    assert refused.exit_code == 1 and "not empty" in refused.output and "--force" in refused.output
    assert "Traceback" not in refused.output
    forced = runner.invoke(main, [*again, "--no-progress", "--force"], env=env)
    assert forced.exit_code == 0, forced.output
    assert json.loads((tmp_path / "a" / "summary.json").read_text())["questions"] == 2


def test_default_report_dirs_never_collide(tmp_path: Path) -> None:
    first, second = new_report_dir(tmp_path / "reports"), new_report_dir(tmp_path / "reports")
    assert first != second and first.is_dir() and second.is_dir()
    assert second.name.startswith(first.name) or first.name[:15] != second.name[:15]


def test_a_split_without_questions_is_a_clear_error(review_settings, tmp_path: Path) -> None:
    gold_file = tmp_path / "gold.jsonl"
    gold_file.write_text(GOLD.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    split = "test" if load_gold(gold_file)[0].split == "dev" else "dev"
    with pytest.raises(GoldSetError, match="no questions in split"):
        run_eval(review_settings, None, split, gold_file=gold_file)  # fails before the index is needed


def test_cli_reports_bad_input_in_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["eval", "--compare", str(tmp_path), str(tmp_path)])
    assert result.exit_code == 1
    assert "no summary.json" in result.output and "Traceback" not in result.output
    missing = runner.invoke(main, ["eval", "--gold", str(tmp_path / "none.jsonl")])
    assert missing.exit_code == 1 and "gold set not found" in missing.output
    limit = runner.invoke(main, ["eval", "--limit", "0"])
    assert limit.exit_code == 2 and "--limit" in limit.output


def test_compare_reports_deltas_and_missing_metrics(tmp_path: Path) -> None:
    before = {"split": "test", "questions": 60, "retrieval": {"hit@5": 0.75, "mrr": 0.5}, "answer": {}}
    after = {"split": "test", "questions": 60, "retrieval": {"hit@5": 0.9, "mrr": None}, "answer": {}}
    for name, summary in (("a", before), ("b", after)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    deltas = {row.label: row.delta for row in compare_summaries(before, after)}
    assert deltas["Evidence hit@5"] == pytest.approx(0.15)
    assert deltas["MRR"] is None and deltas["Answer token F1"] is None
    text = format_comparison(tmp_path / "a", tmp_path / "b")
    assert "+0.150" in text and "different question sets" not in text
    (tmp_path / "b" / "summary.json").write_text("{broken", encoding="utf-8")
    with pytest.raises(EvalReportError, match="not valid JSON"):
        format_comparison(tmp_path / "a", tmp_path / "b")
