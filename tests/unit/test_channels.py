"""The channels the Rasa server listens on: Slack only when it is configured."""

from __future__ import annotations

import dataclasses
import stat
from pathlib import Path

import yaml

from bot import launcher, settings


def test_without_slack_settings_the_shared_channels_are_used(tmp_path: Path) -> None:
    config = dataclasses.replace(settings.load(), var_dir=tmp_path, slack_token=None)
    assert launcher.credentials_file(config) == settings.PROJECT_ROOT / "credentials.yml"


def test_with_slack_settings_slack_listens_too(tmp_path: Path) -> None:
    config = dataclasses.replace(
        settings.load(),
        var_dir=tmp_path,
        slack_token="xoxb-test",
        slack_signing_secret="signing-secret",
        slack_api_url="http://127.0.0.1:9/api/",
        redis_url=None,
    )
    path = launcher.credentials_file(config)
    channels = yaml.safe_load(path.read_text(encoding="utf-8"))
    # Our channel, by its dotted path, instead of Rasa's `slack`.
    assert "slack" not in channels
    assert channels["bot.channels.slack.SlackVisitorInput"] == {
        "slack_token": "xoxb-test",
        "slack_signing_secret": "signing-secret",
        "slack_api_url": "http://127.0.0.1:9/api/",
    }
    shared = yaml.safe_load((settings.PROJECT_ROOT / "credentials.yml").read_text(encoding="utf-8"))
    assert set(shared) <= set(channels), "the shared channels listen too"
    assert path.parent == tmp_path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_with_redis_the_slack_channel_remembers_events_there(tmp_path: Path) -> None:
    config = dataclasses.replace(
        settings.load(),
        var_dir=tmp_path,
        slack_token="xoxb-test",
        slack_signing_secret="signing-secret",
        redis_url="redis://127.0.0.1:6379/0",
    )
    channels = yaml.safe_load(launcher.credentials_file(config).read_text(encoding="utf-8"))
    assert channels[launcher.SLACK_CHANNEL]["redis_url"] == "redis://127.0.0.1:6379/0"


def test_the_slack_channel_path_names_our_module() -> None:
    module, _, name = launcher.SLACK_CHANNEL.rpartition(".")
    source = settings.PROJECT_ROOT / (module.replace(".", "/") + ".py")
    assert f"class {name}(" in source.read_text(encoding="utf-8")
