"""Small pure pieces of the review app, as tables: the follow-up cadence, Slack's Retry-After,
the backoff, a rep's view of ages."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest

from bot.web.review.cadence import DEFAULT_WARM_DAYS, warm_cadence
from bot.web.review.views import age
from crm_bridge.retry import RetryPolicy, retry_after_seconds

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("follow_ups:\n  warm_days: [1, 3]\n", (1, 3)),
        ("version: x\n", DEFAULT_WARM_DAYS),
        ("follow_ups:\n  warm_days: []\n", ()),
    ],
)
def test_the_cadence_comes_from_the_rules_file(
    tmp_path: Path, text: str, expected: tuple[int, ...]
) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(text, encoding="utf-8")
    assert warm_cadence(rules) == expected


@pytest.mark.parametrize("days", ["[0]", "[2, 'soon']", "[true]", "3", "[400]"])
def test_a_wrong_cadence_names_the_key(tmp_path: Path, days: str) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(f"follow_ups:\n  warm_days: {days}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="follow_ups.warm_days"):
        warm_cadence(rules)


def test_a_missing_rules_file_keeps_the_default_cadence(tmp_path: Path) -> None:
    assert warm_cadence(tmp_path / "none.yml") == DEFAULT_WARM_DAYS


@pytest.mark.parametrize(
    "header, expected", [("30", 30.0), ("0", 0.0), ("1.5", 1.5), (None, None), ("soon", None)]
)
def test_retry_after_in_seconds(header: str | None, expected: float | None) -> None:
    assert retry_after_seconds(header) == expected


def test_retry_after_as_an_http_date() -> None:
    later = datetime.now(timezone.utc) + timedelta(seconds=120)
    seconds = retry_after_seconds(format_datetime(later, usegmt=True))
    assert seconds is not None and 110 < seconds <= 120


@pytest.mark.parametrize("attempt, ceiling", [(1, 2.0), (2, 4.0), (3, 8.0), (12, 300.0)])
def test_backoff_doubles_with_jitter_up_to_a_ceiling(attempt: int, ceiling: float) -> None:
    policy = RetryPolicy()
    delays = {policy.delay(attempt) for _ in range(50)}
    assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
    assert len(delays) > 1  # jitter: not every worker retries at the same moment


@pytest.mark.parametrize(
    "ago, shown",
    [
        (timedelta(seconds=5), "just now"),
        (timedelta(minutes=12), "12 min"),
        (timedelta(hours=3, minutes=5), "3 h"),
        (timedelta(days=2, hours=1), "2 d"),
    ],
)
def test_ages_read_as_a_rep_says_them(ago: timedelta, shown: str) -> None:
    assert age(NOW - ago, now=NOW) == shown
