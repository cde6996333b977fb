"""How fast the lead service writes leads, on SQLite and PostgreSQL, against a raw INSERT floor.

Each store gets N first visits (a new sender's qualifying answers: a new lead) and then N
returning writes to the same senders (the rest of the form: timeline, authority, contact,
consent), each through ``with_retries(lambda s: leads.save_answers(...))`` in its own
transaction, as the action server writes. The floor is a plain driver loop on the same
database inserting one row per transaction with the same durability: what the disk and the
database cost before any ORM, lookup or second table.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Final

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from benchmarks.report import Section
from crm_bridge import leads
from crm_bridge.leads import Answer, ConversationRef, LeadFields, TranscriptLine
from crm_bridge.migrate import upgrade
from crm_bridge.models import Lead
from crm_bridge.retry import with_retries
from crm_bridge.store import make_engine, make_session_factory
from tests.support import pg_server

# 2000 per store took ~170 s at ~60 writes/s; 1000 keeps the section near 90 s.
SENDERS: Final = {"full": 1000, "smoke": 20}
BENCH_DATABASE: Final = "leadbot_bench"
FLOOR_TABLE: Final = "bench_raw_insert"


@dataclass(frozen=True)
class Pace:
    """How many writes took how long."""

    writes: int
    seconds: float

    @property
    def per_second(self) -> float:
        """Writes per second."""
        return self.writes / self.seconds if self.seconds else float("inf")


@dataclass(frozen=True)
class StoreSpeed:
    """One store's lead writes and its raw INSERT floor."""

    store: str
    first_visits: Pace
    returning: Pace
    raw_insert: Pace
    leads_stored: int
    durability: str


def run(size: str, workdir: Path) -> Section:
    """The store section: lead upserts per second on SQLite and PostgreSQL, and the floor.

    Args:
        size: "full" writes 1000 senders twice per store, "smoke" 20.
        workdir: where the SQLite file is made; PostgreSQL runs in its own temporary folder.
    """
    senders = SENDERS[size]
    folder = workdir / "store_speed"
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "leads.db"
    database.unlink(missing_ok=True)
    speeds = [
        _measure(
            "SQLite (file, WAL)",
            f"sqlite:///{database}",
            senders,
            lambda rows: _sqlite_floor(database, rows),
            _sqlite_durability(database),
        )
    ]
    with pg_server.running(durable=True) as server:
        url = server.create_database(BENCH_DATABASE)
        speeds.append(
            _measure(
                "PostgreSQL 15 (local, default durability)",
                url,
                senders,
                lambda rows: _postgres_floor(server, rows),
                _postgres_durability(server),
            )
        )
    return Section(
        title="Store write speed",
        markdown=_markdown(speeds, senders),
        data={"senders": senders, "stores": [_as_data(speed) for speed in speeds]},
    )


def _measure(
    store: str, url: str, senders: int, floor: Callable[[int], Pace], durability: str
) -> StoreSpeed:
    upgrade(url)
    engine = make_engine(url)
    try:
        sessions = make_session_factory(engine)
        first = _timed(senders, lambda i: with_retries(_first_visit(i), sessions))
        returning = _timed(senders, lambda i: with_retries(_returning_visit(i), sessions))
        stored = _lead_count(engine)
    finally:
        engine.dispose()
    return StoreSpeed(store, first, returning, floor(senders), stored, durability)


def _timed(count: int, write: Callable[[int], object]) -> Pace:
    started = time.perf_counter()
    for index in range(count):
        write(index)
    return Pace(count, time.perf_counter() - started)


def _first_visit(index: int) -> Callable[[Session], Lead]:
    """A new visitor's need and budget: creates the conversation and its lead."""
    said = [("need", "we need a crm, our 12 reps track deals in spreadsheets")]
    said.append(("budget", f"about {20 + index % 50}k a year"))
    fields = LeadFields(
        need=said[0][1],
        need_category="crm",
        budget_min=(20 + index % 50) * 1000.0,
        budget_max=(20 + index % 50) * 1000.0,
        budget_currency="USD",
        budget_period="yearly",
        budget_annual=(20 + index % 50) * 1000.0,
    )
    answers = [
        Answer("need", said[0][1], {"need": said[0][1], "need_category": "crm"}),
        Answer("budget", said[1][1], {"budget_min": fields.budget_min, "budget_period": "yearly"}),
    ]
    return _save(index, fields, answers, said)


def _returning_visit(index: int) -> Callable[[Session], Lead]:
    """The rest of the form for a known sender: updates the lead it already has."""
    said = [
        ("timeline", "next quarter"),
        ("authority", "I'm the head of sales, I sign off"),
        ("email", f"buyer{index}@acme-{index}.example"),
        ("consent", "yes"),
    ]
    fields = LeadFields(
        timeline_months=3.0,
        authority="decision_maker",
        job_title="Head of Sales",
        email=said[2][1],
        email_is_business=True,
        consent=True,
    )
    answers = [
        Answer("timeline", said[0][1], {"timeline_months": 3.0}),
        Answer("authority", said[1][1], {"authority": "decision_maker"}),
        Answer("email", said[2][1], {"email": said[2][1], "email_is_business": True}),
        Answer("consent", said[3][1], {"consent": True}),
    ]
    return _save(index, fields, answers, said)


