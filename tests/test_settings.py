from pathlib import Path

import pytest

from reviewqa.settings import Settings, SettingsError


def test_defaults_point_into_the_project():
    settings = Settings.load(config_file=None)
    assert settings.documents_dir == settings.corpus_dir / "documents"
    assert Path(settings.model_path).is_dir(), "the packaged model directory must exist"


def test_toml_file_then_environment_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    config = tmp_path / "reviewqa.toml"
    config.write_text('top_k = 7\nchunk_tokens = 99\ncorpus_dir = "/data/corpus"\n')
    monkeypatch.setenv("REVIEWQA_TOP_K", "3")
    settings = Settings.load(config)
    assert settings.top_k == 3  # environment wins over the file
    assert settings.chunk_tokens == 99
    assert settings.corpus_dir == Path("/data/corpus")


def test_config_path_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    config = tmp_path / "other.toml"
    config.write_text("abstain_threshold = 0.5\n")
    monkeypatch.setenv("REVIEWQA_CONFIG", str(config))
    assert Settings.load().abstain_threshold == 0.5


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("top_k = \n", "not valid TOML"),
        ('top_k = "many"\n', "must be int"),
        ("no_such_setting = 1\n", "unknown setting"),
    ],
)
def test_bad_settings_file_gives_clear_error(tmp_path: Path, content: str, message: str):
    config = tmp_path / "reviewqa.toml"
    config.write_text(content)
    with pytest.raises(SettingsError, match=message):
        Settings.load(config)


def test_missing_settings_file(tmp_path: Path):
    with pytest.raises(SettingsError, match="not found"):
        Settings.load(tmp_path / "absent.toml")


def test_replace_coerces_types():
    settings = Settings.load(config_file=None).replace(top_k="4", index_dir="/tmp/x")
    assert settings.top_k == 4
    assert settings.index_dir == Path("/tmp/x")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"search_mode": "fuzzy"}, "must be one of hybrid, dense, bm25"),
        ({"fusion": "max"}, "must be one of weighted, rrf"),
        ({"top_k": 0}, "'top_k' must be at least 1"),
        ({"dense_weight": 1.5}, "'dense_weight' must be between 0 and 1"),
        ({"chunk_overlap_sentences": -1}, "at least 0"),
    ],
)
def test_out_of_range_settings_are_rejected(changes: dict, message: str):
    with pytest.raises(SettingsError, match=message):
        Settings.load(config_file=None, **changes)


def test_bad_environment_value_is_a_one_line_cli_error(monkeypatch: pytest.MonkeyPatch):
    from click.testing import CliRunner

    from reviewqa.cli import main

    monkeypatch.setenv("REVIEWQA_SEARCH_MODE", "fuzzy")
    result = CliRunner().invoke(main, ["ask", "What is IGF1R?"])
    assert result.exit_code == 1
    assert "Error: setting 'search_mode' must be one of" in result.output
    assert "Traceback" not in result.output


def test_unknown_encoding_is_a_clear_error_when_asking(monkeypatch: pytest.MonkeyPatch):
    from click.testing import CliRunner

    from reviewqa.cli import main

    monkeypatch.setenv("REVIEWQA_ENCODING", "bogus")
    result = CliRunner().invoke(main, ["ask", "What is IGF1R?"])
    assert result.exit_code == 1
    assert "unknown tiktoken encoding 'bogus'" in result.output
