"""`make bench`: runs every benchmark section and writes docs/benchmarks.md, .json and the plot.

    python -m benchmarks.bench            # the full run, into docs/ (up to ~20 minutes)
    python -m benchmarks.bench --smoke    # tiny sizes, so the bench code cannot rot

A benchmark reports; it never fails because a machine was slow. A section that breaks is shown
with its error and the run carries on. The conversations, load, website and soak sections share
one running bot, so the model is loaded once for them.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Final

from benchmarks.report import Section, Target
from bot import settings, training

if TYPE_CHECKING:
    from benchmarks.conversations import BenchBot
    from benchmarks.load import Setup

ROOT: Final = Path(__file__).resolve().parents[1]
PAGE: Final = "benchmarks.md"
DATA: Final = "benchmarks.json"
# Section name -> module; imported only when run, so one broken module spares the others.
SECTIONS: Final = (
    # First, on a machine nothing else of the bench is running on yet.
    ("first_start", "benchmarks.first_start"),
    ("understanding", "benchmarks.understanding"),
    ("normalisation", "benchmarks.normalisation"),
    ("conversations", "benchmarks.conversations"),
    ("load", "benchmarks.load"),
    ("website", "benchmarks.website_load"),
    ("store_speed", "benchmarks.store_speed"),
    ("review_pages", "benchmarks.review_pages"),
    ("two_servers", "benchmarks.two_servers"),
    ("soak", "benchmarks.soak"),
)
ERROR_LINES: Final = 12


@dataclass
class Outcome:
    """One section as run: what it reported, or the error that stopped it."""

    name: str
    section: Section | None
    error: str | None
    seconds: float


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the sections and writes the page; returns 0 whether or not targets were met."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, a minute or three")
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="where the page goes")
    parser.add_argument("--workdir", type=Path, help="scratch space (default: a temp folder)")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=[name for name, _ in SECTIONS],
        help="run only these sections (the page then has only them)",
    )
    args = parser.parse_args(argv)
    size = "smoke" if args.smoke else "full"
    about, started = machine(), time.monotonic()
    with ExitStack() as scratch:
        workdir = args.workdir or Path(
            scratch.enter_context(tempfile.TemporaryDirectory(prefix="leadbot-bench-"))
        )
        # The shared bot stops here; the scratch space, holding the images, after the report.
        with ExitStack() as servers:
            outcomes = run_sections(size, workdir, servers, args.only)
        write_report(args.out, size, outcomes, about, time.monotonic() - started, workdir)
    missed = [t.name for o in outcomes if o.section for t in o.section.targets if not t.met]
    broken = [o.name for o in outcomes if o.error]
    print(f"wrote {args.out / PAGE}: {len(missed)} targets not met, {len(broken)} sections broke")
    return 0


def run_sections(
    size: str, workdir: Path, stack: ExitStack, only: Sequence[str] | None = None
) -> list[Outcome]:
    """Runs the sections (all, or `only` these) in order; the bot four of them share is stopped
    when `stack` closes."""
    shared = _SharedBot(workdir / "bot", stack)
    outcomes = []
    for name, module_name in SECTIONS:
        if only and name not in only:
            continue
        print(f"bench: {name} ...", flush=True)
        section = partial(_run_section, name, module_name, size, workdir / name, shared)
        outcomes.append(_timed(name, section, workdir / name))
        print(f"bench: {name} took {outcomes[-1].seconds:.0f} s", flush=True)
    return outcomes


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    cpu = _first_value(Path("/proc/cpuinfo"), "model name") or platform.processor()
    memory_kb = _first_value(Path("/proc/meminfo"), "MemTotal")
    memory = f"{int(memory_kb.split()[0]) / 1024**2:.1f} GB" if memory_kb else "unknown"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return {
        "CPU cores": f"{os.cpu_count()} ({cpu})",
        "memory": memory,
        "operating system": platform.platform(),
        "Python": platform.python_version(),
        "Rasa": _rasa_version(),
        "model": training.model_path(settings.load()).name,
        "load average at start (1, 5, 15 min)": load,
        "started (UTC)": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M"),
    }


def write_report(
    out: Path,
    size: str,
    outcomes: Sequence[Outcome],
    about: dict[str, str],
    seconds: float,
    workdir: Path,
) -> None:
    """Writes benchmarks.md and benchmarks.json into `out`, with every section's images."""
    out.mkdir(parents=True, exist_ok=True)
    for outcome in outcomes:
        for image in outcome.section.images if outcome.section else []:
            source = workdir / outcome.name / image
            if source.exists():
                shutil.copyfile(source, out / image)
    (out / PAGE).write_text(_page(size, outcomes, about, seconds), encoding="utf-8")
    data = {
        "size": size,
        "seconds": seconds,
        "machine": about,
        "sections": [
            {
                "name": o.name,
                "title": o.section.title if o.section else None,
                "seconds": o.seconds,
                "error": o.error,
                "targets": [asdict(t) for t in o.section.targets] if o.section else [],
                "data": o.section.data if o.section else {},
                "images": o.section.images if o.section else [],
            }
            for o in outcomes
        ],
    }
    (out / DATA).write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")


