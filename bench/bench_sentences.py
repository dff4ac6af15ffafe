"""Where sentence vectors come from: embedded alone, pooled from the passage's forward pass, or lazily.

    .venv/bin/python bench/bench_sentences.py [--work-dir DIR]

The answer stage picks, among the sentences of the retrieved passages, those closest to the question
(``SearchIndex.sentence_vectors_for``). Three ways to get their vectors, compared with a proxy that does
not depend on the answer stage's own choices: for each question, is the highest-cosine sentence the one
holding the gold answer span (COVID-QA dev) or a gold evidence quote (the review's dev split)?
- within the gold passage (the first passage containing the span), and
- among the sentences of the top 5 passages of hybrid search.

- **alone**: every distinct sentence embedded by itself at build time (today's index);
- **pooled**: the token vectors of the passage's own forward pass ("heading. text", as indexed),
  mean-pooled over each sentence's tokens and normalised (sentences cut off by the 256-token limit
  are embedded alone);
- **lazy**: the same vectors as "alone", embedded on first use at question time: costs are the
  encoder time of the sentences of the ``candidate_k`` passages a question reads, per question.

Costs are CPU seconds of this process with the configured backend on one thread.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from corpora import covidqa_project, load_questions, review_project

from reviewqa.index import SearchIndex, build_index, load_index
from reviewqa.index.build_vectors import query_encoder
from reviewqa.index.embed import Encoder
from reviewqa.index.onnx_model import l2_normalise
from reviewqa.index.store import current_dir, retrieval_text
from reviewqa.models import Passage

log = logging.getLogger("bench_sentences")
TOP_PASSAGES = 5


@dataclass(frozen=True)
class Probe:
    question: str
    phrases: tuple[str, ...]  # gold span(s), as written


def phrase_spans(passage: Passage, phrases: Sequence[str]) -> list[tuple[int, int]]:
    """Document offsets of each phrase inside ``passage`` (case and whitespace ignored)."""
    spans = []
    for phrase in phrases:
        words = phrase.split()
        if not words:
            continue
        pattern = r"\s+".join(re.escape(w) for w in words)
        for match in re.finditer(pattern, passage.text, flags=re.IGNORECASE):
            spans.append((passage.start + match.start(), passage.start + match.end()))
    return spans


def gold_sentences(passage: Passage, spans: list[tuple[int, int]]) -> set[int]:
    return {
        i
        for i, s in enumerate(passage.sentences)
        if any(s.start < end and start < s.end for start, end in spans)
    }


class PooledVectors:
    """Sentence vectors pooled from each passage's forward pass (onnx backend)."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder
        self.fallback = 0
        self.seconds = 0.0

    def of(self, passage: Passage) -> np.ndarray:
        started = time.process_time()
        text = retrieval_text(passage)
        shift = len(text) - len(passage.text)  # the heading before the passage text
        encoding = self.encoder.onnx.tokenize([text])[0]
        hidden, _ = self.encoder.onnx.token_vectors([encoding])
        offsets = np.array(encoding.offsets)
        special = np.array(encoding.special_tokens_mask, dtype=bool)
        vectors = []
        for sentence in passage.sentences:
            start, end = sentence.start - passage.start + shift, sentence.end - passage.start + shift
            inside = (
                (~special)
                & (offsets[:, 0] >= start)
                & (offsets[:, 1] <= end)
                & (offsets[:, 1] > offsets[:, 0])
            )
            last_covered = offsets[~special][:, 1].max() if (~special).any() else 0
            if not inside.any() or last_covered < end - 1:  # truncated: embed alone
                self.fallback += 1
                vectors.append(self.encoder.encode([sentence.text])[0])
            else:
                vectors.append(l2_normalise(hidden[0][inside].mean(axis=0, keepdims=True))[0])
        self.seconds += time.process_time() - started
        return np.stack(vectors) if vectors else np.zeros((0, hidden.shape[-1]), np.float32)


def best_is_gold(
    query: np.ndarray, candidates: list[tuple[Passage, np.ndarray]], gold: dict[str, set[int]]
) -> bool:
    best, best_score = None, -2.0
    for passage, vectors in candidates:
        if len(vectors):
            scores = vectors @ query
            i = int(np.argmax(scores))
            if scores[i] > best_score:
                best, best_score = (passage.passage_id, i), float(scores[i])
    return best is not None and best[1] in gold.get(best[0], set())


