"""Reading the publisher PDFs of ../shared/corpora/oa-pdfs: the per-PDF report and time per page.

    .venv/bin/python bench/bench_pdfs.py [--pdfs ../shared/corpora/oa-pdfs] [--no-ocr]

Copies the PDFs into a temporary corpus, ingests them, prints the table of `reviewqa ingest --report`
(checked against the folder's MANIFEST.tsv), then the ingest time: wall and CPU seconds, per page, for the
PDFs with a text layer, and separately for the image-only one read through OCR (when ocrmypdf is installed).
The 1-minute load average is printed beside the figures (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from measure import children_cpu

from reviewqa.corpus import ingest, load_documents, load_passages
from reviewqa.corpus.report import format_rows, pdf_rows, read_manifest
from reviewqa.settings import PROJECT_ROOT, Settings

DEFAULT_PDFS = PROJECT_ROOT.parent / "shared" / "corpora" / "oa-pdfs"


def timed_ingest(root: Path, files: list[Path]) -> tuple[Settings, float, float]:
    settings = Settings.load(corpus_dir=root / "corpus", index_dir=root / "index", eval_dir=root / "eval")
    settings.documents_dir.mkdir(parents=True)
    for path in files:
        shutil.copy(path, settings.documents_dir / path.name)
    wall, cpu, child = time.perf_counter(), time.process_time(), children_cpu()
    ingest(settings)
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu + children_cpu() - child  # OCR runs in child processes
    return settings, wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdfs", type=Path, default=DEFAULT_PDFS)
    parser.add_argument("--no-ocr", action="store_true", help="leave out the image-only PDF")
    args = parser.parse_args()
    pdfs = sorted(args.pdfs.glob("*.pdf"))
    manifest = read_manifest(args.pdfs / "MANIFEST.tsv")
    with_text = [p for p in pdfs if manifest.get(p.name, {}).get("has_text_layer", "yes") != "no"]
    image_only = [p for p in pdfs if p not in with_text]
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="bench-pdfs-") as tmp:
        settings, wall, cpu = timed_ingest(Path(tmp) / "text", with_text)
        rows = pdf_rows(load_documents(settings), load_passages(settings), settings.documents_dir, manifest)
        print(format_rows(rows))
        total_pages = sum(row.pages for row in rows)
        print(
            f"\n{len(with_text)} PDFs with a text layer, {total_pages} pages: {wall:.1f} s wall, "
            f"{cpu:.1f} s CPU, "
            f"{1000 * wall / total_pages:.0f} ms wall and {1000 * cpu / total_pages:.0f} ms CPU per page"
        )
        if image_only and not args.no_ocr:
            settings, wall, cpu = timed_ingest(Path(tmp) / "ocr", image_only)
            rows = pdf_rows(
                load_documents(settings), load_passages(settings), settings.documents_dir, manifest
            )
            print(format_rows(rows))
            ocr_pages = sum(row.pages for row in rows) or 1
            print(
                f"image-only PDF through OCR, {ocr_pages} pages: {wall:.1f} s wall, "
                f"{cpu:.1f} s CPU (with OCR), "
                f"{wall / ocr_pages:.1f} s wall per page"
            )
    print(f"load average after: {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()})")


if __name__ == "__main__":
    main()
