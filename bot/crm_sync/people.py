"""How a person's name is split for CRMs that keep first and last names apart."""

from __future__ import annotations


def first_and_last_name(full_name: str | None) -> tuple[str | None, str | None]:
    """("Dana", "Reyes") for "Dana Reyes"; a single word is the last name; (None, None) for
    no name."""
    words = (full_name or "").split()
    if not words:
        return None, None
    if len(words) == 1:
        return None, words[0]
    return " ".join(words[:-1]), words[-1]
