"""Load: many visitors qualifying at once, and whether every lead they leave is stored right.

Each visitor plays a whole qualification as one of the consenting, finishing personas, under a
sender id and an email of its own (a returning email joins an existing lead by design, so shared
emails would merge visitors). Afterwards every visitor's lead is checked through crm_bridge.
The Rasa server runs with two Sanic workers on a Redis lock and tracker store, and, for
comparison, with one worker on Rasa's in-memory stores.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from benchmarks.conversations import (
    BenchBot,
    all_personas,
    hot_frames,
    latency_ms,
    running_bot,
    tree_memory,
)
from benchmarks.report import Section, Target
from crm_bridge import leads
from qualifying.consent import parse_consent
from tests.support.bot import free_port
from tests.support.scenario_player import Outcome, Persona, compare_lead, play

PLOT_NAME: Final = "latency_vs_concurrency.png"
# Concurrency level -> visitors played at it; small levels play more than one wave.
VISITORS: Final = {
    "full": {1: 5, 10: 20, 50: 50, 100: 100},
    "smoke": {1: 1, 3: 3},
}
LEVEL_BUDGET_S: Final = {"full": 240.0, "smoke": 60.0}
RASA_WORKERS: Final = 2  # the machine's cores
THROUGHPUT_LEVEL: Final = 10
THROUGHPUT_GOAL: Final = 15.0
LOST_LEVEL: Final = 100
REDIS_START_TIMEOUT_S: Final = 10.0
BROKE_OFF: Final = "the conversation broke off"
# An address inside whatever the visitor typed ("sure, it's Jo.Baker@Gmail.com").
EMAIL: Final = re.compile(r"[\w.+-]+(?=@[\w-]+(?:\.[\w-]+)+)")


@dataclass(frozen=True)
class Setup:
    """How the Rasa server runs under load."""

    name: str
    workers: int
    stores: str  # the lock and tracker stores, as the report names them
    uses_redis: bool

    @property
    def folder(self) -> str:
        """A folder name for this setup's logs and store."""
        return "redis-workers" if self.uses_redis else "in-memory"


@dataclass(frozen=True)
class Visitor:
    """One simulated visitor: a persona under a unique sender id and email."""

    sender_id: str
    persona: Persona


@dataclass
class Level:
    """What one concurrency level measured."""

    concurrency: int
    visitors: int
    played: int
    seconds: float
    turns: int
    latencies: list[float]
    breaks: list[str]  # why each conversation that broke off (HTTP error, time-out) did
    lost: int  # visitors without exactly one lead of their own
    wrong_fields: int  # visitors whose lead has a field the persona does not expect

    @property
    def errors(self) -> int:
        """Conversations that broke off on an HTTP error or time-out."""
        return len(self.breaks)

    @property
    def turns_per_s(self) -> float:
        """Visitor messages answered per second of wall time."""
        return self.turns / self.seconds if self.seconds else 0.0

    def as_json(self) -> dict[str, Any]:
        """The level's numbers, latencies summarised."""
        return {
            "concurrency": self.concurrency,
            "visitors": self.visitors,
            "played": self.played,
            "seconds": self.seconds,
            "turns": self.turns,
            "turns_per_s": self.turns_per_s,
            "latency_ms": latency_ms(self.latencies),
            "errors": self.errors,
            "breaks": sorted(set(self.breaks)),
            "lost": self.lost,
            "wrong_fields": self.wrong_fields,
        }


MULTI_WORKER: Final = Setup(
    f"{RASA_WORKERS} workers, Redis", RASA_WORKERS, "RedisLockStore + RedisTrackerStore", True
)
SINGLE_WORKER: Final = Setup(
    "1 worker, in memory", 1, "InMemoryLockStore + InMemoryTrackerStore", False
)


def qualifying_personas() -> list[Persona]:
    """The personas who agree to be contacted and finish the form."""
    return [
        p
        for p in all_personas()
        if not p.stop_after_interrupt and parse_consent(p.answer_for("consent")) is True
    ]


