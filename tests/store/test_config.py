"""Configuration: defaults < config/*.toml (name order) < GATEWAY_* environment < explicit overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import Config, ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_without_files_or_environment(tmp_path):
    config = load_config({"GATEWAY_CONFIG_DIR": str(tmp_path / "none")})
    assert config.data_dir == Path("var")
    assert config.database_url == f"sqlite:///{Path('var').resolve() / 'gateway.db'}"
    assert config.max_body_bytes == 20 * 1024 * 1024
    assert (config.host, config.port, config.log_level, config.default_profile) == ("127.0.0.1", 8080, "INFO", "en16931")
    assert config.documents_dir == Path("var") / "documents"


def test_shipped_file_documents_the_defaults():
    shipped = load_config({"GATEWAY_CONFIG_DIR": str(ROOT / "config")})
    assert shipped == Config(config_dir=ROOT / "config")


def test_files_in_name_order_then_environment_then_overrides(tmp_path):
    (tmp_path / "10-base.toml").write_text('[gateway]\nport = 9000\nhost = "0.0.0.0"\nlog_level = "debug"\n[routing]\ndefault = "peppol"\n')
    (tmp_path / "20-site.toml").write_text('[gateway]\nport = 9100\ndata_dir = "/srv/gw"\n')
    env = {"GATEWAY_CONFIG_DIR": str(tmp_path), "GATEWAY_PORT": "9200", "GATEWAY_MAX_BODY_BYTES": "1000"}
    config = load_config(env)
    assert (config.port, config.host, config.log_level, config.max_body_bytes) == (9200, "0.0.0.0", "DEBUG", 1000)
    assert config.data_dir == Path("/srv/gw")
    assert config.database_url == "sqlite:////srv/gw/gateway.db"
    assert config.sections["routing"] == {"default": "peppol"}
    assert load_config(env, port=9300, host=None).port == 9300


def test_environment_database_url_wins(tmp_path):
    url = "postgresql+psycopg://gw@db:5432/gateway"
    config = load_config({"GATEWAY_CONFIG_DIR": str(tmp_path), "GATEWAY_DATABASE_URL": url, "GATEWAY_DATA_DIR": str(tmp_path)})
    assert config.database_url == url
    assert config.documents_dir == tmp_path / "documents"


@pytest.mark.parametrize(
    ("toml", "env", "message"),
    [
        ("[gateway]\nprot = 1\n", {}, "unknown setting"),
        ('[gateway]\nport = "eighty"\n', {}, "must be an integer"),
        ("[gateway]\nport = 8080.5\n", {}, "must be an integer"),
        ("[gateway]\nhost = 1\n", {}, "must be a string"),
        ("[gateway\n", {}, "gateway.toml"),
        ("", {"GATEWAY_PORT": "x"}, "GATEWAY_PORT"),
        ("", {"GATEWAY_PORT": "70000"}, "port"),
        ("", {"GATEWAY_LOG_LEVEL": "loud"}, "log_level"),
        ("", {"GATEWAY_DEFAULT_PROFILE": "platinum"}, "profile"),
    ],
)
def test_bad_settings_are_errors(tmp_path, toml, env, message):
    (tmp_path / "gateway.toml").write_text(toml)
    with pytest.raises(ConfigError, match=message):
        load_config({"GATEWAY_CONFIG_DIR": str(tmp_path), **env})


def test_config_is_frozen():
    with pytest.raises(AttributeError):
        Config().port = 1  # type: ignore[misc]
