"""The sales reps' review app with 10,000 leads in the store, on SQLite and PostgreSQL.

Each store is filled in bulk through crm_bridge's models with leads as the bot and the reps
leave them: one or two conversations on the three channels with their transcripts and answers,
score history, handoffs at every status with their audit events and Slack alerts, owners and
notes, created over the last 90 days. The real web process (`python -m bot.web`, waitress)
serves the store; a rep logs in as a browser does (session cookie, CSRF token) and fetches each
page one request after another, over loopback: the time is the whole HTTP round trip.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

import requests
from sqlalchemy import insert
from sqlalchemy.orm import Session

from benchmarks.conversations import latency_ms
from benchmarks.report import Section, Target
from crm_bridge import accounts, outbox
from crm_bridge.migrate import upgrade
from crm_bridge.models import (
    Conversation,
    Handoff,
    Lead,
    LeadAnswer,
    LeadEvent,
    LeadNote,
    OutboxMessage,
    QualificationHistory,
    further,
)
from crm_bridge.store import make_engine, make_session_factory
from crm_bridge.timestamps import utc_now
from tests.review.factories import PASSWORD
from tests.review.live import RepBrowser
from tests.review.web_process import running_web
from tests.support import pg_server

LEADS: Final = {"full": 10_000, "smoke": 50}
REQUESTS: Final = {"full": 40, "smoke": 3}  # timed requests per page, after WARM_UP
WARM_UP: Final = 2
P95_GOAL_MS: Final = 200.0
CHUNK: Final = 500  # leads per transaction while filling
BENCH_DATABASE: Final = "leadbot_review_bench"
REP_EMAIL: Final = "bench.rep@example.com"
API_TOKEN: Final = "review-pages-bench-token"
SEED: Final = 9
DAYS: Final = 90

FIRST_NAMES: Final = ("Dana", "Lee", "Priya", "Tomás", "Mei", "Jonas", "Amara", "Ola", "Sam")
LAST_NAMES: Final = ("Reyes", "Kim", "Patel", "García", "Chen", "Berg", "Okafor", "Nilsen")
COMPANIES: Final = ("Northwind", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Acme")
NEEDS: Final = {
    "crm": "our reps track deals in spreadsheets and lose them",
    "customer_support": "support tickets pile up in a shared inbox",
    "marketing_automation": "we send every campaign email by hand",
    "analytics": "nobody trusts the numbers in our weekly report",
}
CHANNELS: Final = (("socketio", 0.6), ("rest", 0.25), ("slack", 0.15))
WEB_SOURCES: Final = ("direct", "search", "referral", "social", "campaign")
# Temperature -> (share of leads, score range, stage the rules give it).
TEMPERATURES: Final = {
    "hot": (0.15, (75, 100), "potential_customer"),
    "warm": (0.35, (45, 74), "prospect"),
    "cold": (0.50, (0, 44), "lead"),
}
HANDOFF_STATUSES: Final = (
    ("pending", 0.4),
    ("claimed", 0.2),
    ("accepted", 0.25),
    ("rejected", 0.15),
)
FORM: Final = ("need", "budget", "timeline", "authority", "consent", "person_name", "email")


@dataclass(frozen=True)
class Page:
    """One page a rep (or a script, for the API) opens."""

    name: str
    path: str  # "{lead}" is replaced by a lead with a handoff, a different one each time
    api: bool = False


PAGES: Final = (
    Page("queue", "/review/"),
    Page(
        "queue, filtered (warm prospects on Slack, last 30 days)",
        "/review/?temperature=warm&stage=prospect&channel=slack&since={month_ago}",
    ),
    Page("queue, pending handoffs only", "/review/?handoff=pending"),
    Page("queue, search by company", "/review/?q=northwind"),
    Page("queue, page 40", "/review/?page=40"),
    Page("lead page", "/review/leads/{lead}"),
    Page("funnel (last 30 days)", "/review/funnel"),
    Page("funnel (90 days)", "/review/funnel?since={quarter_ago}"),
    Page("API: leads, first page", "/api/leads?per_page=50", api=True),
    Page("API: leads, hot, search", "/api/leads?temperature=hot&q=globex", api=True),
)


@dataclass(frozen=True)
class Filled:
    """What the store holds after filling it, and how long that took."""

    leads: int
    handoffs: int
    rows: int
    seconds: float
    handoff_leads: list[int]

    def plus(self, more: Filled) -> Filled:
        """Both fills together (the time is set at the end)."""
        return Filled(
            self.leads + more.leads,
            self.handoffs + more.handoffs,
            self.rows + more.rows,
            0.0,
            self.handoff_leads + more.handoff_leads,
        )


@dataclass(frozen=True)
class PageTimes:
    """One page's round trips, in seconds."""

    page: Page
    times: list[float]
    bytes: int

    @property
    def ms(self) -> dict[str, float]:
        return latency_ms(self.times)


