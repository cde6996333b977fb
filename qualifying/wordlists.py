"""The language data the parsers read: one file per word list under `qualifying/words/`.

A `.txt` list holds one entry per line (lower case; `#` starts a comment); a `.yml` table maps
entries to values (a currency alias to its ISO code, a job title to the authority it implies).
Each list lives in exactly one file, so every parser that needs it reads the same words.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any, Final

import yaml

WORDS_DIR: Final = Path(__file__).with_name("words")


@cache
def word_list(name: str) -> frozenset[str]:
    """The entries of `words/<name>.txt`."""
    lines = (WORDS_DIR / f"{name}.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(entry for line in lines if (entry := line.split("#", 1)[0].strip().lower()))


@cache
def word_table(name: str) -> dict[str, Any]:
    """The mapping in `words/<name>.yml`, keys lower-cased."""
    raw = yaml.safe_load((WORDS_DIR / f"{name}.yml").read_text(encoding="utf-8"))
    return {str(key).lower(): value for key, value in raw.items()}


def alternation(entries: frozenset[str] | list[str]) -> str:
    """The entries as a regex alternation, longest first, spaces matching any whitespace."""
    ordered = sorted(entries, key=lambda entry: (-len(entry), entry))
    return "|".join(re.escape(entry).replace(r"\ ", r"\s+") for entry in ordered)
