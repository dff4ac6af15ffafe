"""Word repair of PDF text (reviewqa.corpus.words), with and without the wordfreq English word list.

    .venv/bin/python bench/bench_pdf_words.py [--pdfs ../shared/corpora/oa-pdfs]

For each PDF whose extraction lost spaces or split words, prints over its cleaned text: tokens of 20 or more
letters (words run together), stray fragments (one- or two-letter lower-case tokens that are no English
word: "ha v e"), and the share of words (3+ letters) found in the English word list. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

from reviewqa.corpus import words
from reviewqa.corpus.cleaning import clean_layout
from reviewqa.corpus.publisher_pdf import prepare_pdf
from reviewqa.corpus.readers import read_pdf_file
from reviewqa.settings import PROJECT_ROOT

DEFAULT_PDFS = PROJECT_ROOT.parent / "shared" / "corpora" / "oa-pdfs"
WORD_RE = re.compile(r"[^\W\d_]+")


def measure(text: str, zipf) -> tuple[int, int, float]:
    tokens = WORD_RE.findall(text)
    long_runs = sum(1 for t in tokens if len(t) >= 20)
    fragments = sum(1 for t in tokens if len(t) <= 2 and t.islower() and t not in words.SHORT_WORDS)
    longer = [t for t in tokens if len(t) >= 3]
    known = sum(1 for t in longer if zipf(t.casefold()) >= words.MIN_KNOWN_ZIPF) / max(1, len(longer))
    return long_runs, fragments, known


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdfs", type=Path, default=DEFAULT_PDFS)
    args = parser.parse_args()
    zipf = words.english_zipf()
    print("| file | repair | words of 20+ letters | stray fragments | known words | CPU s |")
    print("|---|---|---|---|---|---|")
    for path in sorted(args.pdfs.glob("*.pdf")):
        raw = read_pdf_file(path)
        if raw.layout is None:
            continue
        for label, english in (
            ("none", None),
            ("document only", lambda w: 0.0),
            ("document + wordfreq", zipf),
        ):
            raw = read_pdf_file(path)
            started = time.process_time()
            if label == "none":
                original = words.WordRepair.repair_line
                words.WordRepair.repair_line = lambda self, line: line  # type: ignore[method-assign]
            saved = words.english_zipf
            if english is not None:
                words.english_zipf = lambda english=english: english  # type: ignore[assignment]
            try:
                cleaned = clean_layout(prepare_pdf(raw.layout, raw.metadata).pages)  # type: ignore[arg-type]
            finally:
                words.english_zipf = saved
                if label == "none":
                    words.WordRepair.repair_line = original  # type: ignore[method-assign]
            cpu = time.process_time() - started
            long_runs, fragments, known = measure(cleaned.text, zipf)
            print(f"| {path.name[:40]} | {label} | {long_runs} | {fragments} | {known:.3f} | {cpu:.2f} |")


if __name__ == "__main__":
    main()
