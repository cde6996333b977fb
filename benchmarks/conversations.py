"""Conversations, single-visitor speed, startup and footprint of the real bot.

Starts both servers on a fresh SQLite store, plays every persona once, and compares the bot's
per-turn latency with Rasa's own `/model/parse` on the same texts. The running-bot helpers here
(`running_bot`, `tree_memory`, `hot_frames`, `latency_ms`) serve the load section too.
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import requests
from sqlalchemy.orm import Session, sessionmaker

from benchmarks.report import Section, Target
from crm_bridge import leads
from crm_bridge.store import make_engine, make_session_factory
from tests.support.bot import RunningBot
from tests.support.bot import running_bot as shared_running_bot
from tests.support.scenario_player import Outcome, Persona, load_personas, play

ROOT: Final = Path(__file__).resolve().parents[1]
DEV_SCENARIOS: Final = ROOT.parent / "shared" / "scenarios" / "dev.yml"
OUR_PERSONAS: Final = ROOT / "tests" / "personas"
# Written from the contract alone by someone who never saw our data or parsers; never trained on.
INDEPENDENT_PERSONAS: Final = ROOT / "tests" / "eval" / "personas.yml"
SMOKE_PERSONAS: Final = 3
SMOKE_PARSE_TEXTS: Final = 10
WORKERS_READY_TIMEOUT_S: Final = 300.0
RASA_READY_LINE: Final = "Rasa server is up and running."
PERSONA_SHARE_GOAL: Final = 0.95
P95_GOAL_MS: Final = 150.0
RSS_GOAL_MB: Final = 1024.0
PROFILE_SECONDS: Final = 20
PY_SPY: Final = Path(sys.executable).parent / "py-spy"
TOP_FRAMES: Final = 10
# Leaf frames of a process waiting: Sanic's event loop in epoll, the parent of forked workers.
IDLE_LEAVES: Final = ("sanic/server/runners.py", "popen_fork.py", "selectors.py", "threading.py")
BOT_CODE: Final = ("rasa/", "rasa_sdk/", "actions/", "crm_bridge/")
ENTRY_POINT_SHARE: Final = 0.75


@dataclass(frozen=True)
class BenchBot:
    """The running bot as the benchmark measures it: the shared test bot, its startup time,
    its setup in the report's words, and direct reads of its lead store."""

    running: RunningBot
    startup_s: float  # from starting the processes to the first REST answer
    sessions: sessionmaker[Session]
    setup: str  # workers and stores, as the report names them

    @property
    def rasa_url(self) -> str:
        return self.running.rasa_url

    @property
    def token(self) -> str:
        return self.running.token

    @property
    def rasa_pid(self) -> int:
        return self.running.processes[-1].pid

    @property
    def actions_pid(self) -> int:
        return self.running.processes[0].pid

    def read_lead(self, sender_id: str) -> dict[str, Any] | None:
        """The lead of one conversation as `leadbot leads show --json` prints it, or None."""
        with self.sessions.begin() as session:
            return leads.record_for_sender(session, sender_id)


@dataclass(frozen=True)
class Footprint:
    """Memory of one server's process tree, summed over its processes."""

    rss_mb: float
    pss_mb: float  # shares pages between forked workers fairly, so it adds up honestly
    processes: int


def all_personas() -> list[Persona]:
    """Every persona: the shared dev scenarios, then ours."""
    return [*load_personas(DEV_SCENARIOS), *load_personas(OUR_PERSONAS)]


@contextmanager
def running_bot(
    workdir: Path, rasa_workers: int = 1, redis_url: str | None = None
) -> Iterator[BenchBot]:
    """Starts the real servers on free ports and a fresh SQLite store, then stops them.

    Args:
        workdir: Holds the store, the generated Rasa files and the servers' logs.
        rasa_workers: Rasa's Sanic workers; more than one needs `redis_url`.
        redis_url: Redis for Rasa's lock and tracker stores; None keeps them in memory.

    Yields:
        The bot, once every Rasa worker has loaded the model.
    """
    began = time.perf_counter()
    with shared_running_bot(workdir, rasa_workers=rasa_workers, redis_url=redis_url) as bot:
        engine = make_engine(bot.database_url)
        try:
            _first_answer(bot.rasa_url)
            startup_s = time.perf_counter() - began
            _wait_for_workers(workdir / "rasa.log", rasa_workers)
            yield BenchBot(
                running=bot,
                startup_s=startup_s,
                sessions=make_session_factory(engine),
                setup=(
                    f"{rasa_workers} Rasa worker{'s' if rasa_workers > 1 else ''}, "
                    f"{'Redis' if redis_url else 'in-memory'} lock and tracker stores"
                ),
            )
        finally:
            engine.dispose()


