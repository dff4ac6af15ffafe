"""JSON views of index objects for the API: passages, documents, search hits and cited works."""

from __future__ import annotations

import re
import urllib.parse
from collections import Counter
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from reviewqa.models import CitedWork, Passage
from reviewqa.refs.export import short_label

if TYPE_CHECKING:
    from reviewqa.index import SearchHit, SearchIndex

NCT_ID = re.compile(r"^NCT\d{8}$")
PMID = re.compile(r"^\d+$")
SHORT_TITLE_WORDS = 6


def work_links(work: CitedWork) -> list[dict[str, str]]:
    """Where a reader can look the work up: DOI, PubMed, ClinicalTrials.gov, or the bibliography's URL."""
    links: list[dict[str, str]] = []
    if work.doi:
        links.append(
            {"label": "DOI", "url": "https://doi.org/" + urllib.parse.quote(work.doi, safe="/:;()._-")}
        )
    if PMID.match(work.pmid):
        links.append({"label": "PubMed", "url": f"https://pubmed.ncbi.nlm.nih.gov/{work.pmid}/"})
    if NCT_ID.match(work.key):
        links.append({"label": "ClinicalTrials.gov", "url": f"https://clinicaltrials.gov/study/{work.key}"})
    if work.url.startswith(("https://", "http://")) and all(link["url"] != work.url for link in links):
        links.append({"label": "Link", "url": work.url})
    return links


def cited_work_view(index: SearchIndex, key: str, doc_id: str) -> dict[str, Any]:
    return work_view(index.cited_work(key, doc_id) or CitedWork(key=key))


def work_view(work: CitedWork) -> dict[str, Any]:
    return {**asdict(work), "links": work_links(work)}


def passage_summary(passage: Passage) -> dict[str, Any]:
    return {
        "passage_id": passage.passage_id,
        "document": passage.document,
        "section": passage.section_label,
        "page": passage.page,
        "text": passage.text,
        "cited_works": list(passage.cited_works),
        "work_key": passage.work_key,
    }


def hit_view(hit: SearchHit) -> dict[str, Any]:
    return {
        **passage_summary(hit.passage),
        "score": float(hit.score),
        "dense_score": None if hit.dense_score is None else float(hit.dense_score),
        "bm25_score": None if hit.bm25_score is None else float(hit.bm25_score),
    }


def document_view(index: SearchIndex, doc_id: str, passage_count: int) -> dict[str, Any]:
    meta = index.documents.get(doc_id, {})
    year = meta.get("year")
    view = {
        "doc_id": doc_id,
        "path": str(meta.get("path", "")),
        "title": str(meta.get("title") or doc_id),
        "authors": str(meta.get("authors") or ""),
        "year": year if isinstance(year, int) else None,
        "kind": meta.get("kind") if meta.get("kind") in ("review", "source") else "review",
        "key": meta.get("key") or None,
        "passage_count": passage_count,
    }
    view["label"] = document_label(view)
    return view


def document_label(view: dict[str, Any]) -> str:
    """How a reader cites the document: "Yee 2018" from its authors and year, else its bibliography key,
    else its title's first words."""
    label = short_label(view["authors"], view["year"]) or view["key"]
    if label:
        return label
    words = view["title"].split()
    return " ".join(words[:SHORT_TITLE_WORDS]) + (" …" if len(words) > SHORT_TITLE_WORDS else "")


def documents_view(index: SearchIndex) -> list[dict[str, Any]]:
    counts = Counter(p.document for p in index.passages)
    return [document_view(index, doc_id, counts.get(doc_id, 0)) for doc_id in document_ids(index, counts)]


def document_ids(index: SearchIndex, counts: Counter[str] | None = None) -> list[str]:
    """The documents of the manifest's list, then any others passages name."""
    named = counts if counts is not None else {p.document for p in index.passages}
    return list(index.documents) + sorted(set(named) - set(index.documents))


def passage_detail(index: SearchIndex, passage: Passage) -> dict[str, Any]:
    previous_id, next_id = index.neighbours(passage.passage_id)
    count = sum(1 for p in index.passages if p.document == passage.document)
    return {
        **passage_summary(passage),
        "section_path": list(passage.section),
        "start": passage.start,
        "end": passage.end,
        "sentences": [
            {"start": s.start, "end": s.end, "text": s.text, "cited_works": list(s.cited_works)}
            for s in passage.sentences
        ],
        "document_info": document_view(index, passage.document, count),
        "neighbours": {"previous": previous_id, "next": next_id},
        "cited_works": [cited_work_view(index, key, passage.document) for key in passage.cited_works],
    }


def document_work(index: SearchIndex, doc_id: str) -> CitedWork:
    """The document as a work to cite: its bibliography row when it is a cited source, else its metadata."""
    view = document_view(index, doc_id, 0)
    if view["key"] and view["key"] in index.bibliography:
        return index.bibliography[view["key"]]
    return CitedWork(key=view["label"], authors=view["authors"], year=view["year"], title=view["title"])


def works_to_export(
    index: SearchIndex, keys: list[str], doc_ids: list[str], passage_ids: list[str]
) -> list[CitedWork]:
    """The works named by bibliography key, the documents named by id, and for each passage its document
    and the works it cites; in that order, each once. Nothing named: the whole bibliography."""
    if not (keys or doc_ids or passage_ids):
        return sorted(index.bibliography.values(), key=lambda work: work.key.casefold())
    works: dict[str, CitedWork] = {}
    for key in keys:  # a named document's own entry where its list gives the key to another work
        own = (index.document_references.get(doc_id, {}).get(key) for doc_id in doc_ids)
        works.setdefault(key, next((work for work in own if work), None) or index.bibliography[key])
    for doc_id in doc_ids:
        work = document_work(index, doc_id)
        works.setdefault(work.key, work)
    for passage_id in passage_ids:
        passage = index.passage_by_id[passage_id]
        work = document_work(index, passage.document)
        works.setdefault(work.key, work)
        for key in passage.cited_works:
            works.setdefault(key, index.cited_work(key, passage.document) or CitedWork(key=key))
    return list(works.values())
