"""`reviewqa index`, `reviewqa search` and `reviewqa bench` (heavy imports happen inside the commands)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from reviewqa.settings import Settings

MODES = ("dense", "bm25", "hybrid")


@click.command("index")
@click.option("--force", is_flag=True, help="Rebuild even if the index is up to date.")
@click.pass_obj
def index_command(settings: Settings, force: bool) -> None:
    """Build the search index (ingesting the corpus first if needed)."""
    from reviewqa.index import build_index

    manifest = build_index(settings, force=force)
    counts = manifest["counts"]
    embedding = manifest.get("embedding") or {}
    embedded = sum(c["embedded"] for c in embedding.get("counts", {}).values())
    texts = sum(c["texts"] for c in embedding.get("counts", {}).values())
    click.echo(
        f"index ready at {settings.index_dir / 'current'}: {counts['passages']} passages, "
        f"{counts['sentences']} sentences, {counts['abbreviations']} abbreviations, "
        f"{manifest['dense']['kind']} dense index, model {manifest['model']['name']} "
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
@click.pass_obj
def search(settings: Settings, query: str, k: int, mode: str | None, as_json: bool) -> None:
    """Search passages: ranked with scores, section and cited works."""
    from reviewqa.index import load_index

    index = load_index(settings)
    hits = index.search(query, k=k, mode=mode or settings.search_mode)
    if as_json:
        rows = [
            {
                "rank": rank,
                "passage_id": hit.passage.passage_id,
                "document": hit.passage.document,
                "section": hit.passage.section_label,
                "page": hit.passage.page,
                "score": hit.score,
                "dense_score": hit.dense_score,
                "bm25_score": hit.bm25_score,
                "cited_works": hit.passage.cited_works,
                "work_key": hit.passage.work_key,
                "text": hit.passage.text,
            }
            for rank, hit in enumerate(hits, start=1)
        ]
        click.echo(
            json.dumps({"query": query, "expanded": index.expand_query(query), "hits": rows}, indent=2)
        )
        return
    if not hits:
        click.echo("no passages match")
    for rank, hit in enumerate(hits, start=1):
        scores = ", ".join(
            f"{name} {value:.3f}"
            for name, value in (("dense", hit.dense_score), ("bm25", hit.bm25_score))
            if value is not None
        )
        where = hit.passage.section_label or "(no section)"
        page = f", p. {hit.passage.page}" if hit.passage.page is not None else ""
        click.echo(f"{rank:>2}. {hit.score:.4f}  [{hit.passage.passage_id}] {where}{page}  ({scores})")
        if hit.passage.cited_works:
            click.echo(f"    cites: {'; '.join(hit.passage.cited_works)}")
        click.echo(f"    {_snippet(hit.passage.text)}")


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
