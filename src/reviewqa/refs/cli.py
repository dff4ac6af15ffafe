"""`reviewqa refs ...`: the bibliography and the cited source papers."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from reviewqa.settings import Settings


@click.group()
def refs() -> None:
    """The bibliography and cited source papers."""


@refs.command("seed")
@click.option(
    "--from",
    "seed_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Annotated reference list (default: ../shared/references/references.tsv if present, "
    "else the keys the corpus cites, with blank fields).",
)
@click.option("--keep-unverified", is_flag=True, help="Keep DOIs/PMIDs the seed marks as recalled (R[...]).")
@click.option("--force", is_flag=True, help="Replace corpus/references.tsv even if it differs.")
@click.pass_obj
def seed_command(settings: Settings, seed_path: Path | None, keep_unverified: bool, force: bool) -> None:
    """Write corpus/references.tsv from the annotated reference list (or the cited keys alone)."""
    from reviewqa.refs.bibliography import BibliographyError, format_bibliography, write_bibliography
    from reviewqa.refs.seed import DEFAULT_SEED_PATH, default_seed, read_seed

    if seed_path is not None:
        result = read_seed(seed_path, keep_unverified=keep_unverified)
    else:
        result = default_seed(settings, keep_unverified=keep_unverified)
    if result.keys_only:
        click.echo(f"no seed list at {DEFAULT_SEED_PATH}: one row per cited key, other fields blank")
    target = settings.references_path
    new_text = format_bibliography(result.works)
    if target.exists() and target.read_text(encoding="utf-8") != new_text and not force:
        raise BibliographyError(f"{target} exists and differs from the seed; pass --force to replace it")
    write_bibliography(target, result.works)
    blanked = sum(len(fields) for fields in result.blanked.values())
    click.echo(f"wrote {len(result.works)} rows to {target}")
    if blanked:
        click.echo(f"left {blanked} unverified DOI/PMID values blank in {len(result.blanked)} rows")


@refs.command("check")
@click.option("--ingest", "ingest_first", is_flag=True, help="Re-read the corpus before checking.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def check_command(settings: Settings, ingest_first: bool, as_json: bool) -> None:
    """Report cited keys missing from references.tsv (and from the parsed reference lists), rows never
    cited, and per document the citations its own reference list does not resolve (exit 1 if any)."""
    from reviewqa.refs.check import check_bibliography

    report = check_bibliography(settings, ingest_first=ingest_first)
    if as_json:
        click.echo(json.dumps(asdict(report), indent=2, ensure_ascii=False))
    else:
        click.echo(f"{len(report.cited)} works cited in the corpus")
        _echo_list("cited but missing from references.tsv", report.missing_from_bibliography)
        _echo_list("in references.tsv but never cited", report.never_cited)
        for document, citations in sorted(report.unresolved_by_document.items()):
            _echo_list(f"{document}: citations its reference list does not resolve", citations)
        if report.ok:
            click.echo("the bibliography and the citations agree")
    if not report.ok:
        raise SystemExit(1)


@refs.command("match")
@click.option("--force", is_flag=True, help="Re-match files already linked in documents.toml.")
@click.option("--dry-run", is_flag=True, help="Report matches without writing documents.toml.")
@click.pass_obj
def match_command(settings: Settings, force: bool, dry_run: bool) -> None:
    """Link the files in corpus/documents/sources/ to bibliography rows (DOI, title, file name)."""
    from reviewqa.refs.match import match_sources

    report = match_sources(settings, force=force, write=not dry_run)
    for match in report.matched:
        click.echo(f"matched   {match.path} -> {match.key} ({match.method}: {match.detail})")
    for item in report.unmatched:
        click.echo(f"UNMATCHED {item.path}: {item.reason}")
    for key, paths in report.keys_with_several_files().items():
        click.echo(f"note: {key} has several files: {', '.join(paths)}")
    if not report.matched and not report.unmatched:
        click.echo(f"no .pdf or .txt files in {settings.documents_dir / 'sources'}")
    verb = "would record" if dry_run else "recorded"
    new = sum(1 for m in report.matched if m.method != "existing")
    click.echo(
        f"{len(report.matched)} matched ({new} {verb} in documents.toml), {len(report.unmatched)} unmatched"
    )
    if new and not dry_run:
        click.echo("run `reviewqa index` to index the new sources")


@refs.command("fetch")
@click.option("--force", is_flag=True, help="Replace files fetched before and fetch keys that have a source.")
@click.option("--key", "keys", multiple=True, help="Only this bibliography key (repeatable).")
@click.pass_obj
def fetch_command(settings: Settings, force: bool, keys: tuple[str, ...]) -> None:
    """Download open abstracts and full texts from Europe PMC into corpus/documents/sources/."""
    from reviewqa.refs.fetch import fetch_sources

    report = fetch_sources(settings, force=force, keys=list(keys) or None)
    for outcome, items in sorted(report.by_outcome().items()):
        click.echo(f"{outcome}: {len(items)}")
        for item in items:
            where = f" -> {item.path}" if item.path else ""
            click.echo(f"  {item.key}{where}" + (f" ({item.detail})" if item.detail else ""))
    if report.without_identifier:
        click.echo(
            f"no DOI or PMID: {len(report.without_identifier)} ({', '.join(report.without_identifier)})"
        )
    if report.not_attempted:
        why = "the run's time limit (fetch_run_timeout_s)" if report.deadline_reached else "repeated failures"
        click.echo(f"not attempted after {why}: {len(report.not_attempted)}")
    written = sum(1 for o in report.outcomes if o.path)
    click.echo(
        f"{written} source texts written; run `reviewqa index` to index them"
        if written
        else "nothing written"
    )
    if report.failed:
        raise click.ClickException(f"{len(report.failed)} request(s) failed; run again later")


def _echo_list(title: str, keys: list[str]) -> None:
    click.echo(f"{title}: {len(keys)}")
    for key in keys:
        click.echo(f"  {key}")
