"""What the JSON API takes and returns, as marshmallow schemas: the OpenAPI document is built
from these, so what it documents is what the API does."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from crm_bridge.inbox import HANDOFF_FILTERS
from crm_bridge.models import HANDOFF_STATUSES, LEAD_SOURCES, STAGES, TEMPERATURES

CHANNELS = ("socketio", "rest", "slack")


def _text(**options: Any) -> fields.String:
    return fields.String(allow_none=True, **options)


class LeadQuerySchema(Schema):
    """Filters and page of the leads list (all optional)."""

    temperature = fields.String(validate=validate.OneOf(TEMPERATURES))
    stage = fields.String(validate=validate.OneOf(STAGES))
    offering = fields.String(validate=validate.Length(min=1, max=64))
    owner = fields.String(
        validate=validate.Length(min=1, max=320),
        metadata={"description": "the owner's email, or `none` for leads nobody owns"},
    )
    channel = fields.String(validate=validate.OneOf(CHANNELS))
    source = fields.String(validate=validate.OneOf(LEAD_SOURCES))
    handoff = fields.String(
        validate=validate.OneOf(HANDOFF_FILTERS),
        metadata={"description": "the latest handoff's status, `open` or `none`"},
    )
    since = fields.Date(metadata={"description": "created on or after this day (UTC)"})
    until = fields.Date(metadata={"description": "created on or before this day (UTC)"})
    q = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "search in name, email and company"},
    )
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class HandoffQuerySchema(Schema):
    """Filters and page of the handoffs list."""

    status = fields.String(validate=validate.OneOf(HANDOFF_STATUSES))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class ReasonSchema(Schema):
    dimension = fields.String(required=True)
    points = fields.Integer(required=True)
    reason = fields.String(required=True)


class EventSchema(Schema):
    """One entry of a lead's audit: who did what and when."""

    id = fields.Integer(required=True)
    actor = fields.String(required=True, metadata={"description": "a user's email, or `bot`"})
    kind = fields.String(required=True)
    detail = fields.Dict(required=True)
    handoff_id = fields.Integer(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)


class NoteSchema(Schema):
    id = fields.Integer(required=True)
    author = fields.String(required=True)
    body = fields.String(required=True)
    created_at = fields.DateTime(required=True)


class AlertSchema(Schema):
    """The Slack alert announcing a handoff."""

    status = fields.String(required=True, validate=validate.OneOf(("pending", "sent", "failed")))
    attempts = fields.Integer(required=True)
    sent_at = fields.DateTime(allow_none=True, required=True)
    last_error = _text(required=True)


class HandoffSchema(Schema):
    """A request that a rep take over a lead, with every transition it went through."""

    id = fields.Integer(required=True)
    lead_id = fields.Integer(required=True)
    reason = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(HANDOFF_STATUSES))
    claimed_by = _text(required=True)
    claimed_at = fields.DateTime(allow_none=True, required=True)
    decided_at = fields.DateTime(allow_none=True, required=True)
    reject_reason = _text(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    slack_alert = fields.Nested(AlertSchema, allow_none=True, required=True)
    transitions = fields.List(fields.Nested(EventSchema), required=True)


class HandoffPageSchema(Schema):
    items = fields.List(fields.Nested(HandoffSchema), required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)


class LeadSummarySchema(Schema):
    """A lead as the list shows it (contract section 5's fields, plus owner and channels)."""

    id = fields.Integer(required=True)
    need = _text(required=True)
    need_category = _text(required=True)
    budget_min = fields.Float(allow_none=True, required=True)
    budget_max = fields.Float(allow_none=True, required=True)
    budget_currency = _text(required=True)
    budget_period = _text(required=True)
    budget_annual = fields.Float(allow_none=True, required=True)
    timeline_months = fields.Float(allow_none=True, required=True)
    authority = _text(required=True)
    job_title = _text(required=True)
    person_name = _text(required=True)
    email = _text(required=True)
    email_is_business = fields.Boolean(allow_none=True, required=True)
    company = _text(required=True)
    consent = fields.Boolean(allow_none=True, required=True)
    consent_at = fields.DateTime(allow_none=True, required=True)
    score = fields.Integer(allow_none=True, required=True)
    temperature = _text(required=True)
    stage = fields.String(required=True)
    source = _text(required=True)
    owner = _text(required=True, metadata={"description": "the owning rep's email"})
    channels = fields.List(fields.String(), required=True)
    handoff = _text(required=True, metadata={"description": "the latest handoff's status"})
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class LeadPageSchema(Schema):
    items = fields.List(fields.Nested(LeadSummarySchema), required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)


class TranscriptLineSchema(Schema):
    speaker = fields.String(required=True)
    text = fields.String(required=True)
    at = fields.String(required=True, metadata={"description": "ISO 8601, UTC"})


class AnswerSchema(Schema):
    """An answer as the visitor said it, next to its normalised value."""

    slot = fields.String(required=True)
    said = _text(required=True)
    value = fields.Dict(required=True)
    answered_at = fields.DateTime(required=True)


class ConversationSchema(Schema):
    id = fields.Integer(required=True)
    sender_id = fields.String(required=True)
    channel = fields.String(required=True)
    consent = fields.Boolean(allow_none=True, required=True)
    page_url = _text(required=True)
    referrer = _text(required=True)
    utm = fields.Dict(allow_none=True, required=True)
    held_by = _text(required=True, metadata={"description": "the rep writing in this chat"})
    started_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    answers = fields.List(fields.Nested(AnswerSchema), required=True)
    transcript = fields.List(fields.Nested(TranscriptLineSchema), required=True)


class HistorySchema(Schema):
    score = fields.Integer(required=True)
    temperature = fields.String(required=True)
    stage = fields.String(required=True)
    rules_version = fields.String(required=True)
    breakdown = fields.List(fields.Nested(ReasonSchema), required=True)
    created_at = fields.DateTime(required=True)


class LeadDetailSchema(LeadSummarySchema):
    """One lead with everything known about it."""

    breakdown = fields.List(fields.Nested(ReasonSchema), allow_none=True, required=True)
    rules_version = _text(required=True)
    history = fields.List(fields.Nested(HistorySchema), required=True)
    conversations = fields.List(fields.Nested(ConversationSchema), required=True)
    handoffs = fields.List(fields.Nested(HandoffSchema), required=True)
    notes = fields.List(fields.Nested(NoteSchema), required=True)
    events = fields.List(fields.Nested(EventSchema), required=True)
