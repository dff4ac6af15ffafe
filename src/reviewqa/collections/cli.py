"""`reviewqa collections`: the collections, their documents, index state and latest job."""

from __future__ import annotations

import json

import click

from reviewqa.settings import Settings


@click.command("collections")
@click.option("--json", "as_json", is_flag=True, help="Print the collections as JSON.")
@click.pass_obj
def collections_command(settings: Settings, as_json: bool) -> None:
    """List the collections with their documents, passages, index state and latest job."""
    from reviewqa.collections.jobs import JobStore, count
    from reviewqa.collections.registry import collection_names, collection_settings, summarize

    rows = []
    for name in collection_names(settings):
        collection = collection_settings(settings, name)
        latest = JobStore.of(collection).latest()
        rows.append(
            {
                **summarize(collection).to_dict(),
                "corpus": str(collection.documents_dir),
                "index": str(collection.index_dir),
                "job": latest.view() if latest is not None else None,
            }
        )
    if as_json:
        click.echo(json.dumps({"default": settings.base().default_collection, "collections": rows}, indent=2))
        return
    default = settings.base().default_collection
    for row in rows:
        mark = " (default)" if row["name"] == default else ""
        title = f" — {row['title']}" if row["title"] != row["name"] else ""
        click.echo(f"{row['name']}{mark}{title}")
        click.echo(
            f"  {row['state']}: {count(row['documents'], 'document')} in {row['corpus']}; "
            f"{row['indexed_documents']} indexed, {count(row['passages'], 'passage')}"
            + (f" (build {row['build']})" if row["build"] else "")
        )
        if row["state"] != "ready":
            click.echo(f"  {row['reason']}")
        job = row["job"]
        if job is not None:
            click.echo(
                f"  last job {job['id']}: {job['action']} {job['document']}, {job['stage']}: {job['message']}"
            )