@dataclass(frozen=True)
class StoreRun:
    """One store: how it was filled and each page's times."""

    store: str
    filled: Filled
    pages: list[PageTimes]

    @property
    def worst(self) -> PageTimes:
        return max(self.pages, key=lambda p: p.ms["p95"])


def run(size: str, workdir: Path) -> Section:
    """The review pages section: p50/p95 per page with LEADS[size] leads, on both stores.

    Args:
        size: "full" fills 10,000 leads per store and times 40 requests per page; "smoke" 50
            leads and 3 requests.
        workdir: Holds the SQLite file and the web processes' logs; PostgreSQL runs in a
            temporary folder of its own.
    """
    count, requests_per_page = LEADS[size], REQUESTS[size]
    workdir.mkdir(parents=True, exist_ok=True)
    database = workdir / "review.db"
    database.unlink(missing_ok=True)
    runs = [
        measure_store(
            "SQLite", f"sqlite:///{database}", count, requests_per_page, workdir / "sqlite"
        )
    ]
    with pg_server.running(durable=True) as server:
        url = server.create_database(BENCH_DATABASE)
        runs.append(measure_store("PostgreSQL 15", url, count, requests_per_page, workdir / "pg"))
    return _section(runs, count, requests_per_page)


def measure_store(
    store: str, url: str, count: int, requests_per_page: int, workdir: Path
) -> StoreRun:
    """Migrates and fills the store at `url`, serves it, logs a rep in and times every page."""
    upgrade(url)
    filled = fill(url, count)
    with running_web(workdir, url, LEADBOT_API_TOKEN=API_TOKEN) as web:
        rep = RepBrowser(web.url, REP_EMAIL).log_in(PASSWORD)
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {API_TOKEN}"
        pages = [
            _time_page(page, rep.http if not page.api else api, web.url, filled, requests_per_page)
            for page in PAGES
        ]
    return StoreRun(store, filled, pages)


def fill(url: str, count: int, seed: int = SEED) -> Filled:
    """Writes `count` leads (and a rep's account, REP_EMAIL) into the migrated store at `url`.

    Rows go in as multi-row INSERTs through crm_bridge's models (column defaults applied), a
    chunk of leads per transaction: filling 10,000 leads one object at a time took minutes.
    """
    started = time.perf_counter()
    chance = random.Random(seed)
    engine = make_engine(url)
    try:
        sessions = make_session_factory(engine)
        with sessions.begin() as session:
            rep_id = accounts.add_user(session, REP_EMAIL, PASSWORD, "rep").id
        now = utc_now()
        written = Filled(0, 0, 0, 0.0, [])
        for first in range(0, count, CHUNK):
            plans = [_plan(chance, n, now) for n in range(first, min(count, first + CHUNK))]
            with sessions.begin() as session:
                written = written.plus(_write(session, plans, rep_id))
    finally:
        engine.dispose()
    return replace(written, seconds=time.perf_counter() - started)


@dataclass(frozen=True)
class _Plan:
    """One lead's rows before they have ids."""

    lead: dict[str, Any]
    chats: list[tuple[dict[str, Any], list[dict[str, Any]]]]  # a conversation and its answers
    history: list[dict[str, Any]]
    handoff: dict[str, Any] | None
    note: bool


