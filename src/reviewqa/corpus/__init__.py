"""Corpus stage: read documents (text, PDF), clean them, split sentences, parse citations, chunk passages."""

from reviewqa.corpus.chunking import build_passages, document_sentences
from reviewqa.corpus.citations import find_citations
from reviewqa.corpus.cleaning import CleanedText, clean_pages, clean_text
from reviewqa.corpus.ingest import (
    FingerprintMemo,
    IngestResult,
    SkippedDocument,
    corpus_fingerprint,
    ingest,
    ingested_fingerprint,
    load_clean_text,
    load_documents,
    load_passages,
    read_passages,
    token_counter,
    warn_keyless_sources,
)
from reviewqa.corpus.readers import READERS, RawDocument, read_document
from reviewqa.corpus.sentences import split_sentences

__all__ = [
    "READERS",
    "CleanedText",
    "FingerprintMemo",
    "IngestResult",
    "RawDocument",
    "SkippedDocument",
    "build_passages",
    "clean_pages",
    "clean_text",
    "corpus_fingerprint",
    "document_sentences",
    "find_citations",
    "ingest",
    "ingested_fingerprint",
    "load_clean_text",
    "load_documents",
    "load_passages",
    "read_document",
    "read_passages",
    "split_sentences",
    "token_counter",
    "warn_keyless_sources",
]
