"""`reviewqa index`, `reviewqa search` and `reviewqa bench` (heavy imports happen inside the commands)."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import click

from reviewqa.client import choose_service, service_options
from reviewqa.settings import Settings

MODES = ("dense", "bm25", "hybrid")


@click.command("index")
@click.option("--force", is_flag=True, help="Rebuild even if the index is up to date.")
@click.pass_obj
def index_command(settings: Settings, force: bool) -> None:
    """Build the search index (ingesting the corpus first if needed)."""
    from reviewqa.answer.stats import DERIVED_WRITERS
    from reviewqa.corpus.cli import ingest_and_report
    from reviewqa.index import build_index

    up_to_date: list[bool] = []
    manifest = build_index(
        settings,
        force=force,
        derived_writers=DERIVED_WRITERS,
        # Ingesting when the corpus changed, with progress bars and the line saying what was read.
        ingest_corpus=partial(ingest_and_report, warn_keyless=False),
        on_up_to_date=lambda: up_to_date.append(True),
    )
    counts = manifest["counts"]
    contents = (
        f"{counts['passages']} passages, {counts['sentences']} sentences, "
        f"{counts['abbreviations']} abbreviations, {manifest['dense']['kind']} dense index, "
        f"model {manifest['model']['name']}"
    )
    where = settings.index_dir / "current"
    if up_to_date:
        # The manifest's embedding counts are those of the build that made it, not work done now.
        click.echo(f"index up to date at {where}: {contents} (built {manifest['built_at']})")
        return
    embedding = manifest.get("embedding") or {}
    embedded = sum(c["embedded"] for c in embedding.get("counts", {}).values())
    texts = sum(c["texts"] for c in embedding.get("counts", {}).values())
    click.echo(
        f"index ready at {where}: {contents} "
        f"({embedding.get('backend', 'torch')}; {embedded} of {texts} texts embedded, the rest cached) "
        f"(built {manifest['built_at']})"
    )


@click.command()
@click.argument("query")
@click.option(
    "--k", "k", default=10, show_default=True, type=click.IntRange(1, 1000), help="Passages to show."
)
@click.option("--mode", type=click.Choice(MODES), default=None, help="Default: the search_mode setting.")
@click.option("--json", "as_json", is_flag=True, help="Print the hits as JSON.")
@service_options
@click.pass_obj
def search(
    settings: Settings, query: str, k: int, mode: str | None, as_json: bool, url: str | None, local: bool
) -> None:
    """Search passages: ranked with scores, section and cited works.

    A running `reviewqa serve` answers when it is up; otherwise the index is loaded here (BM25 alone needs
    no model). A note on stderr says which answered.
    """
    mode = mode or settings.search_mode
    choice = choose_service(settings, url, local, top_k=("--k", k))
    click.echo(choice.note, err=True)
    if choice.client is not None:
        found = choice.client.search(query, k, mode)
        expanded, rows = found["expanded"], [_row(rank, hit) for rank, hit in enumerate(found["results"], 1)]
    else:
        from reviewqa.index import load_index
        from reviewqa.service.views import hit_view

        # The FAISS index and the model are loaded only for a search that uses them.
        index = load_index(settings, lazy_dense=mode == "bm25")
        hits = index.search(query, k=k, mode=mode)
        expanded = index.expand_query(query)
        rows = [_row(rank, hit_view(hit)) for rank, hit in enumerate(hits, start=1)]
    if as_json:
        click.echo(json.dumps({"query": query, "expanded": expanded, "hits": rows}, indent=2))
        return
    if not rows:
        click.echo("no passages match")
    for row in rows:
        scores = ", ".join(
            f"{name} {row[name + '_score']:.3f}"
            for name in ("dense", "bm25")
            if row[name + "_score"] is not None
        )
        where = row["section"] or "(no section)"
        page = f", p. {row['page']}" if row["page"] is not None else ""
        click.echo(f"{row['rank']:>2}. {row['score']:.4f}  [{row['passage_id']}] {where}{page}  ({scores})")
        if row["cited_works"]:
            click.echo(f"    cites: {'; '.join(row['cited_works'])}")
        click.echo(f"    {_snippet(row['text'])}")


ROW_FIELDS = (
    "passage_id", "document", "section", "page", "score", "dense_score", "bm25_score", "cited_works",
    "work_key", "text",
)  # fmt: skip


def _row(rank: int, hit: dict[str, Any]) -> dict[str, Any]:
    """A hit as `search --json` prints it, from the API's search results (``hit_view``)."""
    return {"rank": rank, **{name: hit[name] for name in ROW_FIELDS}}


