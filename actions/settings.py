"""Where the action server finds its scoring rules (from the environment)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from actions.scoring import Rules, load_rules

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def rules_path() -> Path:
    """The scoring rules file: LEADBOT_RULES, else qualification_rules.yml at the project root."""
    return Path(os.environ.get("LEADBOT_RULES") or PROJECT_ROOT / "qualification_rules.yml")


def current_rules() -> Rules:
    """The scoring rules, read again whenever the file changes so edits apply without a restart."""
    path = rules_path()
    return _rules_at(path, path.stat().st_mtime_ns)


@lru_cache(maxsize=4)
def _rules_at(path: Path, modified_ns: int) -> Rules:
    return load_rules(path)
