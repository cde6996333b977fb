"""A newcomer's first `make run`: from a fresh clone to the bot's first answer, a few times over.

Each run clones this checkout's HEAD (what is committed; uncommitted changes are not in it) into
the scratch folder and runs `make run` there on free ports, with empty package caches (uv, npm,
pip) in a full run, as a newcomer's machine has them, where a smoke run keeps this machine's;
the Rasa training cache is empty in both (Rasa keeps it in the working folder, the clone).
Every half second it sends the Rasa server's REST channel a "hi" from a new visitor; the first
answer is the first reply once `leadbot run` has said that the bot is up, which it says once
the demo page, the action server and the Rasa server with its model all answer. The stages
come from the clone's stamp files (each environment's `.installed`, the model's file). A run is
then stopped with Ctrl-C (SIGINT), as a newcomer stops it, and its clone removed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

import requests

from benchmarks.report import Section, Target
from tests.support.bot import free_port

ROOT: Final = Path(__file__).resolve().parents[1]
RUNS: Final = {"full": 3, "smoke": 1}
EMPTY_CACHES: Final = {"full": True, "smoke": False}
GOAL_S: Final = 150.0
# A guard against a hung start, not a speed target.
GIVE_UP_S: Final = 900.0
POLL_S: Final = 0.5
UP_LINE: Final = "leadbot is up"
# Each environment's stamp, touched when its install finished.
STAMPS: Final = {
    "Rasa environment": ".venv-rasa/.installed",
    "our environment": ".venv/.installed",
    "widget's npm packages": "node_modules/.installed",
}
LOG_TAIL: Final = 1500


@dataclass(frozen=True)
class FirstStart:
    """One fresh clone's `make run`, in seconds after it was started (None: never happened)."""

    first_answer_s: float | None
    installed_s: dict[str, float | None]
    model_s: float | None
    exit_code: int | None
    log_tail: str

    @property
    def model_load_s(self) -> float | None:
        """From the model's file being written to the first answer."""
        if self.first_answer_s is None or self.model_s is None:
            return None
        return self.first_answer_s - self.model_s


def run(size: str, workdir: Path) -> Section:
    """Measures RUNS[size] first starts, one after another."""
    starts = [
        first_start(workdir / f"run-{number}", EMPTY_CACHES[size]) for number in range(RUNS[size])
    ]
    return _section(starts, EMPTY_CACHES[size])


