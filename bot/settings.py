"""Settings of the assembled application, from the environment (a `.env` file is read too)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from crm_bridge.settings import database_url

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Rasa reports usage, and its errors with their local values, to Rasa's servers unless told not
# to: what visitors say stays on the business's machines. Every Rasa process runs with this.
NO_TELEMETRY = {"RASA_TELEMETRY_ENABLED": "false"}


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
    # Rasa's conversations in PostgreSQL (postgresql://user:password@host:port/db) instead of
    # Redis or memory: Rasa servers on several hosts then share them, with the Redis lock store.
    tracker_store_url: str | None = field(default=None, repr=False)
    # The Slack channel listens only when both are set (a bot token and the app's signing secret).
    slack_token: str | None = None
    slack_signing_secret: str | None = None
    # Slack's Web API, where the Slack channel posts its replies (a stand-in's, in tests).
    slack_api_url: str = "https://slack.com/api/"
    # The web process: widget.js, its demo page and (later) the sales reps' review app.
    web_port: int = 8080
    # Websites allowed to open the widget's socket besides the demo page (scheme://host[:port]).
    allowed_origins: tuple[str, ...] = ()
    # Longer visitor messages are refused politely by every channel, before NLU.
    max_message_chars: int = 2000
    # Shared by the Rasa server and the action server; made at start when unset, never shown.
    action_secret: str = field(default="", repr=False)
    # What the web process presents to the Rasa HTTP API to relay a rep's reply: the API token,
    # else one made at start and handed to the web process only. Never shown.
    rasa_api_token: str = field(default="", repr=False)
    # Signs the review app's session cookies: set it, or one is kept in var/web-secret-key.
    web_secret_key: str | None = field(default=None, repr=False)
    # A Slack incoming webhook: sales reps get an alert for every new handoff.
    slack_webhook_url: str | None = field(default=None, repr=False)
    # How reps reach the review app, for links in alerts (default: http://localhost:<web port>).
    public_url: str | None = None
    # The scoring rules file (the review app re-scores with it and reads the follow-up cadence).
    rules_path: Path = PROJECT_ROOT / "qualification_rules.yml"


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
        tracker_store_url=os.environ.get("LEADBOT_TRACKER_STORE_URL") or None,
        slack_token=os.environ.get("LEADBOT_SLACK_TOKEN") or None,
        slack_signing_secret=os.environ.get("LEADBOT_SLACK_SIGNING_SECRET") or None,
        slack_api_url=os.environ.get("LEADBOT_SLACK_API_URL") or "https://slack.com/api/",
        web_port=int(os.environ.get("LEADBOT_WEB_PORT", "8080")),
        allowed_origins=tuple(
            origin.strip().rstrip("/")
            for origin in os.environ.get("LEADBOT_ALLOWED_ORIGINS", "").split(",")
            if origin.strip()
        ),
        max_message_chars=int(os.environ.get("LEADBOT_MAX_MESSAGE_CHARS", "2000")),
        action_secret=os.environ.get("LEADBOT_ACTION_SECRET") or secrets.token_urlsafe(32),
        rasa_api_token=os.environ.get("LEADBOT_API_TOKEN")
        or os.environ.get("LEADBOT_RASA_API_TOKEN")
        or secrets.token_urlsafe(32),
        web_secret_key=os.environ.get("LEADBOT_SECRET_KEY") or None,
        slack_webhook_url=os.environ.get("LEADBOT_SLACK_WEBHOOK_URL") or None,
        public_url=(os.environ.get("LEADBOT_PUBLIC_URL") or "").rstrip("/") or None,
        rules_path=Path(
            os.environ.get("LEADBOT_RULES") or PROJECT_ROOT / "qualification_rules.yml"
        ),
    )
