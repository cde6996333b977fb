"""The review app's pages: the queue, a lead, follow-ups due, the funnel, the CSV export and,
for admins, the accounts. Every change a rep makes goes through `crm_bridge.lifecycle`."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Final

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import login_required
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from bot.crm_sync.config import DESTINATIONS as CRM_DESTINATIONS
from bot.settings import Settings
from bot.web.review import cadence, rescoring, store
from bot.web.review.auth import admin_required, me
from bot.web.review.rasa import RasaApi, RasaUnavailable
from crm_bridge import accounts, follow_ups, funnel, inbox, lifecycle, outbox
from crm_bridge.models import (
    LEAD_SOURCES,
    REP_STAGES,
    ROLES,
    STAGES,
    TEMPERATURES,
    Conversation,
    Lead,
)
from crm_bridge.timestamps import utc_now
from qualifying.answers import FORM_SLOTS

blueprint = Blueprint(
    "review",
    __name__,
    url_prefix="/review",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

PAGE_SIZE: Final = 50
CHANNELS: Final = ("socketio", "rest", "slack")
LIVE_CHANNELS: Final = ("socketio", "slack", "rest")
MAX_REPLY_CHARS: Final = 2000
# Cells a spreadsheet would run as formulas start with one of these: prefix them with '.
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")
QUESTIONS: Final = {
    "need": "What they want to solve",
    "budget": "Budget",
    "timeline": "Timeline",
    "authority": "Part in the decision",
    "consent": "Consent to be contacted",
    "person_name": "Name",
    "email": "Email",
    "company": "Company",
}
CSV_COLUMNS: Final = (
    "id",
    "person_name",
    "email",
    "company",
    "temperature",
    "score",
    "stage",
    "need_category",
    "need",
    "budget_annual",
    "timeline_months",
    "authority",
    "owner",
    "channels",
    "source",
    "handoff",
    "created_at",
)


def _settings() -> Settings:
    config: Settings = current_app.config["LEADBOT_SETTINGS"]
    return config


def _rasa() -> RasaApi:
    config = _settings()
    return RasaApi(f"http://127.0.0.1:{config.rasa_port}", config.rasa_api_token)


def _offerings() -> list[str]:
    try:
        return list(rescoring.rules(_settings().rules_path).offerings)
    except (OSError, ValueError):
        return []


# Filters: read from the query string, shown back in the form, used by the list and the export.


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _filters(args: MultiDict[str, str]) -> tuple[inbox.LeadFilter, dict[str, str]]:
    chosen = {
        key: (args.get(key) or "").strip()
        for key in (
            "temperature",
            "stage",
            "offering",
            "owner",
            "channel",
            "source",
            "handoff",
            "since",
            "until",
            "q",
        )
    }
    owner: int | str | None = None
    if chosen["owner"] == "me":
        owner = me().id
    elif chosen["owner"] == inbox.NO_OWNER:
        owner = inbox.NO_OWNER
    elif chosen["owner"].isdigit():
        owner = int(chosen["owner"])
    since, until = _day(chosen["since"]), _day(chosen["until"])
    lead_filter = inbox.LeadFilter(
        temperature=chosen["temperature"] if chosen["temperature"] in TEMPERATURES else None,
        stage=chosen["stage"] if chosen["stage"] in STAGES else None,
        offering=chosen["offering"] or None,
        owner_id=owner,
        channel=chosen["channel"] if chosen["channel"] in CHANNELS else None,
        source=chosen["source"] if chosen["source"] in LEAD_SOURCES else None,
        handoff=chosen["handoff"] if chosen["handoff"] in inbox.HANDOFF_FILTERS else None,
        since=datetime.combine(since, time.min, timezone.utc) if since else None,
        until=datetime.combine(until + timedelta(days=1), time.min, timezone.utc)
        if until
        else None,
        search=chosen["q"][:200] or None,
    )
    return lead_filter, chosen


def age(moment: datetime | None, now: datetime | None = None) -> str:
    """How long ago, as a rep reads it: "just now", "12 min", "3 h", "2 d"."""
    if moment is None:
        return ""
    seconds = max(0, int(((now or utc_now()) - moment).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


@blueprint.app_template_filter("age")
def _age_filter(moment: datetime | None) -> str:
    return age(moment)


@blueprint.app_template_filter("when")
def _when_filter(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


@blueprint.app_template_filter("stage_name")
def _stage_name(stage: str | None) -> str:
    return (stage or "").replace("_", " ")


def _sweep_follow_ups() -> None:
    """Give every warm lead its next follow-up (cheap when there is nothing to do)."""
    days = cadence.warm_cadence(_settings().rules_path)
    store.write(lambda session: follow_ups.schedule(session, days))


@blueprint.get("/")
@login_required
def queue() -> Any:
    """The inbox: pending handoffs first (hottest, then waiting longest), then every lead."""
    lead_filter, chosen = _filters(request.args)
    number = max(1, request.args.get("page", 1, type=int) or 1)
    with store.reads()() as session:
        rows, total = inbox.page(session, lead_filter, number, PAGE_SIZE)
        alerts = outbox.statuses(
            session, outbox.SLACK_HANDOFF_ALERT, [r.handoff.id for r in rows if r.handoff]
        )
        users = accounts.list_users(session)
        version = inbox.latest_change(session)
        waiting = inbox.waiting(session)
        crm_counts = outbox.counts(session, CRM_DESTINATIONS)
    export_args = {key: value for key, value in chosen.items() if value}
    return render_template(
        "review/queue.html",
        rows=rows,
        total=total,
        page=number,
        pages=max(1, -(-total // PAGE_SIZE)),
        chosen=chosen,
        alerts=alerts,
        users=users,
        version=version,
        waiting=waiting,
        offerings=_offerings(),
        temperatures=TEMPERATURES,
        stages=STAGES,
        channels=CHANNELS,
        sources=LEAD_SOURCES,
        handoff_filters=inbox.HANDOFF_FILTERS,
        export_url=url_for("review.export", **export_args),  # type: ignore[arg-type]
        webhook_configured=bool(_settings().slack_webhook_url),
        crm_dead_letters=sum(n for (_, status), n in crm_counts.items() if status == "failed"),
    )


@blueprint.get("/queue/version")
@login_required
def queue_version() -> Any:
    """A marker that changes when any lead or handoff does: the queue page polls it."""
    with store.reads()() as session:
        return jsonify(version=inbox.latest_change(session))


@blueprint.get("/leads.csv")
@login_required
def export() -> Response:
    """The filtered list as CSV, in the list's order."""
    lead_filter, _ = _filters(request.args)

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        with store.reads()() as session:
            for row in inbox.every_row(session, lead_filter):
                writer.writerow([_csv_cell(value) for value in _csv_values(row)])
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    stamp = utc_now().strftime("%Y%m%d-%H%M")
    return Response(
        stream_with_context(lines()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="leads-{stamp}.csv"'},
    )


def _csv_values(row: inbox.InboxRow) -> list[Any]:
    lead = row.lead
    return [
        lead.id,
        lead.person_name,
        lead.email,
        lead.company,
        lead.temperature,
        lead.score,
        lead.stage,
        lead.need_category,
        lead.need,
        lead.budget_annual,
        lead.timeline_months,
        lead.authority,
        lead.owner.email if lead.owner else None,
        " ".join(sorted({chat.channel for chat in lead.conversations})),
        lead.source,
        row.handoff.status if row.handoff else None,
        lead.created_at.isoformat(),
    ]


def _csv_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value


@blueprint.get("/leads/<int:lead_id>")
@login_required
def lead_page(lead_id: int) -> Any:
    """Everything about one lead: answers, score, history, chats, notes, follow-ups, audit."""
    with store.reads()() as session:
        try:
            lead = lifecycle.load_lead(session, lead_id)
        except lifecycle.NotFound:
            abort(404)
        handoff = max(lead.handoffs, key=lambda h: h.id, default=None)
        context = dict(
            lead=lead,
            handoff=handoff,
            contactable=lifecycle.contact_allowed(lead),
            answers=lifecycle.answers_by_conversation(session, lead_id),
            questions=QUESTIONS,
            events=lifecycle.events_of(session, lead_id),
            notes=lifecycle.notes_of(session, lead_id),
            tasks=follow_ups.of_lead(session, lead_id),
            alerts=outbox.statuses(
                session, outbox.SLACK_HANDOFF_ALERT, [h.id for h in lead.handoffs]
            ),
            held=[chat for chat in lead.conversations if chat.held_by],
            crm_sync=outbox.of_lead(session, lead_id),
            me=me(),
            now=utc_now(),
            rep_stages=REP_STAGES,
            live_channels=LIVE_CHANNELS,
            webhook_configured=bool(_settings().slack_webhook_url),
        )
        return render_template("review/lead.html", **context)


def _back(lead_id: int) -> Any:
    return redirect(url_for("review.lead_page", lead_id=lead_id))


def _act(lead_id: int, work: Any, done: str) -> Any:
    """Run one change in its own transaction; say what happened, or why it did not."""
    try:
        store.write(work)
    except lifecycle.NotFound:
        abort(404)
    except lifecycle.NotAllowed as error:
        flash(str(error), "error")
        return render_lead_error(lead_id, 403)
    except lifecycle.Conflict as error:
        flash(f"Not done: {error}.", "error")
        return render_lead_error(lead_id, 409)
    except (ValueError, RasaUnavailable) as error:
        flash(f"Not done: {error}.", "error")
        return render_lead_error(lead_id, 400 if isinstance(error, ValueError) else 502)
    flash(done, "info")
    return _back(lead_id)


def render_lead_error(lead_id: int, status: int) -> Any:
    """The lead page again, with the flashed reason, under an error status."""
    page = lead_page(lead_id)
    return (page, status) if isinstance(page, str) else page


def _handoff_of(session: Session, lead_id: int, handoff_id: int) -> int:
    lead = lifecycle.load_lead(session, lead_id)
    if handoff_id not in {h.id for h in lead.handoffs}:
        raise lifecycle.NotFound(f"no handoff {handoff_id} on lead {lead_id}")
    return handoff_id


@blueprint.post("/leads/<int:lead_id>/handoffs/<int:handoff_id>/claim")
@login_required
def claim(lead_id: int, handoff_id: int) -> Any:
    rep = me().record()
    return _act(
        lead_id,
        lambda s: lifecycle.claim_handoff(s, _handoff_of(s, lead_id, handoff_id), rep),
        "You own this lead now.",
    )


@blueprint.post("/leads/<int:lead_id>/handoffs/<int:handoff_id>/release")
@login_required
def release(lead_id: int, handoff_id: int) -> Any:
    rep = me().record()
    return _act(
        lead_id,
        lambda s: lifecycle.release_handoff(s, _handoff_of(s, lead_id, handoff_id), rep),
        "The handoff is back in the queue.",
    )


@blueprint.post("/leads/<int:lead_id>/handoffs/<int:handoff_id>/accept")
@login_required
def accept(lead_id: int, handoff_id: int) -> Any:
    rep = me().record()
    return _act(
        lead_id,
        lambda s: lifecycle.decide_handoff(s, _handoff_of(s, lead_id, handoff_id), rep, "accepted"),
        "Handoff accepted.",
    )


@blueprint.post("/leads/<int:lead_id>/handoffs/<int:handoff_id>/reject")
@login_required
def reject(lead_id: int, handoff_id: int) -> Any:
    rep = me().record()
    reason = request.form.get("reason", "")
    return _act(
        lead_id,
        lambda s: lifecycle.decide_handoff(
            s, _handoff_of(s, lead_id, handoff_id), rep, "rejected", reason
        ),
        "Handoff rejected.",
    )


@blueprint.post("/leads/<int:lead_id>/stage")
@login_required
def stage(lead_id: int) -> Any:
    rep, new_stage = me().record(), request.form.get("stage", "")
    return _act(
        lead_id,
        lambda s: lifecycle.set_stage(s, lead_id, new_stage, rep),
        f"Marked {new_stage.replace('_', ' ')}.",
    )


@blueprint.post("/leads/<int:lead_id>/notes")
@login_required
def add_note(lead_id: int) -> Any:
    rep, body = me().record(), request.form.get("body", "")
    return _act(lead_id, lambda s: lifecycle.add_note(s, lead_id, rep, body), "Note added.")


@blueprint.post("/leads/<int:lead_id>/rescore")
@login_required
def rescore(lead_id: int) -> Any:
    rep = me().record()
    rules_path = _settings().rules_path

    def work(session: Session) -> Lead:
        lead = lifecycle.load_lead(session, lead_id)
        scoring = rescoring.score(lead, rules_path)
        return lifecycle.apply_scoring(session, lead_id, scoring, rep.email)

    return _act(lead_id, work, "Re-scored with the current rules.")


def _chat(session: Session, lead_id: int, conversation_id: int) -> Conversation:
    chat = session.get(Conversation, conversation_id)
    if chat is None or chat.lead_id != lead_id:
        raise lifecycle.NotFound(f"no conversation {conversation_id} on lead {lead_id}")
    return chat


@blueprint.post("/leads/<int:lead_id>/chats/<int:conversation_id>/take-over")
@login_required
def take_over(lead_id: int, conversation_id: int) -> Any:
    rep, rasa = me().record(), _rasa()

    def work(session: Session) -> None:
        chat = _chat(session, lead_id, conversation_id)
        lifecycle.hold_conversation(session, chat.id, rep)
        rasa.pause(chat.sender_id)  # a failure rolls the hold back

    return _act(lead_id, work, "The bot is quiet: you are writing to the visitor.")


@blueprint.post("/leads/<int:lead_id>/chats/<int:conversation_id>/reply")
@login_required
def reply(lead_id: int, conversation_id: int) -> Any:
    rep, rasa = me().record(), _rasa()
    text = request.form.get("text", "").strip()

    def work(session: Session) -> None:
        if not text or len(text) > MAX_REPLY_CHARS:
            raise ValueError(f"write 1 to {MAX_REPLY_CHARS} characters")
        chat = _chat(session, lead_id, conversation_id)
        lifecycle.log_reply(session, chat.id, rep, text)
        rasa.say(chat.sender_id, text, rep.email)

    return _act(lead_id, work, "Sent to the visitor.")


@blueprint.post("/leads/<int:lead_id>/chats/<int:conversation_id>/<any('hand-back', close):how>")
@login_required
def leave_chat(lead_id: int, conversation_id: int, how: str) -> Any:
    rep, rasa = me().record(), _rasa()

    def work(session: Session) -> None:
        chat = _chat(session, lead_id, conversation_id)
        way = "handed_back" if how == "hand-back" else "closed"
        lifecycle.release_conversation(session, chat.id, rep, way)
        try:
            lines, _ = rasa.chat(chat.sender_id)
            lifecycle.replace_transcript(
                session,
                chat.id,
                [{"speaker": ln.speaker, "text": ln.text, "at": ln.at.isoformat()} for ln in lines],
            )
        except RasaUnavailable:
            pass  # the transcript catches up at the bot's next turn
        rasa.resume(chat.sender_id)

    done = "The bot answers the visitor again." if how == "hand-back" else "Chat closed."
    return _act(lead_id, work, done)


@blueprint.get("/leads/<int:lead_id>/chats/<int:conversation_id>/live")
@login_required
def live_chat(lead_id: int, conversation_id: int) -> Any:
    """The chat as the bot's tracker has it now, for the lead page to show replies as they come."""
    with store.reads()() as session:
        try:
            chat = _chat(session, lead_id, conversation_id)
        except lifecycle.NotFound:
            abort(404)
        sender_id, held_by = chat.sender_id, chat.held_by
    try:
        lines, paused = _rasa().chat(sender_id)
    except RasaUnavailable as error:
        return jsonify(error=str(error), messages=[]), 502
    return jsonify(
        held_by=held_by,
        paused=paused,
        messages=[
            {"speaker": line.speaker, "text": line.text, "at": line.at.isoformat(), "rep": line.rep}
            for line in lines
        ],
    )


@blueprint.get("/follow-ups")
@login_required
def due_follow_ups() -> Any:
    """Follow-ups due today or overdue, overdue first."""
    _sweep_follow_ups()
    now = utc_now()
    end_of_today = datetime.combine(now.date() + timedelta(days=1), time.min, timezone.utc)
    with store.reads()() as session:
        tasks = follow_ups.due(session, end_of_today)
        return render_template("review/follow_ups.html", tasks=tasks, now=now, me=me())


@blueprint.post("/follow-ups/<int:task_id>/<any(done, snooze):what>")
@login_required
def follow_up_action(task_id: int, what: str) -> Any:
    rep = me().record()
    days = request.form.get("days", 1, type=int) or 1
    try:
        if what == "done":
            store.write(lambda s: follow_ups.complete(s, task_id, rep))
            flash("Follow-up done.", "info")
        else:
            store.write(lambda s: follow_ups.snooze(s, task_id, rep, days))
            flash(f"Snoozed for {days} day{'s' if days != 1 else ''}.", "info")
    except lifecycle.NotFound:
        abort(404)
    except ValueError as error:
        flash(str(error), "error")
    return redirect(request.form.get("back") or url_for("review.due_follow_ups"))


@blueprint.get("/funnel")
@login_required
def funnel_page() -> Any:
    """Leads → prospects → potential customers → customers over a period, and drop-off."""
    today = utc_now().date()
    since = _day(request.args.get("since")) or today - timedelta(days=29)
    until = _day(request.args.get("until")) or today
    if until < since:
        since, until = until, since
    start = datetime.combine(since, time.min, timezone.utc)
    end = datetime.combine(until + timedelta(days=1), time.min, timezone.utc)
    with store.reads()() as session:
        report = funnel.funnel(session, start, end)
        drop = funnel.drop_off(session, FORM_SLOTS, start, end)
    return render_template(
        "review/funnel.html",
        report=report,
        drop=drop,
        since=since,
        until=until,
        levels=funnel.LEVELS,
        questions=QUESTIONS,
    )


@blueprint.route("/users", methods=["GET", "POST"])
@admin_required
def users() -> Any:
    """Admins only: every account, and a form to add one."""
    status = 200
    if request.method == "POST":
        email = request.form.get("email", "")
        role = request.form.get("role", "rep")
        password = request.form.get("password", "")
        try:
            store.write(lambda s: accounts.add_user(s, email, password, role))
            flash(f"{email.strip().lower()} can now log in.", "info")
            return redirect(url_for("review.users"))
        except accounts.AccountError as error:
            flash(str(error), "error")
            status = 400
    with store.reads()() as session:
        every = accounts.list_users(session)
    return render_template("review/users.html", users=every, roles=ROLES), status


@blueprint.post("/users/<int:user_id>/<any(enable, disable):what>")
@admin_required
def user_access(user_id: int, what: str) -> Any:
    if user_id == me().id:
        flash("You cannot disable your own account.", "error")
        return redirect(url_for("review.users"))
    store.write(lambda s: accounts.set_active(s, user_id, what == "enable"))
    return redirect(url_for("review.users"))