def first_start(folder: Path, empty_caches: bool) -> FirstStart:
    """Clones HEAD into `folder`, runs `make run` there until the first answer, stops it and
    removes the clone (its log is kept)."""
    folder.mkdir(parents=True, exist_ok=True)
    clone = folder / "leadbot"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=300)
    log = folder / "make-run.log"
    rasa_port = free_port()
    started = time.time()
    with log.open("wb") as output:
        make = subprocess.Popen(
            ["make", "run"],
            cwd=clone,
            env=_environment(folder, empty_caches, rasa_port),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        answered = _wait_for_first_answer(make, log, rasa_port)
    finally:
        exit_code = _stop(make)
    first_answer_s = answered - started if answered is not None else None
    models = sorted(clone.glob("models/*.tar.gz"))
    result = FirstStart(
        first_answer_s=first_answer_s,
        installed_s={name: _stamp_s(clone / path, started) for name, path in STAMPS.items()},
        model_s=_stamp_s(models[0], started) if models else None,
        exit_code=exit_code,
        log_tail=log.read_text(errors="replace")[-LOG_TAIL:],
    )
    shutil.rmtree(clone, ignore_errors=True)
    shutil.rmtree(folder / "cache", ignore_errors=True)
    return result


def _environment(folder: Path, empty_caches: bool, rasa_port: int) -> dict[str, str]:
    """The bench's environment without its virtual environment, leadbot settings and Rasa
    training cache (Rasa's default is then the clone's own, empty), on free ports; with the
    package caches in `folder` (empty) when asked."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("LEADBOT_")
        and name not in ("VIRTUAL_ENV", "PYTHONPATH", "RASA_CACHE_DIRECTORY")
    }
    environment.update(
        LEADBOT_RASA_PORT=str(rasa_port),
        LEADBOT_ACTION_PORT=str(free_port()),
        LEADBOT_WEB_PORT=str(free_port()),
    )
    if empty_caches:
        cache = folder / "cache"
        environment.update(
            UV_CACHE_DIR=str(cache / "uv"),
            npm_config_cache=str(cache / "npm"),
            PIP_NO_CACHE_DIR="1",
        )
    return environment


def _wait_for_first_answer(
    make: subprocess.Popen[bytes], log: Path, rasa_port: int
) -> float | None:
    """The time of the first reply after the bot said it is up; None if `make run` ended or
    GIVE_UP_S passed first."""
    url = f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook"
    deadline = time.monotonic() + GIVE_UP_S
    while time.monotonic() < deadline and make.poll() is None:
        if UP_LINE in log.read_text(errors="replace"):
            try:
                reply = requests.post(
                    url, json={"sender": f"first-{uuid.uuid4().hex}", "message": "hi"}, timeout=30
                )
            except requests.RequestException:
                reply = None
            if reply is not None and reply.ok and any(m.get("text") for m in reply.json()):
                return time.time()
        time.sleep(POLL_S)
    return None


def _stop(make: subprocess.Popen[bytes]) -> int | None:
    """Ctrl-C for `make run` and `leadbot run` under it; killed if still there after a minute."""
    try:
        os.killpg(make.pid, signal.SIGINT)
        return make.wait(timeout=60)
    except ProcessLookupError:
        return make.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(make.pid, signal.SIGKILL)
        return make.wait(timeout=30)


def _stamp_s(path: Path, started: float) -> float | None:
    return path.stat().st_mtime - started if path.exists() else None


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} s"


def _section(starts: list[FirstStart], empty_caches: bool) -> Section:
    answered = [s.first_answer_s for s in starts if s.first_answer_s is not None]
    every = len(answered) == len(starts)
    slowest = max(answered, default=None)
    caches = (
        "empty package caches (uv, npm, pip) and an empty Rasa training cache"
        if empty_caches
        else "this machine's package caches (a smoke run: not a newcomer's wait)"
    )
    rows = [
        f"| {number} | {_seconds(s.first_answer_s)} | "
        + " | ".join(_seconds(s.installed_s[name]) for name in STAMPS)
        + f" | {_seconds(s.model_s)} | {_seconds(s.model_load_s)} |"
        for number, s in enumerate(starts, start=1)
    ]
    markdown = "\n".join(
        [
            f"`make run` from a fresh clone of HEAD with {caches}; {len(starts)} run(s), one "
            "after another, in seconds after `make run` started. The first answer is the first "
            'reply to a new visitor\'s "hi" once `leadbot run` said the bot is up (demo page, '
            "action server, and Rasa server with its model all answering). The three environments "
            "install side by side; the training starts once they are in, with the servers "
            "starting beside it; the model is loaded from its file's time to the first answer.",
            "",
            "| run | first answer | "
            + " | ".join(f"{name} installed" for name in STAMPS)
            + " | model trained | model loaded in |",
            "| --- | --- | " + " | ".join("---" for _ in STAMPS) + " | --- | --- |",
            *rows,
        ]
    )
    met = every and slowest is not None and slowest <= GOAL_S
    measured = (
        f"slowest {_seconds(slowest)} of {len(starts)} runs "
        f"({', '.join(_seconds(s.first_answer_s) for s in starts)})"
    )
    why_not = None
    if not met:
        failed = [s for s in starts if s.first_answer_s is None]
        why_not = (
            f"a run never answered; the end of its output:\n{failed[0].log_tail}"
            if failed
            else "see the stages in the table: installing, training or loading the model"
        )
    return Section(
        title="First start from a fresh clone",
        markdown=markdown,
        targets=[
            Target(
                name="first answer after `make run` on a fresh clone (every run)",
                goal=f"<= {GOAL_S:.0f} s",
                measured=measured,
                met=met,
                why_not=why_not,
            )
        ],
        data={"empty_caches": empty_caches, "runs": [asdict(s) for s in starts]},
    )