def _snippet(text: str, width: int = 240) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


@click.group()
def bench() -> None:
    """Benchmarks that print their figures."""


@bench.command("beir")
@click.argument("dataset", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--split", default="test", show_default=True)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where document embeddings are cached between runs (default: a folder in the system temp dir).",
)
@click.option(
    "--fusion", "fusions", multiple=True, help="Also report hybrid with these fusions (rrf, weighted)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.pass_obj
def beir_command(
    settings: Settings,
    dataset: Path,
    split: str,
    cache_dir: Path | None,
    fusions: tuple[str, ...],
    as_json: bool,
) -> None:
    """nDCG@10 and Recall@100 of dense, BM25 and hybrid search on a BEIR dataset (e.g. SciFact)."""
    from reviewqa.index.beir import format_table, run_beir

    report = run_beir(settings, dataset, split=split, cache_dir=cache_dir, fusions=fusions)
    click.echo(json.dumps(report, indent=2) if as_json else format_table(report))


@bench.command("review")
@click.option("--split", default="all", show_default=True, help="Gold split: dev, test or all.")
@click.option(
    "--fusion", "fusions", multiple=True, help="Also report hybrid with these fusions (rrf, weighted)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.pass_obj
def review_command(settings: Settings, split: str, fusions: tuple[str, ...], as_json: bool) -> None:
    """Passage retrieval on the review: do the gold questions' evidence passages rank high?"""
    from reviewqa.index import load_index
    from reviewqa.index.review_bench import format_review_table, run_review_bench, split_names

    index = load_index(settings)
    report = run_review_bench(index, settings.eval_dir / "gold.jsonl", split_names(split), fusions)
    click.echo(json.dumps(report, indent=2) if as_json else format_review_table(report))


@bench.command("covidqa")
@click.argument("dataset", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--split", type=click.Choice(["train", "dev"]), default="dev", show_default=True)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the benchmark's corpus, index and vectors are kept between runs "
    "(default: a folder in the system temp dir).",
)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N questions.")
@click.option("--baselines/--no-baselines", default=True, help="Also run the simple baselines.")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write the figures as JSON."
)
@click.option("--progress/--no-progress", default=True)
@click.pass_obj
def covidqa_command(
    settings: Settings,
    dataset: Path,
    split: str,
    cache_dir: Path | None,
    limit: int | None,
    baselines: bool,
    out: Path | None,
    progress: bool,
) -> None:
    """COVID-QA: answer every question of SPLIT over all train+dev articles, beside simple baselines."""
    import tempfile

    from reviewqa.answer.stats import DERIVED_WRITERS
    from reviewqa.eval.covidqa import format_report, run_covidqa

    cache_dir = cache_dir or Path(tempfile.gettempdir()) / "reviewqa-bench-cache"
    report = run_covidqa(
        settings,
        dataset,
        split=split,
        cache_dir=cache_dir,
        limit=limit,
        baselines=baselines,
        derived_writers=DERIVED_WRITERS,
        progress=progress,
    )
    click.echo(format_report(report))
    if out is not None:
        out.write_text(json.dumps(report, indent=2), encoding="utf-8")
        click.echo(f"figures written to {out}")
