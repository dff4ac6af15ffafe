"""How the corpus stage reads the COVID-QA (CORD-19) articles: sections, headings, tiny sentences.

    .venv/bin/python bench/bench_cord19_text.py [--articles ../shared/benchmarks/covidqa/articles.jsonl]
        [--show-headings]

Writes every train+dev article as a .txt file into a temporary corpus, ingests it with the project's
settings, and prints: passages without a section (and with only the front matter's generic section),
headings that are no headings (front-matter lines, URLs, running heads with "|" or "www.", "Page 3 of 9",
number-heavy table rows), sentences of three words or fewer, and whether front-matter lines reached the
sentence text. Nothing is asserted; the figures are for before/after comparisons of cleaning rules.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

from reviewqa.corpus import ingest, load_passages
from reviewqa.corpus.ingest import load_documents
from reviewqa.settings import PROJECT_ROOT, Settings

DEFAULT_ARTICLES = PROJECT_ROOT.parent / "shared" / "benchmarks" / "covidqa" / "articles.jsonl"
HEADER_LINE_RE = re.compile(r"^(?:SHA|Authors?|Date|DOI|License|Licence|URL)\s*:", re.IGNORECASE)
URL_RE = re.compile(r"https?://|www\.|doi\.org", re.IGNORECASE)
PAGE_RE = re.compile(r"\bpage\s+\d+\s+of\s+\d+\b", re.IGNORECASE)
NUMBER_TOKEN_RE = re.compile(r"^[\d.,%±()\-–+<>=/]+$")


def spurious_reason(heading: str) -> str | None:
    """Why a detected heading is no section heading, or None when it looks like one."""
    if HEADER_LINE_RE.match(heading):
        return "front matter"
    if URL_RE.search(heading) or "|" in heading:
        return "running head / URL"
    if PAGE_RE.search(heading):
        return "page number"
    tokens = heading.split()
    if len(tokens) >= 3 and sum(bool(NUMBER_TOKEN_RE.match(t)) for t in tokens) >= len(tokens) / 2:
        return "table row"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=Path, default=DEFAULT_ARTICLES)
    parser.add_argument("--show-headings", action="store_true", help="print every spurious heading")
    args = parser.parse_args()
    if not args.articles.exists():
        sys.exit(f"{args.articles} not found")
    rows = [json.loads(line) for line in args.articles.read_text(encoding="utf-8").splitlines() if line]
    headers = {
        row["document"]: [line for line in row["text"].split("\n")[:12] if line.strip()] for row in rows
    }
    with tempfile.TemporaryDirectory(prefix="bench-cord19-") as tmp:
        root = Path(tmp)
        settings = Settings.load(corpus_dir=root / "corpus", index_dir=root / "index", eval_dir=root / "eval")
        settings.documents_dir.mkdir(parents=True)
        for row in rows:
            (settings.documents_dir / f"{row['document']}.txt").write_text(row["text"], encoding="utf-8")
        started = time.process_time()
        result = ingest(settings)
        cpu = time.process_time() - started
        passages = load_passages(settings)
        documents = load_documents(settings)
    no_section = sum(1 for p in passages if not p.section)
    generic = sum(1 for p in passages if p.section and p.section[-1] == "Main text")
    headings = [path[-1] for d in documents for path in d["sections"]]
    reasons: dict[str, list[str]] = {}
    for heading in headings:
        reason = spurious_reason(heading)
        if reason:
            reasons.setdefault(reason, []).append(heading)
    sentences = {(p.document, s.start): s.text for p in passages for s in p.sentences}
    tiny = [text for text in sentences.values() if len(text.split()) <= 3]
    header_lines = {
        line.strip() for lines in headers.values() for line in lines if HEADER_LINE_RE.match(line)
    }
    leaked = sum(1 for text in sentences.values() if any(line in text for line in header_lines))
    print(f"articles: {len(rows)}  ({result.summary()})  ingest CPU {cpu:.1f} s")
    print(f"passages: {len(passages)}")
    print(f"  without a section: {no_section}")
    print(f"  only the front matter's 'Main text' section: {generic}")
    print(f"headings found: {len(headings)}, spurious: {sum(len(v) for v in reasons.values())}")
    for reason, items in sorted(reasons.items()):
        print(f"  {reason}: {len(items)}")
    print(f"sentences: {len(sentences)}, of three words or fewer: {len(tiny)}")
    print(f"sentences holding a front-matter line (SHA/Authors/Date/DOI/License): {leaked}")
    titled = sum(1 for d in documents if d["title"] and not d["title"].startswith("covidqa-"))
    print(f"documents with a title from their text: {titled}/{len(documents)}")
    if args.show_headings:
        for reason, items in sorted(reasons.items()):
            for heading in items:
                print(f"[{reason}] {heading}")
        print("tiny sentences:")
        for text in tiny:
            print(f"  {text!r}")


if __name__ == "__main__":
    main()