def _save(
    index: int, fields: LeadFields, answers: list[Answer], said: list[tuple[str, str]]
) -> Callable[[Session], Lead]:
    now = datetime.now(timezone.utc)
    transcript = [TranscriptLine("bot", f"What about your {slot}?", now) for slot, _ in said]
    transcript += [TranscriptLine("visitor", text, now) for _, text in said]
    ref = ConversationRef(sender_id=f"bench-{index}", channel="rest")
    return lambda session: leads.save_answers(session, ref, fields, answers, transcript)


def _payload(index: int) -> str:
    return json.dumps({"sender_id": f"bench-{index}", "need": "a crm", "budget": "about 50k"})


def _sqlite_floor(database: Path, rows: int) -> Pace:
    connection = sqlite3.connect(database, isolation_level=None)
    try:
        connection.execute(f"CREATE TABLE {FLOOR_TABLE} (sender_id TEXT PRIMARY KEY, body TEXT)")
        started = time.perf_counter()
        for index in range(rows):
            # The same lock-up-front transaction crm_bridge uses on SQLite.
            connection.execute("BEGIN IMMEDIATE")
            connection.execute(
                f"INSERT INTO {FLOOR_TABLE} VALUES (?, ?)", (f"bench-{index}", _payload(index))
            )
            connection.execute("COMMIT")
        return Pace(rows, time.perf_counter() - started)
    finally:
        connection.close()


def _postgres_floor(server: pg_server.PostgresServer, rows: int) -> Pace:
    with server.connect(BENCH_DATABASE) as connection:
        connection.execute(f"CREATE TABLE {FLOOR_TABLE} (sender_id TEXT PRIMARY KEY, body TEXT)")
        connection.commit()
        started = time.perf_counter()
        for index in range(rows):
            connection.execute(
                f"INSERT INTO {FLOOR_TABLE} VALUES (%s, %s)", (f"bench-{index}", _payload(index))
            )
            connection.commit()
        return Pace(rows, time.perf_counter() - started)


def _sqlite_durability(database: Path) -> str:
    engine = make_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            level = connection.exec_driver_sql("PRAGMA synchronous").scalar()
    finally:
        engine.dispose()
    names = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
    return f"journal_mode=WAL, synchronous={names.get(int(level or 0), level)}"


def _postgres_durability(server: pg_server.PostgresServer) -> str:
    with server.connect("postgres") as connection:
        fsync = connection.execute("SHOW fsync").fetchone()
        commit = connection.execute("SHOW synchronous_commit").fetchone()
    return f"fsync={fsync[0] if fsync else '?'}, synchronous_commit={commit[0] if commit else '?'}"


def _lead_count(engine: Engine) -> int:
    sessions: sessionmaker[Session] = make_session_factory(engine)
    with sessions() as session:
        return len(leads.list_leads(session))


def _as_data(speed: StoreSpeed) -> dict[str, object]:
    return {
        "store": speed.store,
        "durability": speed.durability,
        "leads_stored": speed.leads_stored,
        "first_visits_per_s": speed.first_visits.per_second,
        "returning_per_s": speed.returning.per_second,
        "raw_insert_per_s": speed.raw_insert.per_second,
        "seconds": {
            "first_visits": speed.first_visits.seconds,
            "returning": speed.returning.seconds,
            "raw_insert": speed.raw_insert.seconds,
        },
    }


def _markdown(speeds: list[StoreSpeed], senders: int) -> str:
    lines = [
        f"{senders} senders per store, written one after another, each write in its own "
        "transaction through `with_retries(lambda s: leads.save_answers(...))`: first visits "
        "create a conversation, its lead and two answers; returning writes add four answers, "
        "an email and consent to the same lead. The floor is a plain driver loop inserting one "
        "row per transaction into one table of the same database, with the same durability.",
        "",
        "| store | durability | new leads / s | updates / s | raw INSERT / s (floor) "
        "| new / floor | update / floor | leads stored |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for speed in speeds:
        floor = speed.raw_insert.per_second
        lines.append(
            f"| {speed.store} | {speed.durability} | {speed.first_visits.per_second:.0f} "
            f"| {speed.returning.per_second:.0f} | {floor:.0f} "
            f"| {speed.first_visits.per_second / floor:.0%} "
            f"| {speed.returning.per_second / floor:.0%} | {speed.leads_stored} of {senders} |"
        )
    lines += [
        "",
        "A lead write costs more than the floor because it is several statements: it looks up "
        "the conversation and the email, inserts or updates the lead, the conversation and each "
        "answer, then reloads the lead's relations for the caller. Both stores commit once per "
        "write, so the floor is mostly the cost of a durable commit.",
    ]
    return "\n".join(lines)
