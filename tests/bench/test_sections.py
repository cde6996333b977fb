"""Smoke runs of the understanding, normalisation and store sections, so the bench cannot rot."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

from benchmarks import normalisation, store_speed, understanding
from benchmarks.normalisation import Row, judge
from benchmarks.report import Section, Target


@pytest.mark.parametrize(
    "section, targets",
    [
        pytest.param(understanding, 3, marks=pytest.mark.rasa, id="understanding"),
        pytest.param(normalisation, 1, id="normalisation"),
        pytest.param(store_speed, 0, marks=pytest.mark.postgres, id="store_speed"),
    ],
)
def test_smoke_run_gives_a_section(section: ModuleType, targets: int, tmp_path: Path) -> None:
    result = section.run("smoke", tmp_path)

    assert isinstance(result, Section)
    assert result.title
    assert "| --- |" in result.markdown  # at least one table
    assert len(result.targets) == targets
    assert all(isinstance(target, Target) and target.measured for target in result.targets)
    assert all(target.why_not for target in result.targets if not target.met)
    json.dumps(result.data)  # the report saves it as JSON


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
