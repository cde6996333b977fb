"""Turning a visitor's answer to one qualifying question into the lead record's fields.

A qualifying slot holds a dict once its answer is understood:
``{"said": <the visitor's words>, <lead field>: <value>, ...}``, or
``{"said": ..., "declined": True}`` / ``{"said": ..., "skipped": True}`` with no fields.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any, Final

from qualifying.authority import parse_authority
from qualifying.company import employer_named_in, parse_company
from qualifying.consent import parse_consent
from qualifying.declines import DECLINED, Declined, means_decline
from qualifying.email import parse_email
from qualifying.money import parse_budget
from qualifying.name import parse_person_name
from qualifying.need import classify_need
from qualifying.rules import Rules
from qualifying.scoring import QualifyingAnswers, annual_budget
from qualifying.text import is_not_an_answer
from qualifying.timeline import parse_timeline

QUALIFYING_SLOTS: Final = ("need", "budget", "timeline", "authority")
CONTACT_SLOTS: Final = ("person_name", "email", "company")
FORM_SLOTS: Final = (*QUALIFYING_SLOTS, "consent", *CONTACT_SLOTS)

# Longer answers are cut before parsing: no real answer is this long, and parsers stay fast.
MAX_ANSWER_CHARS: Final = 500

Fields = dict[str, Any]
# Keys of a slot value that describe the answer rather than a lead field.
ANSWER_MARKERS: Final = ("said", "declined", "skipped")


def _need(text: str, rules: Rules) -> Fields | Declined | None:
    need = classify_need(text, rules.offerings, rules.offering_examples, rules.other_needs)
    if need is None or isinstance(need, Declined):
        return need
    return {"need": need.text, "need_category": need.category}


def _budget(text: str, rules: Rules) -> Fields | Declined | None:
    budget = parse_budget(text)
    if budget is None or isinstance(budget, Declined):
        return budget
    currency = budget.currency or rules.base_currency
    return {
        "budget_min": budget.min,
        "budget_max": budget.max,
        "budget_currency": currency,
        "budget_period": budget.period,
        "budget_annual": annual_budget(budget.min, budget.max, currency, budget.period, rules),
    }


def _timeline(text: str, rules: Rules) -> Fields | Declined | None:
    months = parse_timeline(text)
    if months is None or isinstance(months, Declined):
        return months
    return {"timeline_months": round(months, 2)}


def _authority(text: str, rules: Rules) -> Fields | Declined | None:
    authority = parse_authority(text)
    if authority is None or isinstance(authority, Declined):
        return authority
    title = authority.job_title
    employer = employer_named_in(title) if title else None
    if title and employer:
        # "CEO of Copperline": the title is "CEO"; the company is answered on its own.
        title = re.split(rf"\s+(?:at|of|from|with|for)\s+{re.escape(employer)}", title)[0]
    return {"authority": authority.level, "job_title": title}


def _consent(text: str, rules: Rules) -> Fields | Declined | None:
    consent = parse_consent(text)
    if consent is None:
        return None
    given_at = datetime.now(timezone.utc).isoformat() if consent else None
    return {"consent": consent, "consent_at": given_at}


def _person_name(text: str, rules: Rules) -> Fields | Declined | None:
    name = parse_person_name(text)
    return name if name is None or isinstance(name, Declined) else {"person_name": name}


def _email(text: str, rules: Rules) -> Fields | Declined | None:
    email = parse_email(text, rules.free_mail_domains)
    if email is None or isinstance(email, Declined):
        return email
    return {"email": email.address, "email_is_business": email.is_business}


def _company(text: str, rules: Rules) -> Fields | Declined | None:
    company = parse_company(text)
    return company if company is None or isinstance(company, Declined) else {"company": company}


_NORMALISERS: Final[Mapping[str, Callable[[str, Rules], Fields | Declined | None]]] = {
    "need": _need,
    "budget": _budget,
    "timeline": _timeline,
    "authority": _authority,
    "consent": _consent,
    "person_name": _person_name,
    "email": _email,
    "company": _company,
}


def understand(slot: str, said: str, rules: Rules) -> Fields | Declined | None:
    """The slot's normalised answer: a dict for the slot, DECLINED, or None when not understood."""
    text = said.strip()[:MAX_ANSWER_CHARS]
    if not text or is_not_an_answer(text):
        return None
    result = _NORMALISERS[slot](text, rules)
    if isinstance(result, Declined) or (result is None and means_decline(text)):
        return DECLINED
    return None if result is None else {"said": text, **result}


def declined(said: str) -> Fields:
    """The slot value of a question the visitor chose not to answer."""
    return {"said": said.strip()[:MAX_ANSWER_CHARS], "declined": True}


def skipped(said: str) -> Fields:
    """The slot value of a question skipped after an answer was not understood twice."""
    return {"said": said.strip()[:MAX_ANSWER_CHARS], "skipped": True}


def is_answered(value: Any) -> bool:
    """True for a slot value that holds an understood, declined or skipped answer."""
    return isinstance(value, dict) and "said" in value


def has_consent(slots: Mapping[str, Any]) -> bool:
    """True only when the visitor agreed to be contacted and to have answers stored."""
    consent = slots.get("consent")
    return isinstance(consent, dict) and consent.get("consent") is True


def refused_consent(slots: Mapping[str, Any]) -> bool:
    """True when the visitor answered the consent question with anything but yes."""
    return is_answered(slots.get("consent")) and not has_consent(slots)


def lead_fields(slots: Mapping[str, Any]) -> Fields:
    """Every lead record field learnt from the slots; contact data only with consent."""
    fields: Fields = {}
    for value in answered_slots(slots).values():
        fields.update({k: v for k, v in value.items() if k not in ANSWER_MARKERS})
    if fields.get("consent_at") is not None:
        fields["consent_at"] = datetime.fromisoformat(fields["consent_at"])
    return fields


def answered_slots(slots: Mapping[str, Any]) -> dict[str, Fields]:
    """The answered slots whose words may be stored: contact answers only with consent."""
    return {
        slot: slots[slot]
        for slot in FORM_SLOTS
        if is_answered(slots.get(slot)) and (slot not in CONTACT_SLOTS or has_consent(slots))
    }


def qualifying_answers(fields: Mapping[str, Any]) -> QualifyingAnswers:
    """The part of a lead's fields that scoring looks at."""
    return QualifyingAnswers(
        need_category=fields.get("need_category"),
        budget_annual=fields.get("budget_annual"),
        timeline_months=fields.get("timeline_months"),
        authority=fields.get("authority"),
        budget_period=fields.get("budget_period"),
    )