def evaluate(index: SearchIndex, probes: list[Probe], pooled: PooledVectors) -> dict[str, dict[str, float]]:
    methods = {"alone": index.sentence_vectors_for, "pooled": pooled.of}
    hits: dict[str, dict[str, list[bool]]] = {m: {"gold passage": [], "top 5": []} for m in methods}
    for probe in probes:
        containing = [p for p in index.passages if phrase_spans(p, probe.phrases)]
        if not containing:
            continue
        query = index.embed_queries([probe.question])[0]
        ranked = [h.passage for h in index.search(probe.question, k=TOP_PASSAGES)]
        scope = {p.passage_id: p for p in [containing[0], *ranked]}
        gold = {pid: gold_sentences(p, phrase_spans(p, probe.phrases)) for pid, p in scope.items()}
        for name, vectors_of in methods.items():
            hits[name]["gold passage"].append(
                best_is_gold(query, [(containing[0], vectors_of(containing[0]))], gold)
            )
            hits[name]["top 5"].append(best_is_gold(query, [(p, vectors_of(p)) for p in ranked], gold))
    return {
        m: {scope: float(np.mean(v)) for scope, v in by.items()} | {"n": len(by["top 5"])}
        for m, by in hits.items()
    }


def review_eval(index: SearchIndex, pooled: PooledVectors) -> list[str]:
    """`reviewqa eval --split dev` on the review with each kind of sentence vectors (same index)."""
    from reviewqa.eval.gold import gold_path, load_gold
    from reviewqa.eval.report import headline_rows
    from reviewqa.eval.runner import run_eval

    questions = load_gold(gold_path(index.settings.eval_dir))
    summaries = {}
    for method, vectors_of in (("alone", index.sentence_vectors_for), ("pooled", pooled.of)):
        index.sentence_vectors_for = vectors_of  # type: ignore[method-assign]
        run = run_eval(index.settings, index, "dev", questions=questions, progress=False)
        summaries[method] = dict(headline_rows(run.summary))
    del index.sentence_vectors_for  # back to the method
    lines = ["`reviewqa eval --split dev` on the review", "", "| metric | alone | pooled |", "|---|---|---|"]
    for label, value in summaries["alone"].items():
        if "atency" in label or value is None:
            continue
        lines.append(f"| {label} | {value:.3f} | {summaries['pooled'][label]:.3f} |")
    return lines


def costs(index: SearchIndex, encoder: Encoder, probes: list[Probe], candidate_k: int) -> dict[str, float]:
    """CPU seconds: all passages, all distinct sentences, and per question the lazy sentences."""
    passages = index.passages
    sentences = list(dict.fromkeys(s.text for p in passages for s in p.sentences))
    started = time.process_time()
    encoder.encode([retrieval_text(p) for p in passages])
    passage_s = time.process_time() - started
    started = time.process_time()
    encoder.encode(sentences)
    sentence_s = time.process_time() - started
    sample = probes[:20]
    started = time.process_time()
    for probe in sample:
        hits = index.search(probe.question, k=candidate_k)
        encoder.encode([s.text for h in hits for s in h.passage.sentences])
    lazy_ms = 1000 * (time.process_time() - started) / max(len(sample), 1)
    return {
        "passages": len(passages),
        "distinct sentences": len(sentences),
        "passage CPU s": passage_s,
        "sentence CPU s": sentence_s,
        "lazy CPU ms per question (no cache)": lazy_ms,
    }


def covidqa_probes() -> list[Probe]:
    return [Probe(q.question, (q.answer,)) for q in load_questions("dev")]


def review_probes(eval_dir: Path) -> list[Probe]:
    from reviewqa.eval.gold import gold_path, load_gold

    return [
        Probe(q.question, tuple(q.evidence))
        for q in load_gold(gold_path(eval_dir))
        if q.answerable and q.split == "dev" and q.evidence
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "reviewqa-bench-build")
    parser.add_argument("--skip-costs", action="store_true", help="quality only (costs take minutes)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    lines = [f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}", ""]
    corpora = {
        "review dev": review_project(args.work_dir / "review"),
        "COVID-QA dev": covidqa_project(args.work_dir / "covidqa"),
    }
    lines += [
        "| corpus | method | questions | best sentence is gold: in gold passage | among top 5 |",
        "|---|---|---|---|---|",
    ]
    cost_lines: list[str] = []
    eval_lines: list[str] = []
    for name, settings in corpora.items():
        build_index(settings)
        index = load_index(settings)
        encoder = query_encoder(settings.replace(query_threads=1), current_dir(settings), index.manifest)
        probes = review_probes(settings.eval_dir) if name.startswith("review") else covidqa_probes()
        pooled = PooledVectors(encoder)
        for method, figures in evaluate(index, probes, pooled).items():
            lines.append(
                f"| {name} | {method} | {figures['n']} | {figures['gold passage']:.3f} "
                f"| {figures['top 5']:.3f} |"
            )
        if name.startswith("review"):
            eval_lines = review_eval(index, pooled)
        if not args.skip_costs:
            figures = costs(index, encoder, probes, settings.candidate_k)
            cost_lines.append(
                f"{name} ({encoder.backend}): " + ", ".join(f"{k} {v:,.1f}" for k, v in figures.items())
            )
        cost_lines.append(f"{name}: pooled sentences fell back to embedding alone {pooled.fallback} times")
    print("\n".join([*lines, "", *cost_lines, "", *eval_lines]))


if __name__ == "__main__":
    main()
