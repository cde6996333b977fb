"""A whole qualification as the form's slots hold it: a hot lead's answers, for tests that
call the actions directly with a tracker or as Rasa would over HTTP."""

from __future__ import annotations

from typing import Any, Final

EMAIL: Final = "dana@northwind-labs.com"
NAME: Final = "Dana Whitfield"

HOT_ANSWERS: Final[dict[str, dict[str, Any]]] = {
    "need": {"said": "a CRM for our reps", "need": "a CRM for our reps", "need_category": "crm"},
    "budget": {
        "said": "50k a year",
        "budget_min": 50000.0,
        "budget_max": 50000.0,
        "budget_currency": "USD",
        "budget_period": "yearly",
        "budget_annual": 50000.0,
    },
    "timeline": {"said": "next month", "timeline_months": 1.0},
    "authority": {"said": "I'm the CEO", "authority": "decision_maker", "job_title": "CEO"},
    "consent": {"said": "yes", "consent": True, "consent_at": "2026-11-22T08:00:00+00:00"},
    "person_name": {"said": NAME, "person_name": NAME},
    "email": {"said": EMAIL, "email": EMAIL, "email_is_business": True},
    "company": {"said": "Northwind Labs", "company": "Northwind Labs"},
}


def yearly_budget(amount: float, said: str) -> dict[str, Any]:
    """The budget slot of a yearly amount in US dollars."""
    return {
        "said": said,
        "budget_min": amount,
        "budget_max": amount,
        "budget_currency": "USD",
        "budget_period": "yearly",
        "budget_annual": amount,
    }