def as_visitor(persona: Persona, number: int) -> Visitor:
    """The persona as visitor `number`: its own sender id, and its email tagged `+v<number>`."""
    tag = f"+v{number}"

    def tagged(text: str) -> str:
        return EMAIL.sub(lambda m: m.group(0) + tag, text)

    expect = dict(persona.expect)
    if isinstance(expect.get("email"), str):
        expect["email"] = tagged(expect["email"])
    visitor_persona = replace(
        persona,
        opening=tagged(persona.opening),
        answers={slot: tagged(said) for slot, said in persona.answers.items()},
        interrupt=(
            None
            if persona.interrupt is None
            else {key: tagged(said) for key, said in persona.interrupt.items()}
        ),
        expect=expect,
    )
    return Visitor(f"load-{persona.id}-{number}-{uuid.uuid4().hex[:6]}", visitor_persona)


def play_level(
    bot: BenchBot, personas: Sequence[Persona], concurrency: int, visitors: int, budget_s: float
) -> Level:
    """Plays `visitors` visitors, `concurrency` at a time, then checks each one's lead.

    Visitors not started within `budget_s` are skipped and counted as not played.
    """
    crowd = [as_visitor(personas[n % len(personas)], n) for n in range(visitors)]
    deadline = time.monotonic() + budget_s

    def visit(visitor: Visitor) -> Outcome | None:
        if time.monotonic() > deadline:
            return None
        # The lead is checked once everyone is done, so the player reads none.
        return play(visitor.persona, bot.rasa_url, bot.token, _no_lead, visitor.sender_id)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        outcomes = list(pool.map(visit, crowd))
    seconds = time.perf_counter() - started
    played = [(v, o) for v, o in zip(crowd, outcomes, strict=True) if o is not None]
    lost, wrong = _check_leads(bot, [v for v, _ in played])
    return Level(
        concurrency=concurrency,
        visitors=visitors,
        played=len(played),
        seconds=seconds,
        turns=sum(o.turns for _, o in played),
        latencies=[s for _, o in played for s in o.latencies],
        breaks=[f for _, o in played for f in o.failures if f.startswith(BROKE_OFF)],
        lost=lost,
        wrong_fields=wrong,
    )