def _page(size: str, outcomes: Sequence[Outcome], about: dict[str, str], seconds: float) -> str:
    targets = [(o, t) for o in outcomes if o.section for t in o.section.targets]
    lines = [
        "# Benchmarks",
        "",
        "How well the bot understands, how fast it answers and how it holds under load: numbers "
        f"from one {'**smoke** (tiny sizes, not meaningful) ' if size == 'smoke' else ''}run of "
        f"`make bench` on one machine, which took {seconds / 60:.1f} minutes. A benchmark "
        "reports; it never fails a test because a machine was slow. Raw numbers are in "
        f"[{DATA}]({DATA}).",
        "",
        "## Machine",
        "",
        "| | |",
        "| --- | --- |",
        *(f"| {key} | {value} |" for key, value in about.items()),
        "",
        "## Targets",
        "",
        "| target | goal | measured | met |",
        "| --- | --- | --- | --- |",
        *(
            f"| {t.name} | {_cell(t.goal)} | {_cell(t.measured)} "
            f"| {'met' if t.met else '**not met**'} |"
            for _, t in targets
        ),
        *(
            f"| every {o.name} target | | the section broke | **not measured** |"
            for o in outcomes
            if o.error
        ),
        "",
    ]
    missed = [(o, t) for o, t in targets if not t.met]
    if missed:
        lines += ["### Why targets were missed", ""]
        for _, target in missed:
            lines += [f"**{target.name}**: {_why(target)}", ""]
    for outcome in outcomes:
        lines += [_section_markdown(outcome), ""]
    return "\n".join(lines).rstrip() + "\n"


def _section_markdown(outcome: Outcome) -> str:
    if outcome.section is None:
        return (
            f"## {outcome.name}\n\nThis section broke after {outcome.seconds:.0f} s; the run "
            f"carried on without it.\n\n```\n{outcome.error}\n```"
        )
    section = outcome.section
    unlinked = [image for image in section.images if f"({image})" not in section.markdown]
    images = "".join(f"\n\n![{image}]({image})" for image in unlinked)
    return (
        f"## {section.title}\n\n{section.markdown.strip()}{images}\n\n"
        f"*This section took {outcome.seconds:.0f} s.*"
    )


def _why(target: Target) -> str:
    why = (target.why_not or "no reason was recorded").strip()
    if "\n" not in why:
        return why
    return "\n\n```\n" + why + "\n```"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _timed(name: str, section: Callable[[], Section], workdir: Path) -> Outcome:
    """Runs one section; any error is kept for the page instead of stopping the run."""
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        result: Section | None = section()
        error = None
    except Exception:  # a broken section is reported, not fatal: the others still count
        result = None
        error = "\n".join(traceback.format_exc().strip().splitlines()[-ERROR_LINES:])
    return Outcome(name, result, error, time.monotonic() - started)


class _SharedBot:
    """The bot conversations, load, website and soak share, started on first use and stopped
    with `stack`.

    It is the default bot (one worker, in-memory stores, as `leadbot run`): load's comparison
    setup in a full run, its only one in a smoke run.
    """

    def __init__(self, workdir: Path, stack: ExitStack) -> None:
        self._workdir, self._stack = workdir, stack
        self._running: tuple[Setup, BenchBot] | None = None
        self._error: str | None = None

    def get(self) -> tuple[Setup, BenchBot]:
        """The setup and the running bot; raises RuntimeError when it could not start."""
        if self._error is not None:
            raise RuntimeError(f"the shared bot did not start: {self._error}")
        if self._running is None:
            try:
                # Imported here: a broken load module must not stop the other sections.
                from benchmarks import load

                setup = load.SINGLE_WORKER
                bot = self._stack.enter_context(load.bot_for(setup, self._workdir))
            except Exception as error:
                self._error = str(error)
                raise
            self._running = (setup, bot)
        return self._running


def _run_section(
    name: str, module_name: str, size: str, workdir: Path, shared: _SharedBot
) -> Section:
    module = importlib.import_module(module_name)
    if name in ("conversations", "website", "soak"):
        return module.run(size, workdir, shared.get()[1])
    if name == "load":
        setup, bot = shared.get()
        return module.run(size, workdir, {setup: bot})
    return module.run(size, workdir)


def _first_value(path: Path, key: str) -> str | None:
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(":")
            if name.strip() == key:
                return value.strip()
    except OSError:
        pass
    return None


def _rasa_version() -> str:
    rasa_python = settings.load().rasa_executable.parent / "python"
    try:
        result = subprocess.run(
            [str(rasa_python), "-c", "import importlib.metadata as m; print(m.version('rasa'))"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return result.stdout.strip()


if __name__ == "__main__":
    raise SystemExit(main())
