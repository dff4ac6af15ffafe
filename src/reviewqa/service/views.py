"""JSON views of index objects for the API: passages, documents, search hits and cited works."""

from __future__ import annotations

import re
import urllib.parse
from collections import Counter
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from reviewqa.models import CitedWork, Passage

if TYPE_CHECKING:
    from reviewqa.index import SearchHit, SearchIndex

NCT_ID = re.compile(r"^NCT\d{8}$")
PMID = re.compile(r"^\d+$")


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


def cited_work_view(index: SearchIndex, key: str) -> dict[str, Any]:
    work = index.bibliography.get(key) or CitedWork(key=key)
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
    return {
        "doc_id": doc_id,
        "path": str(meta.get("path", "")),
        "title": str(meta.get("title") or doc_id),
        "authors": str(meta.get("authors") or ""),
        "year": year if isinstance(year, int) else None,
        "kind": meta.get("kind") if meta.get("kind") in ("review", "source") else "review",
        "key": meta.get("key") or None,
        "passage_count": passage_count,
    }


def documents_view(index: SearchIndex) -> list[dict[str, Any]]:
    counts = Counter(p.document for p in index.passages)
    doc_ids = list(index.documents) + sorted(set(counts) - set(index.documents))
    return [document_view(index, doc_id, counts.get(doc_id, 0)) for doc_id in doc_ids]


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
        "cited_works": [cited_work_view(index, key) for key in passage.cited_works],
    }
