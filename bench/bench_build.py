"""Index build of COVID-QA train+dev (124 articles) from scratch, then after changing one article.

    .venv/bin/python bench/bench_build.py [--work-dir DIR] [--backend onnx-int8|torch] [--workers N]

From scratch: the project's index folder (ingested passages, vector cache, builds) is deleted first, so
everything is ingested and embedded; the int8 model export is a once-per-install cost, reported apart
if this run had to do it. Then one article gets a new paragraph in its middle and ``build_index`` runs
again: only the passages and sentences whose text changed are embedded, the rest come from the cache.
Restoring the article and building once more shows that the previous build's vectors are kept.
Each row prints wall and CPU seconds (this process and its reaped children, i.e. the embedding pool) and
what was embedded, read from the manifest; the load average is printed beside, since the machine is
shared (goals: <= 8 min from scratch and <= 30 s for the rebuild, on 2 quiet cores).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from corpora import covidqa_project
from measure import cpu_seconds, load_average

from reviewqa.answer.stats import DERIVED_WRITERS
from reviewqa.index import build_index
from reviewqa.index.build_vectors import onnx_cache_dir
from reviewqa.index.embed import cores
from reviewqa.index.onnx_model import export_key

PROJECT = "covidqa"  # bench_sentences.py reuses the index in the same --work-dir
EDITED = "covidqa-2669.txt"
NEW_PARAGRAPH = (
    "A later note: the authors add that the pipeline of translational research was reviewed again in "
    "2021, with the same conclusions on funding."
)


def timed_build(settings: Any, force: bool) -> tuple[float, float, dict[str, Any], str]:
    before = load_average()
    wall, cpu = time.perf_counter(), cpu_seconds()
    manifest = build_index(settings, force=force, derived_writers=DERIVED_WRITERS)  # as `reviewqa index`
    return time.perf_counter() - wall, cpu_seconds() - cpu, manifest, f"{before} -> {load_average()}"


def edit_article(path: Path) -> str:
    """Insert a paragraph in the middle of the article (between two paragraphs); returns the original."""
    text = path.read_text(encoding="utf-8")
    middle = text.find("\n\n", len(text) // 2)
    middle = middle if middle >= 0 else len(text)
    path.write_text(f"{text[:middle]}\n\n{NEW_PARAGRAPH}{text[middle:]}", encoding="utf-8")
    return text


def row(label: str, wall: float, cpu: float, manifest: dict[str, Any], loads: str) -> str:
    counts = manifest["embedding"]["counts"]
    embedded = ", ".join(f"{c['embedded']:,} of {c['texts']:,} {what}" for what, c in counts.items())
    return f"| {label} | {wall:.1f} | {cpu:.1f} | {embedded} | {loads} |"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "reviewqa-bench-build")
    parser.add_argument("--backend", default=None, help="embed_backend (default: the setting)")
    parser.add_argument("--workers", type=int, default=0, help="embed_workers (default: one per core)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    root = args.work_dir / PROJECT
    shutil.rmtree(root, ignore_errors=True)
    settings = covidqa_project(root, embed_backend=args.backend, embed_workers=args.workers)
    lines = []
    if settings.embed_backend == "onnx-int8":
        exported = (onnx_cache_dir(settings) / export_key(settings.model_path)).is_dir()
        if not exported:
            from reviewqa.index.build_vectors import build_encoder

            wall, cpu = time.perf_counter(), cpu_seconds()
            build_encoder(settings)
            lines.append(
                f"int8 model exported first (once per install): {time.perf_counter() - wall:.1f} s wall, "
                f"{cpu_seconds() - cpu:.1f} s CPU"
            )
    scratch = timed_build(settings, force=True)
    original = edit_article(settings.documents_dir / EDITED)
    rebuild = timed_build(settings, force=False)
    (settings.documents_dir / EDITED).write_text(original, encoding="utf-8")
    restored = timed_build(settings, force=False)
    unchanged = timed_build(settings, force=False)
    manifest = scratch[2]
    lines += [
        f"COVID-QA train+dev: {manifest['counts']['documents']} articles, {manifest['counts']['passages']:,} "
        f"passages, {manifest['counts']['sentences']:,} sentences; backend {settings.embed_backend}, "
        f"{settings.embed_workers or cores()} workers on {cores()} cores",
        "",
        "| build | wall s | CPU s | embedded | load average before -> after |",
        "|---|---|---|---|---|",
        row("from scratch (ingest + embed + index)", *scratch),
        row(f"after adding a paragraph to {EDITED}", *rebuild),
        row("after restoring it (its vectors are still cached)", *restored),
        f"| up to date (no-op check) | {unchanged[0]:.1f} | {unchanged[1]:.1f} | – | {unchanged[3]} |",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