def _write(session: Session, plans: list[_Plan], rep_id: int) -> Filled:
    for plan in plans:
        if plan.handoff and plan.handoff["status"] != "pending":
            plan.lead["owner_id"] = rep_id
    lead_ids = _insert(session, Lead, [plan.lead for plan in plans])
    chats = [
        (lead_id, chat)
        for lead_id, plan in zip(lead_ids, plans, strict=True)
        for chat in plan.chats
    ]
    chat_ids = _insert(
        session, Conversation, [{**chat, "lead_id": lead} for lead, (chat, _) in chats]
    )
    first_chat: dict[int, int] = {}
    for (lead_id, _), chat_id in zip(chats, chat_ids, strict=True):
        first_chat.setdefault(lead_id, chat_id)
    answers = [
        {**answer, "conversation_id": chat_id}
        for (_, (_, chat_answers)), chat_id in zip(chats, chat_ids, strict=True)
        for answer in chat_answers
    ]
    history = [
        {**row, "lead_id": lead_id}
        for lead_id, p in zip(lead_ids, plans, strict=True)
        for row in p.history
    ]
    wanted = [(lead_id, p) for lead_id, p in zip(lead_ids, plans, strict=True) if p.handoff]
    handoff_rows = [
        {**p.handoff, "lead_id": lead_id, "conversation_id": first_chat[lead_id]}
        for lead_id, p in wanted
        if p.handoff
    ]
    handoff_ids = _insert(session, Handoff, handoff_rows)
    audit = list(_audit(handoff_rows, handoff_ids))
    notes = [
        {"lead_id": lead_id, "author": REP_EMAIL, "body": "Called, wants a demo next week."}
        for lead_id, p in wanted
        if p.note
    ]
    for model, rows in (
        (LeadAnswer, answers),
        (QualificationHistory, history),
        (OutboxMessage, [row for kind, row in audit if kind == "alert"]),
        (LeadEvent, [row for kind, row in audit if kind == "event"]),
        (LeadNote, notes),
    ):
        if rows:
            session.execute(insert(model), rows)
    total = len(plans) + len(chats) + len(answers) + len(history) + len(handoff_rows)
    return Filled(
        len(plans), len(handoff_ids), total + len(audit) + len(notes), 0.0, [i for i, _ in wanted]
    )


