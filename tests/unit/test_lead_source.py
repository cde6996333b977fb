"""Reading the visit a widget describes, and the lead source it gives."""

from __future__ import annotations

from typing import Any

import pytest

from crm_bridge.models import LEAD_SOURCES
from qualifying.lead_source import Visit, lead_source, visit_from_metadata

PAGE = "https://acme.example/pricing"
NO_UTM = {field: None for field in ("source", "medium", "campaign", "term", "content")}


def _widget(referrer: str | None, **utm: str) -> dict[str, Any]:
    """Metadata as bot/web/static/widget.js sends it."""
    return {"page_url": PAGE, "referrer": referrer, "utm": {**NO_UTM, **utm}}


@pytest.mark.parametrize(
    "channel, metadata, expected",
    [
        ("socketio", _widget(None), "direct"),
        ("socketio", _widget("https://acme.example/blog/post"), "direct"),
        ("socketio", _widget("https://www.google.com/"), "search"),
        ("socketio", _widget("https://www.google.co.uk/search?q=crm"), "search"),
        ("socketio", _widget("https://duckduckgo.com/"), "search"),
        ("socketio", _widget("https://search.brave.com/search?q=crm"), "search"),
        ("socketio", _widget("https://www.bing.com/search?q=crm"), "search"),
        ("socketio", _widget("https://l.facebook.com/l.php?u=x"), "social"),
        ("socketio", _widget("https://t.co/abc123"), "social"),
        ("socketio", _widget("https://www.linkedin.com/feed/"), "social"),
        ("socketio", _widget("https://old.reddit.com/r/sales"), "social"),
        ("socketio", _widget("https://news.ycombinator.com/item?id=1"), "social"),
        ("socketio", _widget("https://partner-blog.example/best-crms"), "referral"),
        # A name is matched as a whole label, never inside another word.
        ("socketio", _widget("https://googleish.example/"), "referral"),
        ("socketio", _widget("https://notx.com/"), "referral"),
        ("socketio", _widget("https://www.google.com/", campaign="spring"), "campaign"),
        ("socketio", _widget(None, source="newsletter", medium="email"), "campaign"),
        ("socketio", _widget(None, source="   "), "direct"),
        ("slack", None, "slack"),
        ("slack", _widget("https://www.google.com/"), "slack"),
        ("rest", None, None),
        ("rest", {"something": "else"}, None),
    ],
)
def test_lead_source(channel: str, metadata: dict[str, Any] | None, expected: str | None) -> None:
    source = lead_source(channel, visit_from_metadata(metadata))
    assert source == expected
    assert source is None or source in LEAD_SOURCES


@pytest.mark.parametrize(
    "metadata, expected",
    [
        (None, None),
        ("https://acme.example/", None),
        ({}, None),
        ({"page_url": None, "referrer": None, "utm": NO_UTM}, None),
        (_widget(None), Visit(PAGE, None, {})),
        (
            _widget("https://www.google.com/", campaign="spring", term="crm"),
            Visit(PAGE, "https://www.google.com/", {"campaign": "spring", "term": "crm"}),
        ),
        # What the browser says is text: nothing but http(s) addresses and strings is kept.
        (
            {"page_url": "javascript:alert(1)", "referrer": "https://x.example/"},
            Visit(None, "https://x.example/", {}),
        ),
        ({"page_url": "javascript:alert(1)", "referrer": "data:text/html,hi"}, None),
        (
            {"page_url": PAGE, "referrer": 42, "utm": {"source": ["a"], "medium": "cpc"}},
            Visit(PAGE, None, {"medium": "cpc"}),
        ),
        ({"page_url": PAGE, "utm": "utm_source=x"}, Visit(PAGE, None, {})),
        ({"page_url": "https://[::1"}, None),
        (
            {"page_url": PAGE + "?q=" + "a" * 5000},
            Visit((PAGE + "?q=" + "a" * 5000)[:2000], None, {}),
        ),
        ({"utm": {"campaign": "c" * 500}}, Visit(None, None, {"campaign": "c" * 200})),
    ],
)
def test_visit_from_metadata(metadata: Any, expected: Visit | None) -> None:
    assert visit_from_metadata(metadata) == expected
