"""Settings from the environment and the TOML file."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchyard.config import load_settings


def test_comma_separated_lists_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHYARD_ANTIGRAVITY_BASE_URLS", "http://a.example, http://b.example")
    monkeypatch.setenv("SWITCHYARD_MEDIA_ALLOW_HOSTS", "cdn.example")
    settings = load_settings()
    assert settings.antigravity_base_urls == ["http://a.example", "http://b.example"]
    assert settings.media_allow_hosts == ["cdn.example"]


def test_defaults_serve_sqlite_in_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SWITCHYARD_CONFIG", raising=False)
    settings = load_settings()
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.effective_database_url == "sqlite+aiosqlite:///data/switchyard.db"


def test_toml_file_and_environment_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "switchyard.toml"
    config.write_text('port = 9000\nhost = "0.0.0.0"\ndatabase_url = "postgres://u@db/x"\n')
    monkeypatch.setenv("SWITCHYARD_CONFIG", str(config))
    monkeypatch.setenv("SWITCHYARD_HOST", "127.0.0.2")
    settings = load_settings()
    assert settings.port == 9000 and settings.host == "127.0.0.2"
    assert settings.effective_database_url == "postgresql+asyncpg://u@db/x"


def test_unknown_toml_setting_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("prot = 1\n")
    monkeypatch.setenv("SWITCHYARD_CONFIG", str(config))
    with pytest.raises(ValueError, match="unknown settings prot"):
        load_settings()
