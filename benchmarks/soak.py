"""Soak: visitors arriving at a steady rate for a long time, the servers' memory sampled.

A leak shows as resident memory that keeps growing while the load stays the same. Memory grows
at first anyway (caches, the first conversations' objects), so growth is measured from the
end of a warm-up to the end of the run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

from benchmarks.conversations import BenchBot, latency_ms, running_bot, tree_memory
from benchmarks.load import as_visitor, qualifying_personas
from benchmarks.report import Section, Target
from tests.support.scenario_player import Outcome, play

DURATION_S: Final = {"full": 1800.0, "smoke": 8.0}
# One new visitor every this many seconds: about one conversation at a time on a small machine.
VISITOR_EVERY_S: Final = {"full": 4.0, "smoke": 1.0}
SAMPLE_EVERY_S: Final = {"full": 30.0, "smoke": 1.0}
# The first part of the run, after which memory should stop growing.
WARM_UP_SHARE: Final = 0.2
GROWTH_LIMIT: Final = 0.10
# Rows of the memory table at most; every sample is in the JSON.
TABLE_ROWS: Final = 12


@dataclass(frozen=True)
class Sample:
    """Resident memory of each server's process tree at one moment of the soak."""

    at_s: float
    rasa_mb: float
    actions_mb: float


@dataclass
class Soak:
    """What one soak measured."""

    arriving_s: float  # how long new visitors kept arriving
    seconds: float  # until the last visitor was done
    samples: list[Sample]
    outcomes: list[Outcome]

    def growth(self, server: str) -> float:
        """How much `server`'s ("rasa" or "actions") memory grew from the end of the warm-up
        to the last sample, as a share of the former."""
        start = warmed_up(self.samples, self.seconds)
        first, last = getattr(start, f"{server}_mb"), getattr(self.samples[-1], f"{server}_mb")
        return (last - first) / first if first else 0.0


def warmed_up(samples: list[Sample], seconds: float) -> Sample:
    """The first sample after the warm-up (the last one when the run was shorter)."""
    return next((s for s in samples if s.at_s >= WARM_UP_SHARE * seconds), samples[-1])


def soak(bot: BenchBot, seconds: float, visitor_every_s: float, sample_every_s: float) -> Soak:
    """Starts a visitor every `visitor_every_s` for `seconds`, each playing a whole
    qualification; samples both servers' memory every `sample_every_s` meanwhile and once the
    last visitor is done."""
    personas = qualifying_personas()
    samples: list[Sample] = []
    started = time.monotonic()

    def sample() -> None:
        samples.append(
            Sample(
                time.monotonic() - started,
                tree_memory(bot.rasa_pid).rss_mb,
                tree_memory(bot.actions_pid).rss_mb,
            )
        )

    stop_sampling = threading.Event()

    def sample_until_stopped() -> None:
        while not stop_sampling.wait(sample_every_s):
            sample()

    sample()
    sampler = threading.Thread(target=sample_until_stopped, daemon=True)
    sampler.start()
    visits: list[Future[Outcome]] = []
    # More threads than visitors at once, so a slow moment delays no arrival.
    with ThreadPoolExecutor(max_workers=8) as pool:
        for number, arrival in enumerate(_arrivals(started, seconds, visitor_every_s)):
            time.sleep(max(0.0, arrival - time.monotonic()))
            visitor = as_visitor(personas[number % len(personas)], number)
            visits.append(
                pool.submit(
                    play, visitor.persona, bot.rasa_url, bot.token, bot.read_lead, visitor.sender_id
                )
            )
    stop_sampling.set()
    sampler.join()
    sample()
    return Soak(seconds, time.monotonic() - started, samples, [visit.result() for visit in visits])


def run(size: str, workdir: Path, bot: BenchBot | None = None) -> Section:
    """Soaks the bot (the one given, else one started here) for 30 minutes, or seconds in a
    smoke run.

    Returns:
        The section, with its target: neither server's memory grew by more than 10 % after
        the warm-up.
    """
    with ExitStack() as stack:
        bot = bot or stack.enter_context(running_bot(workdir))
        result = soak(bot, DURATION_S[size], VISITOR_EVERY_S[size], SAMPLE_EVERY_S[size])
    return section(result, VISITOR_EVERY_S[size])


def section(result: Soak, visitor_every_s: float) -> Section:
    """The soak's section of the report."""
    failed = [o for o in result.outcomes if not o.passed]
    turns = sum(o.turns for o in result.outcomes)
    ms = latency_ms([s for o in result.outcomes for s in o.latencies])
    growth = {server: result.growth(server) for server in ("rasa", "actions")}
    start = warmed_up(result.samples, result.seconds)
    step = max(1, len(result.samples) // TABLE_ROWS)
    shown = result.samples[::step]
    if shown[-1] is not result.samples[-1]:
        shown.append(result.samples[-1])
    rows = [
        f"One new visitor every {visitor_every_s:.0f} s for {result.arriving_s / 60:.1f} "
        "minutes, each playing a whole qualification over REST as one of the consenting, "
        f"finishing personas (the last was done after {result.seconds / 60:.1f} minutes); "
        f"{len(result.outcomes)} visitors, {turns} turns "
        f"({turns / result.seconds:.2f} turns/s), p50 {ms['p50']:.0f} ms, p95 "
        f"{ms['p95']:.0f} ms; {len(failed)} visitors whose conversation or lead was not as "
        "expected. Resident memory of each server's process tree, sampled; growth is measured "
        f"from the first sample after the warm-up ({WARM_UP_SHARE:.0%} of the run, "
        f"{start.at_s:.0f} s) to the last.",
        "",
        "| at s | Rasa server RSS MB | action server RSS MB |",
        "| --- | --- | --- |",
        *(f"| {s.at_s:.0f} | {s.rasa_mb:.0f} | {s.actions_mb:.0f} |" for s in shown),
        "",
        f"Growth after the warm-up: Rasa server {growth['rasa']:+.1%}, action server "
        f"{growth['actions']:+.1%}.",
    ]
    grew = [name for name, share in growth.items() if share > GROWTH_LIMIT]
    target = Target(
        "memory growth over the soak, after the warm-up",
        f"<= {GROWTH_LIMIT:.0%} for the Rasa server and the action server",
        f"Rasa server {growth['rasa']:+.1%}, action server {growth['actions']:+.1%}",
        not grew,
        None if not grew else f"{' and '.join(grew)} grew beyond {GROWTH_LIMIT:.0%}; see the table",
    )
    data = {
        "arriving_s": result.arriving_s,
        "seconds": result.seconds,
        "visitors": len(result.outcomes),
        "failed": len(failed),
        "turns": turns,
        "latency_ms": ms,
        "growth": growth,
        "samples": [asdict(s) for s in result.samples],
    }
    return Section("Soak", "\n".join(rows), [target], data)


def _arrivals(started: float, seconds: float, every_s: float) -> Iterator[float]:
    """The moments visitors arrive: one every `every_s` from `started`, for `seconds`."""
    number = 0
    while number * every_s < seconds:
        yield started + number * every_s
        number += 1
