"""Adding one PDF to a large collection embeds only that PDF's texts.

The base collection is the COVID-QA train and dev articles, written as .txt documents (about 7,000
passages); it is built once and kept under --cache. Each run copies it, adds the PDF (default: Vedovato 2024,
Diabetologia, from ../shared/corpora/oa-pdfs) as an upload job does (the PDF read and checked alone, then
ingest and a new build), and prints what was read, ingested and embedded, per kind, from the new build's
manifest, with the wall and CPU time of each stage and the load average.

    nice .venv/bin/python bench/bench_incremental.py
    nice .venv/bin/python bench/bench_incremental.py --pdf path/to/other.pdf --cache /tmp/incremental
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from corpora import COVIDQA_DIR, write_corpus  # bench/corpora.py: COVID-QA articles as .txt documents
from measure import cpu_seconds, load_average

from reviewqa.answer.stats import DERIVED_WRITERS
from reviewqa.corpus.ingest import check_document, document_id
from reviewqa.index import build_index
from reviewqa.index.store import current_build
from reviewqa.settings import PROJECT_ROOT, Settings

COVIDQA_ARTICLES = COVIDQA_DIR / "articles.jsonl"
OA_PDFS = PROJECT_ROOT.parent / "shared" / "corpora" / "oa-pdfs"
DEFAULT_PDF = OA_PDFS / "standalone_Vedovato2024_Diabetologia_KCNJ11-LoF-diabetes.pdf"
DEFAULT_CACHE = Path("/work/cache/collections/incremental")


def project(root: Path) -> Settings:
    return Settings.load(corpus_dir=root / "corpus", index_dir=root / "index", eval_dir=root / "eval")


@contextmanager
def timed(label: str, times: dict[str, tuple[float, float]]) -> Iterator[None]:
    wall, cpu = time.perf_counter(), cpu_seconds()
    yield
    times[label] = (time.perf_counter() - wall, cpu_seconds() - cpu)


class StageClock:
    """The wall time of each stage of a build, from its progress calls."""

    def __init__(self) -> None:
        self.started: dict[str, float] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        self.started.setdefault(stage, time.perf_counter())

    def durations(self, end: float) -> dict[str, float]:
        stages = sorted(self.started.items(), key=lambda item: item[1])
        ends = [start for _, start in stages[1:]] + [end]
        return {stage: finish - start for (stage, start), finish in zip(stages, ends, strict=True)}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pdf", type=Path, default=DEFAULT_PDF)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="Where the base build is kept.")
    args = parser.parse_args()
    for needed in (COVIDQA_ARTICLES, args.pdf):
        if not needed.is_file():
            print(f"skipped: {needed} is absent")
            return 0

    base = project(args.cache / "base")
    if not base.documents_dir.is_dir():
        print(f"writing the COVID-QA train and dev articles: {write_corpus(base)} documents")
    times: dict[str, tuple[float, float]] = {}
    print(f"load average before: {load_average()}")
    with timed("base build (skipped when cached)", times):
        manifest = build_index(base, derived_writers=DERIVED_WRITERS)
    print(f"base: {manifest['counts']['documents']} documents, {manifest['counts']['passages']:,} passages, "
          f"{manifest['counts']['sentences']:,} sentences (build {current_build(base).name})")  # fmt: skip

    work_root = args.cache / "work"
    shutil.rmtree(work_root, ignore_errors=True)
    shutil.copytree(args.cache / "base", work_root, symlinks=True)
    work = project(work_root)
    name = args.pdf.name
    pages: list[int] = []
    with timed("reading and checking the PDF alone", times):
        passages = check_document(work, args.pdf, name, on_page=lambda done, total: pages.append(total))
    shutil.copy(args.pdf, work.documents_dir / name)
    clock = StageClock()
    with timed("ingest and build", times):
        added = build_index(work, progress=clock, derived_writers=DERIVED_WRITERS)
    stage_times = clock.durations(time.perf_counter())
    print(f"load average after: {load_average()}")

    doc_id = document_id(name)
    build = current_build(work)
    own_passages = sum(
        json.loads(line)["document"] == doc_id for line in (build / "passages.jsonl").open(encoding="utf-8")
    )
    own_sentences = {
        json.loads(line)["text"]
        for line in (build / "sentences.jsonl").open(encoding="utf-8")
        if json.loads(line)["document"] == doc_id
    }
    counts = added["counts"]
    print(f"\nadded {name}: {pages[-1] if pages else '?'} pages, {passages} passages; the collection now has "
          f"{counts['passages']:,} passages, {counts['sentences']:,} sentences")  # fmt: skip
    print(f"the PDF's own texts: {own_passages} passages, {len(own_sentences)} distinct sentences")
    embedding = added.get("embedding", {}).get("counts")
    if embedding:
        for kind, count in embedding.items():
            print(f"  {kind:<10} {count['embedded']:>6,} embedded of {count['texts']:>7,}")
        embedded = sum(count["embedded"] for count in embedding.values())
        print(f"  total      {embedded:>6,} embedded; the PDF's own: {own_passages + len(own_sentences):,}")
    else:
        print("  this build's manifest does not count embedded texts (no vector cache): it embedded all "
              f"{added['counts']['passages'] + added['counts']['sentences']:,}")  # fmt: skip
    print("\n| step | wall s | CPU s |\n|---|---|---|")
    for label, (wall, cpu) in times.items():
        print(f"| {label} | {wall:.1f} | {cpu:.1f} |")
    for stage, seconds in stage_times.items():
        print(f"| &nbsp; {stage} | {seconds:.1f} | |")
    if pages:
        reading_wall, reading_cpu = times["reading and checking the PDF alone"]
        print(f"\nreading: {1000 * reading_wall / pages[-1]:.0f} ms wall, "
              f"{1000 * reading_cpu / pages[-1]:.0f} ms CPU per page")  # fmt: skip
    if embedding and stage_times.get("embedding"):
        per_text = 1000 * stage_times["embedding"] / max(1, sum(c["embedded"] for c in embedding.values()))
        print(f"embedding: {per_text:.1f} ms wall per text embedded (setup included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
