"""The bench sections' own logic, from known inputs: how a normalisation row is judged, span
errors, the review pages' store, the website and soak reports. Every section's smoke run is in
test_bench_smoke.py."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from benchmarks import (
    review_pages,
    soak,
    understanding,
    website_load,
)
from benchmarks.load import as_visitor, qualifying_personas
from benchmarks.normalisation import Row, judge


@pytest.mark.parametrize(
    "said, expected",
    [
        (Row("timeline", "in 6 weeks", {"timeline_months": 1.2}), True),  # within 0.35
        (Row("timeline", "in 6 weeks", {"timeline_months": 2}), False),
        (Row("timeline", "in eighteen months", {"timeline_months": 20}), True),  # within 15 %
        (Row("budget", "about 50k", {"budget_min": 50000, "budget_currency": None}), True),
        (Row("budget", "about 50k", {"budget_min": 50001}), False),
        (Row("budget", "no idea tbh", "declined"), True),
        (Row("budget", "no idea tbh", {"budget_min": 0}), False),
        (Row("authority", "blue", "declined"), False),  # nothing understood is not a refusal
        (Row("need", "help desk software", {"need_category": "customer_support"}), True),
    ],
)
def test_a_row_holds_when_every_expected_field_matches(said: Row, expected: bool) -> None:
    assert judge([said])[0].correct is expected


def test_span_errors_tell_wrong_edges_from_wrong_or_missing_entities(tmp_path: Path) -> None:
    need = {"entity": "need", "start": 0, "end": 22}
    errors = [
        {
            "text": "to replace our old CRM",
            "entities": [need],
            "predicted_entities": [need | {"start": 3}],
        },
        {
            "text": "Q3",
            "entities": [{"entity": "timeline", "start": 0, "end": 2}],
            "predicted_entities": [{"entity": "authority", "start": 0, "end": 2}],
        },
        {"text": "to replace our old CRM", "entities": [need], "predicted_entities": []},
        {
            "text": "hi there",
            "entities": [],
            "predicted_entities": [{"entity": "person_name", "start": 3, "end": 8}],
        },
    ]
    path = tmp_path / "CRFEntityExtractor_errors.json"
    path.write_text(json.dumps(errors), encoding="utf-8")

    assert understanding._span_errors(path) == understanding.SpanErrors(messages=4, edges_only=1)


@pytest.mark.postgres
def test_review_pages_fill_the_store_and_time_every_page_on_both_stores(tmp_path: Path) -> None:
    section = review_pages.run("smoke", tmp_path)

    assert len(section.targets) == 2  # p95 on SQLite, p95 on PostgreSQL
    assert all(target.why_not for target in section.targets if not target.met)
    json.dumps(section.data)
    stores = section.data["stores"]
    assert [store["filled"]["leads"] for store in stores] == [review_pages.LEADS["smoke"]] * 2
    for store in stores:
        assert store["filled"]["handoffs"] > 0
        assert set(store["pages"]) == {page.name for page in review_pages.PAGES}
        assert all(page["p50"] > 0 and page["bytes"] > 0 for page in store["pages"].values())
    for page in review_pages.PAGES:
        assert f"| {page.name} |" in section.markdown
    with sqlite3.connect(tmp_path / "review.db") as database:
        leads, handoffs = database.execute(
            "SELECT (SELECT count(*) FROM leads), (SELECT count(*) FROM handoffs)"
        ).fetchone()
    assert (leads, handoffs) == (review_pages.LEADS["smoke"], stores[0]["filled"]["handoffs"])


def _visits(replies: list[int], lost_turns: int = 0) -> list[website_load.SocketVisit]:
    persona = qualifying_personas()[0]
    visits = []
    for number, expected in enumerate(replies):
        visit = website_load.SocketVisit(as_visitor(persona, number))
        visit.turns, visit.reply_s = expected, [0.2] * expected
        visit.replies_expected, visit.replies_received = expected, expected
        visits.append(visit)
    visits[-1].replies_received -= lost_turns
    visits[-1].turns_incomplete = lost_turns
    return visits


def test_the_website_report_counts_replies_and_lost_leads() -> None:
    load = website_load.PageLoad(loaded_ms=300, opened_ms=500, sent_ms=600, first_bot_ms=900)
    played = _visits([8, 9, 10])

    section = website_load._section("smoke", played, 12.0, 0, 0, [load])

    assert [t.met for t in section.targets] == [True, True]
    assert section.data["replies_received"] == section.data["replies_expected"] == 27
    assert section.data["first_bot_message_ms"]["p50"] == pytest.approx(900)
    assert "| 3 of 3 |" in section.markdown


def test_a_missing_reply_or_a_lost_lead_misses_its_target_and_says_why() -> None:
    load = website_load.PageLoad(loaded_ms=300, opened_ms=500, sent_ms=600, first_bot_ms=900)
    played = _visits([8, 9, 10], lost_turns=1)

    section = website_load._section("smoke", played, 12.0, 1, 0, [load])

    assert [t.met for t in section.targets] == [False, False]
    assert all(t.why_not for t in section.targets)
    assert section.targets[1].measured == "26 of 27"


@pytest.mark.parametrize(
    "rasa_mb, met",
    [
        ((500, 600, 640, 655), True),  # grew during the warm-up, then less than 10 %
        ((500, 600, 640, 661), False),  # then more than 10 %
        ((500, 500, 450, 480), True),
    ],
)
def test_memory_growth_is_counted_from_the_end_of_the_warm_up(
    rasa_mb: tuple[float, ...], met: bool
) -> None:
    samples = [
        soak.Sample(at_s=10.0 * n, rasa_mb=mb, actions_mb=200) for n, mb in enumerate(rasa_mb)
    ]
    result = soak.Soak(arriving_s=25, seconds=30, samples=samples, outcomes=[])

    (target,) = soak.section(result, visitor_every_s=4).targets
    assert target.met is met
    assert (target.why_not is None) is met
