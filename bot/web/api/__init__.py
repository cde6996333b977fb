"""The JSON API under ``/api/``: leads (filtered, paginated), one lead with its history and
transcripts, handoffs with their transitions, notes. Every call needs
``Authorization: Bearer $LEADBOT_API_TOKEN`` (401 without; the API is off when the token is
unset). The OpenAPI document, ``/api/openapi.json``, is generated from the views and schemas.
"""

from __future__ import annotations

import hmac
from datetime import datetime, time, timedelta, timezone
from typing import Any, Final

from flask import Flask, current_app, request
from flask_smorest import Api, Blueprint, abort
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from bot.settings import Settings
from bot.web.api import schemas
from bot.web.review import store
from crm_bridge import inbox, lifecycle, outbox
from crm_bridge.models import Handoff, Lead, LeadEvent, OutboxMessage, User
from crm_bridge.record import lead_record

API_PREFIX: Final = "/api"
BEARER: Final[dict[str, list[str]]] = {"bearerAuth": []}

blueprint = Blueprint(
    "api",
    __name__,
    url_prefix=API_PREFIX,
    description="Leads, handoffs and notes of the CRM store, for scripts and other tools.",
)


class _Api(Api):  # type: ignore[misc]
    """flask-smorest's Api, answering errors in JSON under /api/ only (the review app's pages
    keep their HTML error pages)."""

    def _register_error_handlers(self) -> None:
        def handle(error: HTTPException) -> Any:
            if not request.path.startswith(API_PREFIX + "/"):
                return error
            payload, status, headers = self.handle_http_exception(error)
            # Keep what the error itself says in headers (a 405's Allow, for one).
            kept = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
            return payload, status, {**kept, **(headers or {})}

        self._app.register_error_handler(HTTPException, handle)


def init_app(app: Flask) -> None:
    """Serve the API and its OpenAPI document on ``app``."""
    app.config.update(
        API_TITLE="leadbot",
        API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=API_PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "security": [BEARER],
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
            "servers": [{"url": "/"}],
        },
    )
    api = _Api(app)
    api.register_blueprint(blueprint)


def _token() -> str | None:
    config: Settings = current_app.config["LEADBOT_SETTINGS"]
    return config.api_token


@blueprint.before_request
def _require_token() -> None:
    expected = _token()
    given = request.headers.get("Authorization", "")
    scheme, _, token = given.partition(" ")
    if (
        not expected
        or scheme.lower() != "bearer"
        or not hmac.compare_digest(token.strip().encode(), expected.encode())
    ):
        message = "Send Authorization: Bearer <LEADBOT_API_TOKEN>."
        if not expected:
            message = "The API is off: set LEADBOT_API_TOKEN."
        abort(401, message=message, headers={"WWW-Authenticate": 'Bearer realm="leadbot"'})


def _iso_day(day: Any, end: bool = False) -> datetime | None:
    if day is None:
        return None
    moment = datetime.combine(day, time.min, timezone.utc)
    return moment + timedelta(days=1) if end else moment


def _owner_filter(session: Session, owner: str | None) -> int | str | None:
    if owner is None:
        return None
    if owner == inbox.NO_OWNER:
        return inbox.NO_OWNER
    user_id = session.scalar(select(User.id).where(User.email == owner.strip().lower()))
    return user_id if user_id is not None else -1


def _summary(lead: Lead, handoff: Handoff | None) -> dict[str, Any]:
    record = lead_record(lead)
    record.pop("conversations")
    record.pop("breakdown")
    record.pop("rules_version")
    record.update(
        source=lead.source,
        owner=lead.owner.email if lead.owner else None,
        channels=sorted({chat.channel for chat in lead.conversations}),
        handoff=handoff.status if handoff else None,
        created_at=lead.created_at,
        updated_at=lead.updated_at,
        consent_at=lead.consent_at,
    )
    return record


def _handoff(handoff: Handoff, alert: OutboxMessage | None, events: list[LeadEvent]) -> Any:
    return {
        **{
            name: getattr(handoff, name)
            for name in (
                "id",
                "lead_id",
                "reason",
                "status",
                "claimed_by",
                "claimed_at",
                "decided_at",
                "reject_reason",
                "created_at",
                "updated_at",
            )
        },
        "slack_alert": None
        if alert is None
        else {
            "status": "pending" if alert.status == "sending" else alert.status,
            "attempts": alert.attempts,
            "sent_at": alert.sent_at,
            "last_error": alert.last_error,
        },
        "transitions": events,
    }


_NOT_FOUND: Final = {"description": "No such record."}
_UNAUTHORISED: Final = {"description": "No or wrong bearer token."}


