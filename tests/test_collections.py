"""Collections: names, settings, --collection and --corpus on the command line, and the collection parameter
of the API (unknown collections, lazy loading, answers from the collection named). Real model and indexes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from collection_support import NOTES, NOTES_QUESTION, copy_of
from flask.testing import FlaskClient
from service_support import assert_json_error, live_server

from reviewqa.cli import main
from reviewqa.service import create_app
from reviewqa.settings import Settings, SettingsError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(collections_template: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return copy_of(collections_template, tmp_path_factory.mktemp("collections") / "project")


@pytest.fixture(scope="module")
def client(project: Settings) -> FlaskClient:
    return create_app(project).test_client()


# ---------------------------------------------------------------- names and settings


@pytest.mark.parametrize(
    "name", ["", "Review", "../etc", "a/b", "a b", "-x", "_x", "x" * 65, "é", "notes\n", ".hidden"]
)
def test_a_collection_name_must_be_a_safe_slug(name: str) -> None:
    with pytest.raises(SettingsError, match="invalid collection name"):
        Settings.load().for_collection(name)


@pytest.mark.parametrize("name", ["papers", "covid-19", "a_b", "x" * 64, "2024"])
def test_slugs_are_collection_names(name: str) -> None:
    settings = Settings.load()
    collection = settings.for_collection(name)
    assert collection.collection == name
    assert collection.documents_dir == settings.corpus_dir / "collections" / name / "documents"
    assert collection.index_dir == settings.index_dir / "collections" / name
    assert collection.for_collection("review") is settings  # back to the base from any collection


def test_collection_tables_set_folders_title_and_settings(tmp_path: Path) -> None:
    config = tmp_path / "reviewqa.toml"
    config.write_text(
        f'default_collection = "papers"\n[collections.papers]\ntitle = "My papers"\n'
        f'corpus_dir = "{tmp_path / "papers"}"\nindex_dir = "{tmp_path / "papers-index"}"\n'
        'chunk_tokens = 200\n[collections.review]\ntitle = "The IGF1R review"\n',
        encoding="utf-8",
    )
    settings = Settings.load(config)
    papers = settings.for_collection(settings.default_collection)
    assert (papers.documents_dir, papers.index_dir) == (
        tmp_path / "papers" / "documents",
        tmp_path / "papers-index",
    )
    assert (papers.chunk_tokens, settings.chunk_tokens) == (200, 160)
    assert (papers.collection_title(), settings.collection_title()) == ("My papers", "The IGF1R review")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("[collections.review]\nchunk_tokens = 99\n", "may only set a title"),
        ("[collections.papers]\nhost = '0.0.0.0'\n", "setting of the whole service"),
        ("[collections.papers]\nupload_token = 'x'\n", "setting of the whole service"),
        ("[collections.papers]\nno_such = 1\n", "unknown setting 'no_such'"),
        ("[collections.Papers]\ntitle = 'x'\n", "invalid collection name"),
        ("collections = 3\n", "must be a table"),
        ("collection = 'papers'\n", "choose a collection with --collection"),
    ],
)
def test_bad_collection_settings_are_clear_errors(tmp_path: Path, table: str, message: str) -> None:
    config = tmp_path / "reviewqa.toml"
    config.write_text(table, encoding="utf-8")
    with pytest.raises(SettingsError, match=message):
        Settings.load(config)


# ---------------------------------------------------------------- the command line


def cli(settings: Settings, *args: str, env: dict[str, str] | None = None) -> object:
    paths = {
        "REVIEWQA_CORPUS_DIR": str(settings.corpus_dir),
        "REVIEWQA_INDEX_DIR": str(settings.index_dir),
        "REVIEWQA_EVAL_DIR": str(settings.eval_dir),
    }
    return CliRunner().invoke(main, list(args), env={**paths, **(env or {})}, catch_exceptions=False)


def test_the_cli_works_on_the_collection_named(project: Settings) -> None:
    found = cli(project, "--collection", "notes", "search", "zorblax", "--json", "--local")
    assert found.exit_code == 0, found.output
    hits = json.loads(found.stdout)["hits"]
    assert hits[0]["document"] == "glimmer"
    review = json.loads(cli(project, "search", "zorblax", "--json", "--local").stdout)["hits"]
    assert all(hit["document"] == "small-review" for hit in review)

    listed = cli(project, "collections", "--json")
    rows = {row["name"]: row for row in json.loads(listed.stdout)["collections"]}
    assert set(rows) == {"review", "notes"}
    assert (rows["notes"]["state"], rows["notes"]["documents"], rows["notes"]["passages"]) == ("ready", 1, 1)

    unknown = cli(project, "--collection", "nope", "ask", "What is IGF1R?")
    assert unknown.exit_code != 0
    assert "no collection named 'nope'" in unknown.output and "collections/nope/documents" in unknown.output
    invalid = cli(project, "--collection", "../x", "collections")
    assert invalid.exit_code != 0 and "invalid collection name" in invalid.output


@pytest.mark.parametrize("subfolder", [False, True], ids=["plain-folder", "documents-subfolder"])
def test_corpus_is_a_folder_of_documents_with_its_own_index(
    project: Settings, tmp_path: Path, subfolder: bool
) -> None:
    folder = tmp_path / "My Papers"
    documents = folder / "documents" if subfolder else folder
    documents.mkdir(parents=True)
    (documents / "glimmer.txt").write_text(NOTES, encoding="utf-8")
    built = cli(project, "--corpus", str(folder), "index")
    assert built.exit_code == 0, built.output
    corpora = list((project.index_dir / "corpora").glob("my-papers-*"))
    assert any(str(path) in built.output for path in corpora)
    assert not (folder / "index").exists() and not (documents / "passages.jsonl").exists()
    answered = cli(project, "--corpus", str(folder), "ask", NOTES_QUESTION, "--json", "--local")
    assert answered.exit_code == 0, answered.output
    answer = json.loads(answered.stdout)
    assert not answer["abstained"] and answer["citations"][0]["document"] == "glimmer"
    assert "forty percent" in answer["answer"]


# ---------------------------------------------------------------- the API


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/ask", {"question": "What is IGF1R?", "collection": "nope"}),
        ("get", "/api/v1/search?q=IGF1R&collection=nope", None),
        ("get", "/api/v1/documents?collection=nope", None),
        ("get", "/api/v1/passages/glimmer:0?collection=nope", None),
        ("get", "/api/v1/health?collection=nope", None),
        ("get", "/api/v1/collections/nope/jobs/20260101T000000000000Z-abcdef", None),
    ],
)
def test_an_unknown_collection_is_a_json_404(client: FlaskClient, method: str, path: str, body) -> None:
    response = getattr(client, method)(path, json=body)
    assert "nope" in assert_json_error(response, 404, "collection_not_found")["error"]["message"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/ask", {"question": "What is IGF1R?", "collection": "../notes"}),
        ("post", "/api/v1/ask", {"question": "What is IGF1R?", "collection": ["notes"]}),
        ("post", "/api/v1/ask", {"question": "What is IGF1R?", "collection": None}),  # the spec: a string
        ("get", "/api/v1/search?q=IGF1R&collection=Notes", None),
        ("get", "/api/v1/documents?collection=a%2Fb", None),
    ],
)
def test_a_name_that_cannot_be_a_collection_is_a_json_400(
    client: FlaskClient, method: str, path: str, body
) -> None:
    assert_json_error(getattr(client, method)(path, json=body), 400, "invalid_collection")


def test_collections_load_on_first_use_and_answer_from_their_own_documents(project: Settings) -> None:
    client = create_app(project).test_client()
    listing = client.get("/api/v1/collections").get_json()
    assert listing["default"] == "review"
    rows = {row["name"]: row for row in listing["collections"]}
    assert rows["review"]["served_build"] == rows["review"]["build"]
    assert rows["notes"]["served_build"] is None and rows["notes"]["state"] == "ready"  # not loaded yet

    answer = client.post("/api/v1/ask", json={"question": NOTES_QUESTION, "collection": "notes"}).get_json()
    assert not answer["abstained"] and answer["citations"][0]["document"] == "glimmer"
    rows = {row["name"]: row for row in client.get("/api/v1/collections").get_json()["collections"]}
    assert rows["notes"]["served_build"] == rows["notes"]["build"]
    state = client.application.extensions["reviewqa"].collections
    # One query encoder for both collections (the same model): the second build reused the first's.
    assert state.get("notes").index.get().encoder is state.get("review").index.get().encoder

    from_review = client.post("/api/v1/ask", json={"question": NOTES_QUESTION}).get_json()
    assert all(c["document"] != "glimmer" for c in from_review["citations"])
    documents = client.get("/api/v1/documents?collection=notes").get_json()["documents"]
    assert [d["doc_id"] for d in documents] == ["glimmer"]
    passage = client.get("/api/v1/passages/glimmer:0?collection=notes")
    assert passage.status_code == 200 and "zorblax" in passage.get_json()["text"]
    assert_json_error(client.get("/api/v1/passages/glimmer:0"), 404, "passage_not_found")
    hits = client.get("/api/v1/search?q=zorblax&collection=notes").get_json()["results"]
    assert hits[0]["document"] == "glimmer"
    assert client.get("/api/v1/health?collection=notes").get_json()["ready"] is True


def test_the_service_serves_the_collection_it_was_started_for(project: Settings) -> None:
    client = create_app(project.for_collection("notes")).test_client()
    answer = client.post("/api/v1/ask", json={"question": NOTES_QUESTION}).get_json()
    assert answer["citations"][0]["document"] == "glimmer"
    assert client.get("/api/v1/collections").get_json()["default"] == "notes"
    review = client.post("/api/v1/ask", json={"question": "What is IGF1R?", "collection": "review"})
    assert all(c["document"] == "small-review" for c in review.get_json()["citations"])


def test_the_cli_asks_a_running_service_for_the_collection_named(project: Settings, tmp_path: Path) -> None:
    with live_server(create_app(project)) as url:
        port = url.rsplit(":", 1)[1]
        env = {"REVIEWQA_HOST": "127.0.0.1", "REVIEWQA_PORT": port}
        asked = cli(project, "--collection", "notes", "ask", NOTES_QUESTION, "--json", env=env)
        assert asked.exit_code == 0, asked.output
        assert f"using the service at {url}" in asked.stderr
        assert json.loads(asked.stdout)["citations"][0]["document"] == "glimmer"

        folder = tmp_path / "unserved"
        folder.mkdir()
        (folder / "glimmer.txt").write_text(NOTES, encoding="utf-8")
        assert cli(project, "--corpus", str(folder), "index").exit_code == 0
        local = cli(project, "--corpus", str(folder), "search", "zorblax", "--json", env=env)
        assert local.exit_code == 0, local.output
        assert "has no collection 'unserved': loading the index here" in local.stderr
