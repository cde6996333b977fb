"""Settings of the assembled application, from the environment (a `.env` file is read too)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from crm_bridge.settings import database_url

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _read_dotenv(path: Path) -> None:
    """Sets variables from a `.env` file that the environment does not set already."""
    if not path.is_file():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, value = line.strip().partition("=")
        if sep and name and not name.startswith("#"):
            os.environ.setdefault(name.strip(), value.strip().strip("\"'"))


@dataclass(frozen=True)
class Settings:
    """Where things are and which ports they listen on."""

    database_url: str
    api_token: str | None
    rasa_port: int
    action_port: int
    rasa_executable: Path
    python_executable: Path
    models_dir: Path
    var_dir: Path
    # Several Rasa workers need a lock store and a tracker store they all see: Redis.
    rasa_workers: int = 1
    redis_url: str | None = None
    # The Slack channel listens only when both are set (a bot token and the app's signing secret).
    slack_token: str | None = None
    slack_signing_secret: str | None = None


def load() -> Settings:
    """The settings for this process, from the environment and `.env`."""
    _read_dotenv(PROJECT_ROOT / ".env")
    return Settings(
        database_url=database_url(),
        api_token=os.environ.get("LEADBOT_API_TOKEN") or None,
        rasa_port=int(os.environ.get("LEADBOT_RASA_PORT", "5005")),
        action_port=int(os.environ.get("LEADBOT_ACTION_PORT", "5055")),
        rasa_executable=PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa",
        python_executable=PROJECT_ROOT / ".venv" / "bin" / "python",
        models_dir=Path(os.environ.get("LEADBOT_MODELS_DIR") or PROJECT_ROOT / "models"),
        var_dir=PROJECT_ROOT / "var",
        rasa_workers=int(os.environ.get("LEADBOT_RASA_WORKERS", "1")),
        redis_url=os.environ.get("LEADBOT_REDIS_URL") or None,
        slack_token=os.environ.get("LEADBOT_SLACK_TOKEN") or None,
        slack_signing_secret=os.environ.get("LEADBOT_SLACK_SIGNING_SECRET") or None,
    )
