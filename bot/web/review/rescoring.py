"""Re-scoring a stored lead with the rules file as it is now (the same scoring as the bot's)."""

from __future__ import annotations

from pathlib import Path

from crm_bridge.models import Lead
from crm_bridge.submission import Scoring
from qualifying.rules import Rules, current_rules
from qualifying.scoring import QualifyingAnswers, annual_budget, score_lead


def rules(path: Path) -> Rules:
    """The scoring rules in the file, read again whenever it changes."""
    return current_rules(path)


def score(lead: Lead, rules_path: Path) -> Scoring:
    """The lead's answers scored with the current rules (the budget converted with its rates)."""
    current = rules(rules_path)
    yearly = lead.budget_annual
    if lead.budget_min is not None and lead.budget_max is not None and lead.budget_period:
        yearly = annual_budget(
            lead.budget_min, lead.budget_max, lead.budget_currency, lead.budget_period, current
        )
    need = lead.need_category if lead.need_category in current.offerings else None
    if need is None and lead.need:
        need = "other"
    qualification = score_lead(
        QualifyingAnswers(
            need_category=need,
            budget_annual=yearly,
            timeline_months=lead.timeline_months,
            authority=lead.authority,
            budget_period=lead.budget_period,
        ),
        current,
    )
    return Scoring(
        score=qualification.score,
        breakdown=[
            {"dimension": d.dimension, "points": d.points, "reason": d.reason}
            for d in qualification.breakdown
        ],
        temperature=qualification.temperature,
        stage=qualification.stage,
        rules_version=qualification.rules_version,
    )