@contextmanager
def redis_server(workdir: Path) -> Iterator[str]:
    """A throwaway Redis on a free loopback port, without persistence; yields its URL."""
    executable = shutil.which("redis-server")
    if executable is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with (workdir / "redis.log").open("ab") as log:
        server = subprocess.Popen(
            [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
            + ["--dir", str(workdir)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_redis(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=15)


def setups_for(size: str) -> list[Setup]:
    """The setups a run loads: both in full mode (two workers only when Redis is installed);
    in smoke mode the single worker alone, which loads the model once and needs no Redis."""
    if size == "smoke":
        return [SINGLE_WORKER]
    has_redis = shutil.which("redis-server") is not None
    return [MULTI_WORKER, SINGLE_WORKER] if has_redis else [SINGLE_WORKER]


@contextmanager
def bot_for(setup: Setup, workdir: Path) -> Iterator[BenchBot]:
    """The bot running as `setup` prescribes, with its own Redis when it needs one."""
    if not setup.uses_redis:
        with running_bot(workdir) as bot:
            yield bot
        return
    with (
        redis_server(workdir) as redis_url,
        running_bot(workdir, setup.workers, redis_url) as bot,
    ):
        yield bot


def run(size: str, workdir: Path, running: Mapping[Setup, BenchBot] | None = None) -> Section:
    """Loads the bot at each concurrency level, per setup, and plots latency against it.

    Args:
        size: "full" (1, 10, 50, 100 visitors at once, both setups) or "smoke" (1 and 3, one
            setup, no profile).
        workdir: Scratch space; the plot is written here as PLOT_NAME.
        running: Bots already running, by setup; the other setups' bots are started here.

    Returns:
        The load section with its targets: turns/s at 10 visitors, leads lost at 100.
    """
    running = running or {}
    personas = qualifying_personas()
    setups = setups_for(size)
    results: dict[str, list[Level]] = {}
    memory: dict[str, float] = {}
    why_slow: str | None = None
    for setup in setups:
        with ExitStack() as stack:
            bot = running.get(setup) or stack.enter_context(bot_for(setup, workdir / setup.folder))
            results[setup.name] = [
                play_level(bot, personas, concurrency, visitors, LEVEL_BUDGET_S[size])
                for concurrency, visitors in VISITORS[size].items()
            ]
            memory[setup.name] = tree_memory(bot.rasa_pid).rss_mb
            busy = _throughput_level(results[setup.name])
            if setup is setups[0] and busy.turns_per_s < THROUGHPUT_GOAL:
                why_slow = (
                    "not profiled in smoke mode"
                    if size == "smoke"
                    else _profile(bot, personas, LEVEL_BUDGET_S[size])
                )
    plot(
        {name: [lvl.as_json() for lvl in levels] for name, levels in results.items()},
        workdir / PLOT_NAME,
    )
    return _section(results, memory, setups, why_slow)


def _section(
    results: dict[str, list[Level]],
    memory: dict[str, float],
    setups: list[Setup],
    why_slow: str | None,
) -> Section:
    main = results[setups[0].name]
    busy = _throughput_level(main)
    at_most = max(main, key=lambda lvl: lvl.concurrency)
    rows = [
        "Every visitor plays a whole qualification (one of "
        f"{len(qualifying_personas())} consenting, finishing personas, cycled) under its own "
        "sender id and email, over loopback from one client process of threads on the same "
        "machine. Each turn is one REST message; the player also reads the tracker after each "
        "turn (not counted as a turn). *Lost* = a visitor without exactly one lead of its own; "
        "*wrong fields* = a lead whose fields differ from the persona's expectations.",
        "",
    ]
    if not any(s.uses_redis for s in setups):
        rows += ["Only the in-memory setup ran (a smoke run, or redis-server is missing).", ""]
    for setup in setups:
        rows += [
            f"**{setup.name}**: `SANIC_WORKERS={setup.workers}`, {setup.stores}; Rasa server "
            f"RSS after the run {memory[setup.name]:.0f} MB.",
            "",
            "| visitors at once | played | turns | seconds | turns/s | p50 ms | p95 ms "
            "| errors | lost | wrong fields |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for level in results[setup.name]:
            ms = latency_ms(level.latencies)
            rows.append(
                f"| {level.concurrency} | {level.played} of {level.visitors} | {level.turns} "
                f"| {level.seconds:.1f} | {level.turns_per_s:.1f} | {ms['p50']:.0f} "
                f"| {ms['p95']:.0f} | {level.errors} | {level.lost} | {level.wrong_fields} |"
            )
        rows.append("")
    rows.append(f"![latency and throughput against concurrency]({PLOT_NAME})")
    lost_measured = (
        f"{at_most.lost} lost of {at_most.played} at {at_most.concurrency} "
        f"({at_most.wrong_fields} with a wrong field, {at_most.errors} errors)"
    )
    lost_ok = at_most.concurrency >= LOST_LEVEL and at_most.lost == 0 and at_most.played > 0
    targets = [
        Target(
            f"turns/s at {THROUGHPUT_LEVEL} concurrent visitors",
            ">= 15 turns/s",
            f"{busy.turns_per_s:.1f} turns/s at {busy.concurrency} at once ({setups[0].name})",
            busy.concurrency == THROUGHPUT_LEVEL and busy.turns_per_s >= THROUGHPUT_GOAL,
            why_slow
            if busy.concurrency == THROUGHPUT_LEVEL
            else f"the run went only up to {busy.concurrency} visitors at once",
        ),
        Target(
            f"lost leads at {LOST_LEVEL} concurrent visitors",
            "0",
            lost_measured,
            lost_ok,
            None if lost_ok else _why_lost(at_most),
        ),
    ]
    data = {
        "setups": {
            s.name: {"workers": s.workers, "stores": s.stores, "rasa_rss_mb": memory[s.name]}
            for s in setups
        },
        "levels": {name: [lvl.as_json() for lvl in levels] for name, levels in results.items()},
    }
    return Section("Load", "\n".join(rows), targets, data, [PLOT_NAME])


def _profile(bot: BenchBot, personas: Sequence[Persona], budget_s: float) -> str:
    """The servers' hot frames while THROUGHPUT_LEVEL visitors qualify at once."""

    def workload() -> None:
        play_level(bot, personas, THROUGHPUT_LEVEL, THROUGHPUT_LEVEL, budget_s)

    return hot_frames({"rasa": bot.rasa_pid, "actions": bot.actions_pid}, workload)


def _why_lost(level: Level) -> str:
    if level.concurrency < LOST_LEVEL:
        return f"the run went only up to {level.concurrency} visitors at once"
    if level.played < level.visitors:
        return f"only {level.played} of {level.visitors} visitors started within the time budget"
    return f"{level.errors} conversations broke off: {'; '.join(sorted(set(level.breaks)))}"


def _throughput_level(levels: Sequence[Level]) -> Level:
    """The level at THROUGHPUT_LEVEL visitors, or the busiest one below it (smoke)."""
    below = [lvl for lvl in levels if lvl.concurrency <= THROUGHPUT_LEVEL] or list(levels)
    return max(below, key=lambda lvl: lvl.concurrency)


def _check_leads(bot: BenchBot, visitors: Sequence[Visitor]) -> tuple[int, int]:
    """How many visitors have no lead of their own, and how many a lead with a wrong field."""
    with bot.sessions.begin() as session:
        found = {v.sender_id: leads.lead_for_sender(session, v.sender_id) for v in visitors}
        records = {sender: leads.lead_record(lead) for sender, lead in found.items() if lead}
    owners = Counter(lead.id for lead in found.values() if lead is not None)
    lost = sum(lead is None or owners[lead.id] > 1 for lead in found.values())
    wrong = sum(
        bool(compare_lead(v.persona.expect, records[v.sender_id]))
        for v in visitors
        if v.sender_id in records
    )
    return lost, wrong


def _no_lead(_sender_id: str) -> None:
    return None


def _wait_for_redis(port: int) -> None:
    deadline = time.monotonic() + REDIS_START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                if connection.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"redis-server did not answer on port {port}")


def plot(levels_by_setup: Mapping[str, Sequence[Mapping[str, Any]]], path: Path) -> None:
    """Draws p50/p95 latency and turns/s against concurrency, one line per setup, as a PNG.

    Args:
        levels_by_setup: Setup name to its levels as `Level.as_json` gives them (and as the
            load section's data in benchmarks.json holds them, so a page can be redrawn).
        path: The PNG to write.
    """
    import matplotlib

    matplotlib.use("Agg")  # no display; a PNG file only
    from matplotlib import pyplot
    from matplotlib.ticker import ScalarFormatter

    figure, (latency_axes, throughput_axes) = pyplot.subplots(1, 2, figsize=(11, 4.2))
    for name, levels in levels_by_setup.items():
        xs = [lvl["concurrency"] for lvl in levels]
        p50, p95 = ([lvl["latency_ms"][q] for lvl in levels] for q in ("p50", "p95"))
        (line,) = latency_axes.plot(xs, p50, marker="o", label=f"{name}: p50")
        colour = line.get_color()  # one colour per setup across both panels
        latency_axes.plot(xs, p95, colour, marker="s", linestyle="--", label=f"{name}: p95")
        throughput_axes.plot(
            xs, [lvl["turns_per_s"] for lvl in levels], colour, marker="o", label=name
        )
    throughput_axes.axhline(THROUGHPUT_GOAL, color="grey", linestyle=":", label="target 15/s")
    latency_axes.set(ylabel="turn latency (ms, log scale)", title="Latency", yscale="log")
    latency_axes.yaxis.set_major_formatter(ScalarFormatter())
    throughput_axes.set(ylabel="turns/s", title="Throughput", ylim=(0, None))
    ticks = sorted({lvl["concurrency"] for levels in levels_by_setup.values() for lvl in levels})
    for axes in (latency_axes, throughput_axes):
        axes.set(xlabel="visitors at once (log scale)", xscale="log", xticks=ticks)
        axes.xaxis.set_major_formatter(ScalarFormatter())
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
