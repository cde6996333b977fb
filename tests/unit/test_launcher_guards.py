"""What the launcher hands the servers: the action server's secret, the origins, the limit."""

from __future__ import annotations

import dataclasses
import stat
from pathlib import Path

import pytest
import yaml

from bot import launcher, settings


@pytest.fixture
def config(tmp_path: Path) -> settings.Settings:
    return dataclasses.replace(
        settings.load(),
        var_dir=tmp_path,
        rasa_port=5105,
        action_port=5155,
        web_port=8180,
        allowed_origins=(),
        action_secret="s3cret-for-this-test",
        max_message_chars=1500,
    )


def test_the_action_server_is_ours_and_gets_the_secret_from_its_environment(
    config: settings.Settings,
) -> None:
    actions, rasa = launcher.server_commands(config, Path("model.tar.gz"))
    assert actions[1:] == ["-m", "bot.action_server", "--port", "5155"]
    assert launcher.action_environment(config)["LEADBOT_ACTION_SECRET"] == "s3cret-for-this-test"
    # A command line is readable by every user of the machine.
    assert not any("s3cret" in part for part in [*actions, *rasa])


def test_rasa_sends_the_secret_from_an_endpoints_file_only_its_owner_reads(
    config: settings.Settings,
) -> None:
    _, rasa = launcher.server_commands(config, Path("model.tar.gz"))
    path = Path(rasa[rasa.index("--endpoints") + 1])
    assert path.parent == config.var_dir
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    endpoint = yaml.safe_load(path.read_text(encoding="utf-8"))["action_endpoint"]
    assert endpoint == {
        "url": "http://127.0.0.1:5155/webhook",
        "headers": {"Authorization": "Bearer s3cret-for-this-test"},
    }
    assert not [p for p in config.var_dir.iterdir() if p.name.startswith(".")], "a draft left"


def test_the_endpoints_file_is_made_private_again_when_it_existed(
    config: settings.Settings,
) -> None:
    existing = config.var_dir / f"endpoints-{config.rasa_port}.yml"
    existing.write_text("old")
    existing.chmod(0o644)
    launcher.server_commands(config, Path("model.tar.gz"))
    assert stat.S_IMODE(existing.stat().st_mode) == 0o600


def test_the_secret_is_made_at_start_when_unset_and_never_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LEADBOT_ACTION_SECRET", raising=False)
    first, second = settings.load(), settings.load()
    assert len(first.action_secret) >= 32
    assert first.action_secret != second.action_secret
    assert first.action_secret not in repr(first)
    monkeypatch.setenv("LEADBOT_ACTION_SECRET", "from-the-operator")
    assert settings.load().action_secret == "from-the-operator"


def test_browsers_may_call_the_rasa_server_from_the_allowed_origins_only(
    config: settings.Settings,
) -> None:
    _, rasa = launcher.server_commands(config, Path("model.tar.gz"))
    origins = rasa[rasa.index("--cors") + 1 : rasa.index("--cors") + 5]
    assert origins == [
        "http://localhost:8180",
        "http://127.0.0.1:8180",
        "http://localhost:5105",
        "http://127.0.0.1:5105",
    ]
    assert "*" not in rasa
    environment = launcher.rasa_environment(config)
    assert environment["LEADBOT_ALLOWED_ORIGINS"].split(",") == origins
    assert environment["LEADBOT_MAX_MESSAGE_CHARS"] == "1500"


def test_configured_origins_are_allowed_besides_the_bots_own(
    config: settings.Settings,
) -> None:
    shop = dataclasses.replace(config, allowed_origins=("https://shop.example.com",))
    assert launcher.widget_origins(shop)[0] == "https://shop.example.com"
    assert "http://localhost:8180" in launcher.widget_origins(shop)


def test_the_settings_read_the_origins_and_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADBOT_ALLOWED_ORIGINS", "https://a.example/, https://b.example")
    monkeypatch.setenv("LEADBOT_MAX_MESSAGE_CHARS", "300")
    loaded = settings.load()
    assert loaded.allowed_origins == ("https://a.example", "https://b.example")
    assert loaded.max_message_chars == 300


def test_no_rasa_process_reports_to_rasas_servers(
    config: settings.Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RASA_TELEMETRY_ENABLED", "true")
    for environment in (launcher.rasa_environment(config), launcher.action_environment(config)):
        assert environment["RASA_TELEMETRY_ENABLED"] == "false"
