"""Where the CRM store lives, for every process that opens it."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_SQLITE_PATH = Path(__file__).resolve().parents[1] / "var" / "leadbot.db"


def database_url() -> str:
    """LEADBOT_DATABASE_URL, else the embedded SQLite file `var/leadbot.db` of the project."""
    return os.environ.get("LEADBOT_DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_PATH}"
