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
    )
    path = launcher.credentials_file(config)
    channels = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert channels["slack"] == {
        "slack_token": "xoxb-test",
        "slack_signing_secret": "signing-secret",
    }
    assert {"rest", "socketio"} <= set(channels)
    assert path.parent == tmp_path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
