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