def _insert(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> list[int]:
    """Inserts the rows in one statement; their new ids, in the rows' order."""
    if not rows:
        return []
    returning = insert(model).returning(model.id, sort_by_parameter_order=True)
    return list(session.scalars(returning, rows))


def _pick(chance: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    names, weights = zip(*weighted, strict=True)
    return chance.choices(names, weights)[0]


def _plan(chance: random.Random, number: int, now: datetime) -> _Plan:
    temperature = _pick(chance, tuple((t, share) for t, (share, _, _) in TEMPERATURES.items()))
    _, (low, high), stage = TEMPERATURES[temperature]
    if chance.random() < 0.06:
        stage = chance.choice(("customer", "disqualified"))
    created = now - timedelta(days=chance.uniform(0, DAYS))
    category = chance.choice(tuple(NEEDS))
    consent = chance.random() < 0.8
    first, last = chance.choice(FIRST_NAMES), chance.choice(LAST_NAMES)
    company = (
        f"{chance.choice(COMPANIES)} {chance.choice(('Logistics', 'Labs', 'Retail', 'Health'))}"
    )
    budget = float(chance.choice((5, 12, 20, 50, 80, 150)) * 1000)
    channel = _pick(chance, CHANNELS)
    chats = [_conversation(chance, number, 0, channel, created, consent)]
    if chance.random() < 0.1:  # came back on another channel
        chats.append(_conversation(chance, number, 1, "slack", created, consent))
    score = chance.randint(low, high)
    # A rep's stage (customer, disqualified) came after the bot's: the history shows a prospect.
    scored_stage = stage if stage in ("lead", "prospect", "potential_customer") else "prospect"
    lead = dict(
        need=NEEDS[category],
        need_category=category,
        budget_min=budget,
        budget_max=budget,
        budget_currency="USD",
        budget_period="yearly",
        budget_annual=budget,
        timeline_months=float(chance.choice((0.5, 1, 3, 6, 12))),
        authority=chance.choice(("decision_maker", "influencer", "researcher")),
        job_title=chance.choice(("Head of Sales", "COO", "Ops lead", None)),
        person_name=f"{first} {last}" if consent else None,
        email=f"{first.lower()}.{last.lower()}{number}@{company.split()[0].lower()}.example"
        if consent
        else None,
        email_is_business=True if consent else None,
        company=company if consent else None,
        consent=consent,
        consent_at=created if consent else None,
        score=score,
        temperature=temperature,
        stage=stage,
        # Written as the models keep it: the furthest of its stage and its history's.
        furthest_stage=further(stage, scored_stage),
        breakdown=_breakdown(score),
        rules_version="bench",
        source="slack" if channel == "slack" else chance.choice(WEB_SOURCES),
        owner_id=None,
        created_at=created,
        updated_at=created + timedelta(minutes=chance.uniform(1, 600)),
    )
    history = [
        dict(
            score=max(0, score - 15 * step),
            breakdown=_breakdown(max(0, score - 15 * step)),
            temperature=temperature,
            stage=scored_stage,
            rules_version="bench",
            created_at=created + timedelta(minutes=step),
        )
        for step in range(chance.randint(1, 3))
    ]
    handoff = None
    if consent and (temperature == "hot" or chance.random() < 0.02):
        status = _pick(chance, HANDOFF_STATUSES)
        decided = status in ("accepted", "rejected")
        handoff = dict(
            reason="hot_lead" if temperature == "hot" else "visitor_request",
            status=status,
            claimed_by=REP_EMAIL if status != "pending" else None,
            claimed_at=created + timedelta(hours=1) if status != "pending" else None,
            decided_at=created + timedelta(hours=2) if decided else None,
            reject_reason="not a fit" if status == "rejected" else None,
            created_at=created,
            updated_at=created + timedelta(hours=2),
        )
    return _Plan(lead, chats, history, handoff, note=chance.random() < 0.5)


def _conversation(
    chance: random.Random, number: int, visit: int, channel: str, started: datetime, consent: bool
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    # Some visitors stop part-way through the form: the funnel's drop-off.
    answered = FORM[: chance.choice((2, 4, 5, len(FORM), len(FORM), len(FORM)))]
    said = {
        "need": "we need a crm, deals slip through",
        "budget": "about 50k a year",
        "timeline": "next quarter",
        "authority": "I sign off on it",
        "consent": "yes" if consent else "no",
        "person_name": "Dana",
        "email": f"dana{number}@example.com",
    }
    transcript = []
    for step, slot in enumerate(answered):
        at = (started + timedelta(seconds=20 * step)).isoformat()
        transcript += [
            {"speaker": "bot", "text": f"May I ask about your {slot}?", "at": at},
            {"speaker": "visitor", "text": said[slot], "at": at},
        ]
    chat = dict(
        sender_id=f"bench-{number}-{visit}",
        channel=channel,
        consent=consent if "consent" in answered else None,
        transcript=transcript,
        page_url="https://acme.example/pricing" if channel == "socketio" else None,
        started_at=started,
        updated_at=started + timedelta(minutes=5),
    )
    answers = [
        dict(
            slot=slot,
            said=said[slot],
            value={"consent": consent} if slot == "consent" else {slot: said[slot]},
            answered_at=started,
        )
        for slot in answered
    ]
    return chat, answers


def _breakdown(score: int) -> list[dict[str, Any]]:
    return [
        {"dimension": "budget", "points": score // 3, "reason": "Budget of $50,000 a year"},
        {"dimension": "need", "points": score - score // 3, "reason": "Need matches the CRM"},
    ]


def _audit(handoffs: list[dict[str, Any]], ids: list[int]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each handoff's Slack alert, and the audit events of what the rep did with it."""
    for handoff, handoff_id in zip(handoffs, ids, strict=True):
        yield (
            "alert",
            {
                "kind": outbox.SLACK_HANDOFF_ALERT,
                "handoff_id": handoff_id,
                "status": "sent",
                "attempts": 1,
            },
        )
        done = ["claimed"] if handoff["status"] != "pending" else []
        done += [handoff["status"]] if handoff["status"] in ("accepted", "rejected") else []
        for kind in done:
            yield (
                "event",
                {
                    "lead_id": handoff["lead_id"],
                    "handoff_id": handoff_id,
                    "actor": REP_EMAIL,
                    "kind": kind,
                    "detail": {"status": kind},
                },
            )


def _time_page(
    page: Page, http: requests.Session, base_url: str, filled: Filled, count: int
) -> PageTimes:
    now = utc_now().date()
    leads = filled.handoff_leads or [1]
    times: list[float] = []
    size = 0
    for attempt in range(WARM_UP + count):
        path = page.path.format(
            lead=leads[attempt % len(leads)],
            month_ago=(now - timedelta(days=29)).isoformat(),
            quarter_ago=(now - timedelta(days=DAYS)).isoformat(),
        )
        started = time.perf_counter()
        response = http.get(base_url + path, timeout=60, allow_redirects=False)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"{page.name}: {path} answered {response.status_code}")
        if attempt >= WARM_UP:
            times.append(elapsed)
            size = len(response.content)
    return PageTimes(page, times, size)


def _section(runs: list[StoreRun], count: int, requests_per_page: int) -> Section:
    lines = [
        f"{count:,} leads per store, filled in bulk through crm_bridge's models (one or two "
        "conversations each with transcript and answers, score history, handoffs at every "
        "status with audit events and Slack alerts, owners and notes; created over the last "
        f"{DAYS} days). The real web process serves the store; one logged-in rep (or an API "
        f"client with the bearer token) fetches each page {requests_per_page} times after "
        f"{WARM_UP} warm-up requests, one request at a time over loopback. The lead page is a "
        "different lead with a handoff each time.",
        "",
        "| store | leads | handoffs | rows written | fill seconds |",
        "| --- | ---: | ---: | ---: | ---: |",
        *(
            f"| {r.store} | {r.filled.leads:,} | {r.filled.handoffs:,} | {r.filled.rows:,} "
            f"| {r.filled.seconds:.1f} |"
            for r in runs
        ),
        "",
        "| page | "
        + " | ".join(f"{r.store} p50 ms | {r.store} p95 ms" for r in runs)
        + " | size KB |",
        "| --- |" + " ---: | ---: |" * len(runs) + " ---: |",
    ]
    for index, page in enumerate(PAGES):
        cells = " | ".join(
            f"{r.pages[index].ms['p50']:.0f} | {r.pages[index].ms['p95']:.0f}" for r in runs
        )
        lines.append(f"| {page.name} | {cells} | {runs[0].pages[index].bytes / 1024:.0f} |")
    targets = []
    for r in runs:
        worst = r.worst
        met = worst.ms["p95"] < P95_GOAL_MS
        slow = [p for p in r.pages if p.ms["p95"] >= P95_GOAL_MS]
        targets.append(
            Target(
                f"review pages p95 with {count:,} leads, {r.store}",
                f"< {P95_GOAL_MS:.0f} ms on every page",
                f"worst: {worst.page.name}, {worst.ms['p95']:.0f} ms",
                met,
                None
                if met
                else "slower than the goal: "
                + ", ".join(f"{p.page.name} ({p.ms['p95']:.0f} ms)" for p in slow),
            )
        )
    data = {
        "leads": count,
        "requests_per_page": requests_per_page,
        "stores": [
            {
                "store": r.store,
                "filled": {
                    "leads": r.filled.leads,
                    "handoffs": r.filled.handoffs,
                    "rows": r.filled.rows,
                    "seconds": r.filled.seconds,
                },
                "pages": {p.page.name: {**p.ms, "bytes": p.bytes} for p in r.pages},
            }
            for r in runs
        ],
    }
    return Section("Review app pages", "\n".join(lines), targets, data)
