"""The follow-up cadence a business sets in its rules file (`follow_ups: {warm_days: [...]}`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Final

import yaml

# Used when the rules file says nothing: a call after 2 days, again after 5, then after 14.
DEFAULT_WARM_DAYS: Final = (2, 5, 14)


def warm_cadence(rules_path: Path) -> tuple[int, ...]:
    """Days from a lead turning warm to the first follow-up, then between follow-ups.

    Raises:
        ValueError: the file's ``follow_ups.warm_days`` is not a list of whole days (1 to 365).
    """
    try:
        modified = rules_path.stat().st_mtime_ns
    except OSError:
        return DEFAULT_WARM_DAYS
    return _cadence(rules_path, modified)


@lru_cache(maxsize=4)
def _cadence(path: Path, _modified_ns: int) -> tuple[int, ...]:
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    section = document.get("follow_ups") if isinstance(document, dict) else None
    if section is None:
        return DEFAULT_WARM_DAYS
    days = section.get("warm_days") if isinstance(section, dict) else None
    if not isinstance(days, list) or not all(
        isinstance(day, int) and not isinstance(day, bool) and 1 <= day <= 365 for day in days
    ):
        raise ValueError(f"{path}: follow_ups.warm_days must be a list of whole days, 1 to 365")
    return tuple(days)
