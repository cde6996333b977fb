"""Where the action server finds its scoring rules (from the environment)."""

from __future__ import annotations

import os
from pathlib import Path

from qualifying import rules

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def rules_path() -> Path:
    """The scoring rules file: LEADBOT_RULES, else qualification_rules.yml at the project root."""
    return Path(os.environ.get("LEADBOT_RULES") or PROJECT_ROOT / "qualification_rules.yml")


def current_rules() -> rules.Rules:
    """The scoring rules, read again whenever the file changes so edits apply without a restart."""
    return rules.current_rules(rules_path())
