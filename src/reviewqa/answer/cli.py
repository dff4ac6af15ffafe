"""`reviewqa ask`: answer one question from the command line."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import click

from reviewqa.client import Answerer, choose_service, service_options
from reviewqa.models import Answer, Citation
from reviewqa.settings import Settings

WRAP = 100


@click.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the Answer as JSON.")
@click.option(
    "--top-k", type=click.IntRange(min=1), default=None, help="How many retrieved passages to list."
)
@service_options
@click.pass_obj
def ask(
    settings: Settings, question: str, as_json: bool, top_k: int | None, url: str | None, local: bool
) -> None:
    """Answer QUESTION from the indexed documents, with citations.

    A running `reviewqa serve` answers in milliseconds; without one, the index and the model are loaded
    here (seconds). A note on stderr says which answered.
    """
    choice = choose_service(settings, url, local, top_k=("--top-k", top_k))
    click.echo(choice.note, err=True)
    result = Answerer(settings, choice, top_k)(question)
    click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2) if as_json else render(result))


def render(result: Answer) -> str:
    """The answer for a terminal: text, numbered citations with their quotes, then the closest passages."""
    lines = [textwrap.fill(result.answer, WRAP), ""]
    if result.citations:
        lines.append("Citations:")
    for citation in result.citations:
        where = f"{citation.title}, {citation.section}" if citation.section else citation.title
        if citation.page is not None:
            where += f", p. {citation.page}"
        lines.append(f"[{citation.marker}] {where} ({citation.passage_id})")
        if citation.document_kind == "source":
            lines.append("    " + source_label(citation))
        lines.append(
            textwrap.fill(
                f'"{" ".join(citation.quote.split())}"', WRAP, initial_indent="    ", subsequent_indent="    "
            )
        )
        for work in citation.cited_works:
            ident = (work.doi and f"doi:{work.doi}") or (work.pmid and f"PMID {work.pmid}") or work.url or ""
            lines.append(f"    cites: {work.key}" + (f" ({ident})" if ident else ""))
    if result.abstained and result.passages:
        lines.append("Closest passages:")
        for rank, passage in enumerate(result.passages, start=1):
            snippet = textwrap.shorten(" ".join(passage.text.split()), 160)
            lines.append(f"  {rank}. {passage.passage_id} [{passage.section}] {snippet}")
    lines.append(f"confidence {result.confidence:.2f}; {result.timings_ms.get('total', 0):.0f} ms")
    return "\n".join(lines)


def source_label(citation: Citation) -> str:
    """Which cited work a quote from a source paper belongs to, or that the file was never linked to one."""
    if citation.work_key:
        return f"from the source paper of {citation.work_key}"
    return "from a source paper without a bibliography key (run `reviewqa refs match`)"


@click.command()
@click.option(
    "--covidqa",
    "covidqa_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=Path("../shared/benchmarks/covidqa"),
    show_default=True,
    help="The COVID-QA benchmark folder (its train split trains the ranker, its dev split calibrates).",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the COVID-QA index is kept between runs (as for `reviewqa bench covidqa`).",
)
@click.option("--kind", type=click.Choice(["lightgbm", "logistic"]), default="lightgbm", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to write ranker.json and confidence.json (default: the package's answer/models/).",
)
@click.pass_obj
def train(
    settings: Settings, covidqa_dir: Path, cache_dir: Path | None, kind: str, seed: int, out_dir: Path | None
) -> None:
    """Train the answer ranker and fit the confidence model (train and dev splits only)."""
    import tempfile

    from reviewqa.answer.training_run import run_training

    cache_dir = cache_dir or Path(tempfile.gettempdir()) / "reviewqa-bench-cache"
    summary = run_training(settings, covidqa_dir, cache_dir, kind=kind, seed=seed, out_dir=out_dir)
    click.echo(json.dumps(summary, indent=2))
