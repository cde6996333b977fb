"""What each benchmark section hands to the report: its tables and its targets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Target:
    """One target the report says met / not met for, with the measured value."""

    name: str  # "intent macro-F1"
    goal: str  # ">= 0.95 and >= the default pipeline's"
    measured: str  # "0.97 (default: 0.95)"
    met: bool
    why_not: str | None = None  # when not met: why, from a profile or the data


@dataclass
class Section:
    """One section of docs/benchmarks.md."""

    title: str
    markdown: str  # tables and a short explanation, GitHub markdown
    targets: list[Target] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)  # raw numbers, also saved as JSON
    images: list[str] = field(default_factory=list)  # PNG paths relative to docs/
