"""The JSON shape of a lead that the `leadbot` command and the review app print."""

from __future__ import annotations

from dataclasses import fields as dataclass_fields
from datetime import datetime
from typing import Any, Final

from crm_bridge.models import Lead
from crm_bridge.submission import LeadFields
from crm_bridge.timestamps import as_utc

# Numbers that JSON readers expect as floats even when the visitor said a round figure.
_FLOAT_FIELDS: Final = (
    "budget_min",
    "budget_max",
    "budget_annual",
    "timeline_months",
)


def lead_record(lead: Lead) -> dict[str, Any]:
    """The lead as a JSON-ready dict (contract section 5).

    Holds ``id``, every `LeadFields` field, ``score``, ``temperature``, ``stage``,
    ``breakdown``, ``rules_version``, ``source`` (where the lead came from: one of
    `crm_bridge.models.LEAD_SOURCES`, or None when unknown), ``conversations`` (sender id and
    channel, oldest first), ``handoff`` (the latest handoff's status or None), ``created_at``
    and ``updated_at``.
    Timestamps are ISO-8601 UTC strings; unknown values are None.
    """
    record: dict[str, Any] = {"id": lead.id}
    for field in dataclass_fields(LeadFields):
        value = getattr(lead, field.name)
        if value is not None and field.name in _FLOAT_FIELDS:
            value = float(value)
        record[field.name] = _iso(value) if isinstance(value, datetime) else value
    latest_handoff = max(
        lead.handoffs, key=lambda handoff: (handoff.created_at, handoff.id), default=None
    )
    record.update(
        score=lead.score,
        temperature=lead.temperature,
        stage=lead.stage,
        breakdown=lead.breakdown,
        rules_version=lead.rules_version,
        source=lead.source,
        conversations=[
            {"sender_id": chat.sender_id, "channel": chat.channel}
            for chat in sorted(lead.conversations, key=lambda chat: chat.id)
        ],
        handoff=None if latest_handoff is None else latest_handoff.status,
        created_at=_iso(lead.created_at),
        updated_at=_iso(lead.updated_at),
    )
    return record


def _iso(moment: datetime) -> str:
    return as_utc(moment).isoformat()
