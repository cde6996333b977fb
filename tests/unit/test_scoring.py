"""Scoring answers with the rules file, and reading and checking that file."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from crm_bridge.models import STAGES
from qualifying.rules import SCORED_STAGES, Rules, load_rules
from qualifying.scoring import DimensionScore, QualifyingAnswers, annual_budget, score_lead

RULES_FILE = Path(__file__).resolve().parents[2] / "qualification_rules.yml"


@pytest.fixture(scope="module")
def rules() -> Rules:
    return load_rules(RULES_FILE)


def answers(
    need: str | None = None,
    budget: float | None = None,
    months: float | None = None,
    authority: str | None = None,
) -> QualifyingAnswers:
    return QualifyingAnswers(
        need_category=need, budget_annual=budget, timeline_months=months, authority=authority
    )


def points(rules: Rules, dimension: str, said: QualifyingAnswers) -> int:
    return next(d.points for d in score_lead(said, rules).breakdown if d.dimension == dimension)


def test_the_default_rules_file_loads(rules: Rules) -> None:
    assert rules.version == "2026-11-default"
    assert rules.base_currency == "USD"
    assert rules.currency_rates["EUR"] == 1.08
    assert set(rules.offerings) == {"crm", "marketing_automation", "customer_support", "analytics"}
    assert "pipeline" in rules.offerings["crm"]
    assert rules.offering_labels["crm"] == "CRM"
    assert "gmail.com" in rules.free_mail_domains
    assert rules.stages == {"hot": "potential_customer", "warm": "prospect", "cold": "lead"}


@pytest.mark.parametrize(
    "said, expected",
    [
        ((50_000, 50_000, "USD", "yearly"), 50_000),
        ((2_000, 2_000, "EUR", "monthly"), 25_920),
        ((800, 800, None, "monthly"), 9_600),
        ((5_000, 10_000, None, "one_off"), 7_500),
        ((10_000, 15_000, "usd", "one_off"), 12_500),
        ((1_000, 1_000, "GBP", "yearly"), 1_270),
        ((1_000, 1_000, "XYZ", "yearly"), None),
    ],
)
def test_annual_budget_is_the_yearly_midpoint_in_base_currency(
    rules: Rules, said: tuple[float, float, str | None, str], expected: float | None
) -> None:
    assert annual_budget(*said, rules) == expected


def test_an_unknown_budget_period_is_refused(rules: Rules) -> None:
    with pytest.raises(ValueError, match="weekly"):
        annual_budget(100, 100, None, "weekly", rules)


@pytest.mark.parametrize(
    "said, expected",
    [(20_000, 30), (19_999, 20), (5_000, 20), (4_999, 10), (1, 10), (0, 0), (None, 0)],
)
def test_budget_points_by_band(rules: Rules, said: float | None, expected: int) -> None:
    assert points(rules, "budget", answers(budget=said)) == expected


@pytest.mark.parametrize(
    "said, expected",
    [(0, 25), (3, 25), (3.1, 15), (6, 15), (12, 5), (12.5, 0), (None, 0)],
)
def test_timeline_points_by_band(rules: Rules, said: float | None, expected: int) -> None:
    assert points(rules, "timeline", answers(months=said)) == expected


@pytest.mark.parametrize(
    "said, expected",
    [("decision_maker", 20), ("influencer", 10), ("researcher", 0), (None, 0)],
)
def test_authority_points(rules: Rules, said: str | None, expected: int) -> None:
    assert points(rules, "authority", answers(authority=said)) == expected


@pytest.mark.parametrize(
    "said, expected",
    [("crm", 25), ("analytics", 25), ("other", 10), ("retired_offering", 10), (None, 0)],
)
def test_need_points(rules: Rules, said: str | None, expected: int) -> None:
    assert points(rules, "need", answers(need=said)) == expected


def test_an_unknown_authority_is_refused(rules: Rules) -> None:
    with pytest.raises(ValueError, match="boss"):
        score_lead(answers(authority="boss"), rules)


@pytest.mark.parametrize(
    "said, expected",
    [
        (answers("crm", 20_000, 6, None), (70, "hot", "potential_customer")),
        (answers("other", 5_000, 6, "decision_maker"), (65, "warm", "prospect")),
        (answers("other", 20_000, None, None), (40, "warm", "prospect")),
        (answers(None, 5_000, 6, None), (35, "cold", "lead")),
        (answers(), (0, "cold", "lead")),
    ],
)
def test_temperature_and_stage_follow_the_score(
    rules: Rules, said: QualifyingAnswers, expected: tuple[int, str, str]
) -> None:
    qualification = score_lead(said, rules)
    assert (qualification.score, qualification.temperature, qualification.stage) == expected


@pytest.mark.parametrize(
    "said, expected",
    [(70, "hot"), (69, "warm"), (40, "warm"), (39, "cold")],
)
def test_temperature_thresholds_are_inclusive(rules: Rules, said: int, expected: str) -> None:
    # Only the need scores, so the total is exactly the need points of these rules.
    only_need = replace(rules, need_points={"offering": said, "other": 0})
    qualification = score_lead(answers(need="crm"), only_need)
    assert (qualification.score, qualification.temperature) == (said, expected)


@pytest.mark.parametrize(
    "said, expected",
    [
        (("crm", (50_000, 50_000, "USD", "yearly"), 2, "decision_maker"), 100),
        (("customer_support", (800, 800, "USD", "monthly"), 9, "influencer"), 60),
        (("analytics", (2_000, 2_000, "EUR", "monthly"), 0, "influencer"), 90),
        (("crm", (5_000, 10_000, None, "one_off"), 1.4, "influencer"), 80),
    ],
)
def test_dev_scenario_totals(
    rules: Rules,
    said: tuple[str, tuple[float, float, str | None, str], float, str],
    expected: int,
) -> None:
    need, budget, months, authority = said
    qualified = answers(need, annual_budget(*budget, rules), months, authority)
    assert score_lead(qualified, rules).score == expected


def test_the_breakdown_explains_each_dimension(rules: Rules) -> None:
    qualification = score_lead(answers("crm", 50_000, 2, "decision_maker"), rules)
    assert qualification.rules_version == "2026-11-default"
    assert qualification.breakdown == (
        DimensionScore("budget", 30, "Budget of $50,000 a year: 20,000 or more"),
        DimensionScore("timeline", 25, "Buying in about 2 months: within 3 months"),
        DimensionScore("authority", 20, "Visitor makes the buying decision"),
        DimensionScore("need", 25, "Need matches the CRM offering"),
    )


def test_editing_the_file_changes_the_score(tmp_path: Path) -> None:
    text = RULES_FILE.read_text(encoding="utf-8")
    edited = text.replace("decision_maker: 20", "decision_maker: 15").replace(
        'version: "2026-11-default"', 'version: "2026-12-test"'
    )
    copy = tmp_path / "rules.yml"
    copy.write_text(edited, encoding="utf-8")
    qualification = score_lead(answers("crm", 50_000, 2, "decision_maker"), load_rules(copy))
    assert (qualification.score, qualification.rules_version) == (95, "2026-12-test")


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("base_currency: USD", "base_currency: dollars", "base_currency"),
        ("  EUR: 1.08", "  EUR: cheap", "currency_rates.EUR"),
        ("  - {min: 5000, points: 20}", "  - {min: 5000, points: lots}", r"budget\[1\]\.points"),
        ("  - {max: 6, points: 15}", "  - {maximum: 6, points: 15}", r"timeline\[1\]"),
        ("  influencer: 10\n", "", "authority"),
        ("  offering: 25", "  offering: 60", "add up to 100"),
        ("  hot: 70", "  hot: 30", "temperatures.warm"),
        ("  warm: prospect", "  tepid: prospect", "stages"),
        ("  warm: prospect", "  warm: warm_lead", "stages.warm must be one of lead, prospect"),
        ("  hot: potential_customer", "  hot: customer", "stages.hot must be one of"),
        ("temperatures:", "temperature:", "temperatures is missing"),
        (
            "  marketing_automation:\n",
            "  other:\n    keywords: [misc]\n  marketing_automation:\n",
            "offerings.other",
        ),
        ("    label: CRM\n    keywords:", "    label: CRM\n    words:", "offerings.crm.keywords"),
        ("free_mail_domains: [", "free_mail_domains: [[],", r"free_mail_domains\[0\]"),
        ("version:", "version: [", "not valid YAML"),
    ],
)
def test_a_broken_rules_file_names_what_is_wrong(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    text = RULES_FILE.read_text(encoding="utf-8")
    assert old in text
    broken = tmp_path / "broken.yml"
    broken.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_rules(broken)


def test_an_empty_rules_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yml"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match="empty.yml"):
        load_rules(empty)


def test_the_stages_scoring_names_are_stages_the_store_holds() -> None:
    assert set(SCORED_STAGES) <= set(STAGES)


@pytest.mark.parametrize(
    "budget, months, expected_budget, expected_timeline",
    [
        (
            (15_000, 15_000, None, "one_off"),
            5.98,
            "One-off budget of $15,000: between 5,000 and 20,000",
            "Buying in about 6 months: within 6 months",
        ),
        (
            (300, 300, None, "monthly"),
            0,
            "Budget of $3,600 a year: under 5,000",
            "Buying now: within 3 months",
        ),
        (
            (60_000, 60_000, None, "yearly"),
            30,
            "Budget of $60,000 a year: 20,000 or more",
            "Buying in about 2 years: later than 12 months",
        ),
        (
            (500, 500, None, "one_off"),
            1.38,
            "One-off budget of $500: under 5,000",
            "Buying in about 6 weeks: within 3 months",
        ),
    ],
)
def test_reasons_read_as_a_rep_would_say_them(
    rules: Rules,
    budget: tuple[float, float, str | None, str],
    months: float,
    expected_budget: str,
    expected_timeline: str,
) -> None:
    qualified = QualifyingAnswers(
        need_category=None,
        budget_annual=annual_budget(*budget, rules),
        timeline_months=months,
        authority=None,
        budget_period=budget[3],
    )
    breakdown = score_lead(qualified, rules).breakdown
    assert (breakdown[0].reason, breakdown[1].reason) == (expected_budget, expected_timeline)