def tree_memory(pid: int) -> Footprint:
    """RSS and PSS of a process and all its descendants, read from /proc."""
    family = _descendants(pid)
    rss_kb = pss_kb = 0
    for member in family:
        rss_kb += _proc_kb(Path(f"/proc/{member}/status"), "VmRSS:")
        pss_kb += _proc_kb(Path(f"/proc/{member}/smaps_rollup"), "Pss:")
    return Footprint(rss_kb / 1024, pss_kb / 1024, len(family))


def latency_ms(latencies_s: Sequence[float]) -> dict[str, float]:
    """p50, p95 and p99 in milliseconds (linear interpolation); zeros when there is nothing."""
    if not latencies_s:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0}
    ordered = sorted(latencies_s)
    return {f"p{q}": 1000 * _percentile(ordered, q / 100) for q in (50, 95, 99)}


def hot_frames(pids: dict[str, int], workload: Callable[[], object]) -> str:
    """Samples the servers with py-spy while `workload` runs; their hottest frames, as markdown.

    Args:
        pids: Server name to the root pid of its process tree (forked workers are included).
        workload: Traffic that keeps the servers busy for about PROFILE_SECONDS.

    Returns:
        The load average, then per server, among the samples where it was busy: the frames
        most often on top of the stack (own time), and the Rasa, rasa_sdk and leadbot functions
        most often anywhere in it (time inside them); or why profiling was not possible.
    """
    with tempfile.TemporaryDirectory(prefix="leadbot-profile-") as scratch:
        recorders = {
            name: subprocess.Popen(
                [
                    str(PY_SPY),
                    "record",
                    "--pid",
                    str(pid),
                    "--subprocesses",
                    "--nonblocking",
                    "--function",  # one entry per function, not per line
                    "--duration",
                    str(PROFILE_SECONDS),
                    "--format",
                    "raw",
                    "--output",
                    str(Path(scratch) / f"{name}.txt"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name, pid in pids.items()
        }
        workload()
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        lines = [f"load average (1, 5, 15 min) while profiling: {load} on {os.cpu_count()} cores"]
        for name, recorder in recorders.items():
            _, errors = recorder.communicate(timeout=PROFILE_SECONDS + 60)
            raw = Path(scratch) / f"{name}.txt"
            if recorder.returncode != 0 or not raw.exists():
                lines.append(f"{name}: py-spy failed ({errors.strip()[-200:]})")
                continue
            lines += _profile_summary(name, raw.read_text())
        return "\n".join(lines)


def run(size: str, workdir: Path, bot: BenchBot | None = None) -> Section:
    """Plays every persona (a few in smoke mode) once and measures speed and memory.

    Args:
        size: "full" or "smoke" (no profile in smoke mode).
        workdir: Scratch space for the store and the servers' logs.
        bot: A bot started with `running_bot` to measure; None starts the default one (one
            Rasa worker, in-memory stores, as `leadbot run`) and stops it afterwards.

    Returns:
        The conversations section with its targets: personas passed, p95 latency, Rasa RSS.
    """
    if bot is None:
        with running_bot(workdir / "bot") as own_bot:
            return run(size, workdir, own_bot)
    personas = all_personas()
    texts = _texts_said(personas)
    if size == "smoke":
        personas, texts = personas[:SMOKE_PERSONAS], texts[:SMOKE_PARSE_TEXTS]
    independent = load_personas(INDEPENDENT_PERSONAS)
    if size == "smoke":
        independent = independent[:SMOKE_PERSONAS]
    outcomes = [play(p, bot.rasa_url, bot.token, bot.read_lead) for p in personas]
    independent_outcomes = [play(p, bot.rasa_url, bot.token, bot.read_lead) for p in independent]
    parse = latency_ms(_parse_latencies(bot, texts))
    memory = {
        "Rasa server": tree_memory(bot.rasa_pid),
        "action server": tree_memory(bot.actions_pid),
    }
    turn = latency_ms([s for o in outcomes for s in o.latencies])
    # The last turn of a conversation submits: it scores and writes the lead, so it is apart.
    last = latency_ms([o.latencies[-1] for o in outcomes if o.latencies])
    others = latency_ms([s for o in outcomes for s in o.latencies[:-1]])
    why_slow = None
    if turn["p95"] > P95_GOAL_MS:
        split = (
            f"p95 of the last turn of each conversation (submission) {last['p95']:.0f} ms, "
            f"of all other turns {others['p95']:.0f} ms; NLU alone (`/model/parse`) p95 "
            f"{parse['p95']:.0f} ms."
        )
        profile = (
            "not profiled in smoke mode"
            if size == "smoke"
            else hot_frames(
                {"rasa": bot.rasa_pid, "actions": bot.actions_pid},
                lambda: _replay_for(bot, personas, PROFILE_SECONDS),
            )
        )
        why_slow = f"{split}\n{profile}"
    latency = {"all turns": turn, "last turns": last, "other turns": others, "parse": parse}
    section = _section(outcomes, personas, latency, len(texts), bot, memory, why_slow)
    return _with_independent(section, independent_outcomes)


def _with_independent(section: Section, outcomes: list[Outcome]) -> Section:
    """The section with the independent personas' result added as a row and a target."""
    passed = [o for o in outcomes if o.passed and not o.asked_again]
    share = len(passed) / len(outcomes) if outcomes else 0.0
    failing = [o for o in outcomes if o not in passed]
    section.markdown += (
        f"\n\nIndependent personas (tests/eval/personas.yml, written from the contract alone and "
        f"never trained on): {len(passed)} of {len(outcomes)} passed ({share:.1%})."
    )
    section.data["independent"] = {
        "personas": len(outcomes),
        "passed": len(passed),
        "passed_share": share,
        "failures": {o.persona_id: o.failures for o in failing},
    }
    section.targets.append(
        Target(
            "independent personas passed",
            ">= 95 %",
            f"{share:.1%} ({len(passed)} of {len(outcomes)})",
            share >= PERSONA_SHARE_GOAL,
            None if share >= PERSONA_SHARE_GOAL else _why_personas(failing),
        )
    )
    return section


def _section(
    outcomes: list[Outcome],
    personas: list[Persona],
    latency: dict[str, dict[str, float]],
    parsed_texts: int,
    bot: BenchBot,
    memory: dict[str, Footprint],
    why_slow: str | None,
) -> Section:
    rasa_memory = memory["Rasa server"]
    turn, parse = latency["all turns"], latency["parse"]
    by_id = {p.id: p for p in personas}
    passed = sum(o.passed for o in outcomes)
    share = passed / len(outcomes) if outcomes else 0.0
    checked = sum(o.fields_checked for o in outcomes)
    accuracy = sum(o.fields_correct for o in outcomes) / checked if checked else 0.0
    finished = [o.turns for o in outcomes if not by_id[o.persona_id].stop_after_interrupt]
    median_turns = statistics.median(finished) if finished else 0.0
    asked_again = sum(len(o.asked_again) for o in outcomes)
    interrupted = [o for o in outcomes if o.interruption_resumed is not None]
    resumed = sum(bool(o.interruption_resumed) for o in interrupted)
    failing = [o for o in outcomes if not o.passed]
    summary = {
        "personas": len(outcomes),
        "passed": passed,
        "passed_share": share,
        "field_accuracy": accuracy,
        "fields_checked": checked,
        "median_turns": median_turns,
        "asked_again": asked_again,
        "interruptions": len(interrupted),
        "interruptions_resumed": resumed,
        "latency_ms": latency,
        "parsed_texts": parsed_texts,
        "setup": bot.setup,
        "startup_s": bot.startup_s,
        "memory": {name: dataclasses.asdict(footprint) for name, footprint in memory.items()},
        "failures": {o.persona_id: o.failures for o in failing},
    }
    ratio = {k: (turn[k] / parse[k] if parse[k] else 0.0) for k in turn}
    rows = [
        f"The bot as measured here: {bot.setup}, on a fresh SQLite store. Every persona "
        f"(the shared dev scenarios and tests/personas) is played once, one at a time.",
        "",
        "| measure | value |",
        "| --- | --- |",
        f"| personas passed | {passed} of {len(outcomes)} ({share:.1%}) |",
        f"| field accuracy (fields correct / checked) | {accuracy:.1%} of {checked} |",
        f"| median turns to finish | {median_turns:g} |",
        f"| questions asked for slots already given | {asked_again} |",
        f"| interruptions resumed | {resumed} of {len(interrupted)} |",
        f"| startup: process start to first REST answer | {bot.startup_s:.1f} s |",
        "",
        "A turn is one REST message to the bot "
        "(NLU, policies, custom actions and the store); `/model/parse` is Rasa's NLU alone on "
        f"the same model and the same {parsed_texts} distinct texts.",
        "",
        "| latency (ms) | p50 | p95 | p99 |",
        "| --- | --- | --- | --- |",
        *(
            f"| {label} | {ms['p50']:.0f} | {ms['p95']:.0f} | {ms['p99']:.0f} |"
            for label, ms in (
                ("REST turn, all", turn),
                ("REST turn, the last of each conversation", latency["last turns"]),
                ("REST turn, all others", latency["other turns"]),
            )
        ),
        f"| `/model/parse` | {parse['p50']:.0f} | {parse['p95']:.0f} | {parse['p99']:.0f} |",
        f"| ratio turn / parse | {ratio['p50']:.1f} | {ratio['p95']:.1f} | {ratio['p99']:.1f} |",
        "",
        "Memory after the run, summed over each server's process tree (PSS counts pages shared "
        "between processes once):",
        "",
        "| server | processes | RSS (MB) | PSS (MB) |",
        "| --- | --- | --- | --- |",
        *(_memory_row(name, footprint) for name, footprint in memory.items()),
    ]
    if failing:
        rows += ["", "| failed persona | first problem |", "| --- | --- |"]
        rows += [f"| {o.persona_id} | {_cell(o.failures[0])} |" for o in failing]
    targets = [
        Target(
            "personas passed",
            ">= 95 %",
            f"{share:.1%} ({passed} of {len(outcomes)})",
            share >= PERSONA_SHARE_GOAL,
            None if share >= PERSONA_SHARE_GOAL else _why_personas(failing),
        ),
        Target(
            "slots asked again after the opening gave them",
            "0",
            str(asked_again),
            asked_again == 0,
            None if asked_again == 0 else "see the failed personas in the conversations section",
        ),
        Target(
            "single-visitor p95 turn latency",
            "<= 150 ms",
            f"{turn['p95']:.0f} ms (`/model/parse` p95 {parse['p95']:.0f} ms)",
            turn["p95"] <= P95_GOAL_MS,
            why_slow,
        ),
        Target(
            "Rasa server RSS",
            "<= 1 GB",
            f"{rasa_memory.rss_mb:.0f} MB",
            rasa_memory.rss_mb <= RSS_GOAL_MB,
            None
            if rasa_memory.rss_mb <= RSS_GOAL_MB
            else "the model's featurizers and DIET weights live in each worker's memory",
        ),
    ]
    return Section("Conversations and single-visitor speed", "\n".join(rows), targets, summary)


def _why_personas(failing: list[Outcome]) -> str:
    kinds = Counter(f.split(":")[0] for o in failing for f in o.failures)
    common = ", ".join(f"{kind} ({count})" for kind, count in kinds.most_common(4))
    return f"{len(failing)} personas failed; most frequent problems: {common}"


def _memory_row(name: str, footprint: Footprint) -> str:
    return f"| {name} | {footprint.processes} | {footprint.rss_mb:.0f} | {footprint.pss_mb:.0f} |"


def _cell(text: str) -> str:
    """Text safe inside a markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _texts_said(personas: Sequence[Persona]) -> list[str]:
    """Every distinct text the personas say, in the order they say them."""
    said: list[str] = []
    for persona in personas:
        said += [persona.opening, *persona.answers.values()]
        if persona.interrupt:
            said.append(persona.interrupt["say"])
    return list(dict.fromkeys(said))


def _parse_latencies(bot: BenchBot, texts: Sequence[str]) -> list[float]:
    latencies = []
    for text in texts:
        started = time.perf_counter()
        response = requests.post(
            f"{bot.rasa_url}/model/parse",
            params={"token": bot.token},
            json={"text": text},
            timeout=30,
        )
        latencies.append(time.perf_counter() - started)
        response.raise_for_status()
    return latencies


def _replay_for(bot: BenchBot, personas: Sequence[Persona], seconds: float) -> None:
    """Plays personas one after another for about `seconds`; the leads are not checked."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for persona in personas:
            play(persona, bot.rasa_url, bot.token, lambda _sender: None)
            if time.monotonic() >= deadline:
                return


def _first_answer(rasa_url: str) -> None:
    """Waits for the REST channel to answer a first message."""
    deadline = time.monotonic() + WORKERS_READY_TIMEOUT_S
    while True:
        try:
            response = requests.post(
                f"{rasa_url}/webhooks/rest/webhook",
                json={"sender": "bench-startup", "message": "hi"},
                timeout=30,
            )
            if response.ok:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the REST channel never answered")
        time.sleep(0.2)


def _wait_for_workers(rasa_log: Path, workers: int) -> None:
    """Waits until every Rasa worker has loaded the model; each logs one line when it has."""
    deadline = time.monotonic() + WORKERS_READY_TIMEOUT_S
    while rasa_log.read_text(errors="replace").count(RASA_READY_LINE) < workers:
        if time.monotonic() > deadline:
            raise RuntimeError(f"fewer than {workers} Rasa workers loaded the model")
        time.sleep(0.5)


def _descendants(pid: int) -> list[int]:
    """The process and every process below it, from the parent pids in /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name may hold spaces; the fields after its closing parenthesis do not.
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    family, queue = [], [pid]
    while queue:
        member = queue.pop()
        family.append(member)
        queue.extend(children.get(member, []))
    return family


def _proc_kb(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except OSError:
        pass  # the process ended while we read
    return 0


def _percentile(ordered: Sequence[float], share: float) -> float:
    position = share * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _profile_summary(server: str, raw: str) -> list[str]:
    """Own and inside time of the busy samples in py-spy's raw (collapsed stacks) output."""
    own: Counter[str] = Counter()
    inside: Counter[str] = Counter()
    busy = idle = in_bot = 0
    for line in raw.splitlines():
        stack_text, _, count_text = line.rpartition(" ")
        if not stack_text or not count_text.isdigit():
            continue
        stack, count = [_short_frame(f) for f in stack_text.split(";")], int(count_text)
        if any(marker in stack[-1] for marker in IDLE_LEAVES):
            idle += count
            continue
        busy += count
        own[stack[-1]] += count
        ours = {f for f in stack if any(f"({marker}" in f for marker in BOT_CODE)}
        in_bot += count if ours else 0
        inside.update(dict.fromkeys(ours, count))
    if not busy:
        return [f"{server} server: idle in all {idle} samples"]
    # Frames in most samples are the request's entry points (main, handle_message): no news.
    telling = [(f, n) for f, n in inside.most_common() if n < ENTRY_POINT_SHARE * in_bot]
    return [
        f"{server} server: busy in {busy} of {busy + idle} samples (py-spy, {PROFILE_SECONDS} s)",
        "  most often on top of the stack (own time):",
        *(f"    {100 * n / busy:3.0f} % {f}" for f, n in own.most_common(TOP_FRAMES)),
        "  most often anywhere in the stack (time inside, Rasa and our code):",
        *(f"    {100 * n / busy:3.0f} % {f}" for f, n in telling[:TOP_FRAMES]),
    ]


def _short_frame(frame: str) -> str:
    """`fn (/long/path/site-packages/pkg/mod.py:12)` -> `fn (pkg/mod.py:12)`."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").split("site-packages/")[-1].replace(str(ROOT) + os.sep, "")
    return f"`{name}` ({where})" if where else f"`{name}`"