@blueprint.get("/leads")
@blueprint.arguments(schemas.LeadQuerySchema, location="query", as_kwargs=True)
@blueprint.response(200, schemas.LeadPageSchema)
@blueprint.alt_response(401, description=_UNAUTHORISED["description"])
def list_leads(page: int, per_page: int, **query: Any) -> Any:
    """Leads, filtered, in the reps' queue order (pending handoffs first, hottest, oldest)."""
    with store.reads()() as session:
        lead_filter = inbox.LeadFilter(
            temperature=query.get("temperature"),
            stage=query.get("stage"),
            offering=query.get("offering"),
            owner_id=_owner_filter(session, query.get("owner")),
            channel=query.get("channel"),
            source=query.get("source"),
            handoff=query.get("handoff"),
            since=_iso_day(query.get("since")),
            until=_iso_day(query.get("until"), end=True),
            search=query.get("q"),
        )
        rows, total = inbox.page(session, lead_filter, page, per_page)
        items = [_summary(row.lead, row.handoff) for row in rows]
    return {"items": items, "page": page, "per_page": per_page, "total": total}


@blueprint.get("/leads/<int:lead_id>")
@blueprint.response(200, schemas.LeadDetailSchema)
@blueprint.alt_response(401, description=_UNAUTHORISED["description"])
@blueprint.alt_response(404, description=_NOT_FOUND["description"])
def get_lead(lead_id: int) -> Any:
    """One lead: answers as said and normalised, score reasons, stage history, every
    conversation with its transcript, handoffs with transitions, notes and the audit."""
    with store.reads()() as session:
        try:
            lead = lifecycle.load_lead(session, lead_id)
        except lifecycle.NotFound:
            abort(404, message=f"No lead {lead_id}.")
        answers = lifecycle.answers_by_conversation(session, lead_id)
        handoff_ids = [h.id for h in lead.handoffs]
        transitions = lifecycle.handoff_events(session, handoff_ids)
        alerts = outbox.statuses(session, outbox.SLACK_HANDOFF_ALERT, handoff_ids)
        latest = max(lead.handoffs, key=lambda h: h.id, default=None)
        record = _summary(lead, latest)
        record.update(
            breakdown=lead.breakdown,
            rules_version=lead.rules_version,
            history=list(lead.history),
            conversations=[
                {
                    **{
                        name: getattr(chat, name)
                        for name in (
                            "id",
                            "sender_id",
                            "channel",
                            "consent",
                            "page_url",
                            "referrer",
                            "utm",
                            "held_by",
                            "started_at",
                            "updated_at",
                            "transcript",
                        )
                    },
                    "answers": answers.get(chat.id, []),
                }
                for chat in lead.conversations
            ],
            handoffs=[_handoff(h, alerts.get(h.id), transitions[h.id]) for h in lead.handoffs],
            notes=lifecycle.notes_of(session, lead_id),
            events=lifecycle.events_of(session, lead_id),
        )
        return record


@blueprint.get("/leads/<int:lead_id>/notes")
@blueprint.response(200, schemas.NoteSchema(many=True))
@blueprint.alt_response(401, description=_UNAUTHORISED["description"])
@blueprint.alt_response(404, description=_NOT_FOUND["description"])
def lead_notes(lead_id: int) -> Any:
    """A lead's notes, newest first."""
    with store.reads()() as session:
        if session.get(Lead, lead_id) is None:
            abort(404, message=f"No lead {lead_id}.")
        return lifecycle.notes_of(session, lead_id)


@blueprint.get("/handoffs")
@blueprint.arguments(schemas.HandoffQuerySchema, location="query", as_kwargs=True)
@blueprint.response(200, schemas.HandoffPageSchema)
@blueprint.alt_response(401, description=_UNAUTHORISED["description"])
def list_handoffs(page: int, per_page: int, status: str | None = None) -> Any:
    """Handoffs, newest first, with their transitions and Slack alert."""
    with store.reads()() as session:
        query = select(Handoff)
        if status:
            query = query.where(Handoff.status == status)
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        found = list(
            session.scalars(
                query.order_by(Handoff.created_at.desc(), Handoff.id.desc())
                .limit(per_page)
                .offset((page - 1) * per_page)
            )
        )
        ids = [h.id for h in found]
        transitions = lifecycle.handoff_events(session, ids)
        alerts = outbox.statuses(session, outbox.SLACK_HANDOFF_ALERT, ids)
        items = [_handoff(h, alerts.get(h.id), transitions[h.id]) for h in found]
        return {"items": items, "page": page, "per_page": per_page, "total": total}


@blueprint.get("/handoffs/<int:handoff_id>")
@blueprint.response(200, schemas.HandoffSchema)
@blueprint.alt_response(401, description=_UNAUTHORISED["description"])
@blueprint.alt_response(404, description=_NOT_FOUND["description"])
def get_handoff(handoff_id: int) -> Any:
    """One handoff with its transitions (pending → claimed → accepted or rejected)."""
    with store.reads()() as session:
        handoff = session.get(Handoff, handoff_id)
        if handoff is None:
            abort(404, message=f"No handoff {handoff_id}.")
        assert handoff is not None  # abort raised
        alert = outbox.statuses(session, outbox.SLACK_HANDOFF_ALERT, [handoff_id])
        events = lifecycle.handoff_events(session, [handoff_id])[handoff_id]
        return _handoff(handoff, alert.get(handoff_id), events)
