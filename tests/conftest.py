"""Shared fixtures. The real model, index and review are used: the packaged model runs offline."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from reviewqa.settings import PROJECT_ROOT, Settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REVIEW_PATH = PROJECT_ROOT / "corpus" / "documents" / "igf1r-review.txt"
REFERENCES_PATH = PROJECT_ROOT / "corpus" / "references.tsv"
DOCUMENTS_TOML_PATH = PROJECT_ROOT / "corpus" / "documents.toml"


def make_settings(root: Path, **changes: object) -> Settings:
    """Settings whose corpus, index and eval folders live under ``root``."""
    return Settings.load(
        corpus_dir=root / "corpus", index_dir=root / "index", eval_dir=root / "eval", **changes
    )


@pytest.fixture
def empty_settings(tmp_path: Path) -> Settings:
    """A project with an empty corpus in a temporary folder."""
    settings = make_settings(tmp_path)
    settings.documents_dir.mkdir(parents=True)
    return settings


@pytest.fixture(scope="session")
def review_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A temporary project holding the review, its metadata and the bibliography, as shipped."""
    root = tmp_path_factory.mktemp("review-project")
    settings = make_settings(root)
    settings.documents_dir.mkdir(parents=True)
    shutil.copy(REVIEW_PATH, settings.documents_dir / REVIEW_PATH.name)
    shutil.copy(DOCUMENTS_TOML_PATH, settings.corpus_dir / DOCUMENTS_TOML_PATH.name)
    shutil.copy(REFERENCES_PATH, settings.references_path)
    return settings


@pytest.fixture(scope="session")
def review_index(review_settings: Settings):
    """The real index of the review, built once per test session with the packaged model."""
    from reviewqa.index import build_index, load_index

    build_index(review_settings)
    return load_index(review_settings)


@pytest.fixture(scope="module")
def app(review_index):
    """The service over the review index (Flask test client: ``client``)."""
    from reviewqa.service import create_app

    return create_app(review_index.settings, review_index)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def collections_template(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A small project, built once per session: the review's first sections (the base collection) and a
    collection "notes" of one document. Tests that change it work on a copy (collection_support)."""
    from collection_support import notes_collection
    from fault_support import small_project

    from reviewqa.index import build_index

    settings = small_project(tmp_path_factory.mktemp("collections-template") / "project")
    build_index(settings)
    notes_collection(settings)
    return settings
