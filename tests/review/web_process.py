"""The web process alone (`python -m bot.web`, as `leadbot run` starts it), on a free port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from bot.settings import PROJECT_ROOT
from tests.support.bot import free_port

STARTUP_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class WebProcess:
    url: str
    log: Path

    def logs(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]


@contextmanager
def running_web(workdir: Path, database_url: str, **environment: str) -> Iterator[WebProcess]:
    """Serve the web process on the store at ``database_url`` until the block ends."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = workdir / "web.log"
    env = {
        **os.environ,
        "LEADBOT_DATABASE_URL": database_url,
        "LEADBOT_WEB_PORT": str(port),
        "LEADBOT_SECRET_KEY": "web-process-tests-secret-key",
        **environment,
    }
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.web"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    web = WebProcess(f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the web process stopped:\n{web.logs()}")
            try:
                if requests.get(f"{web.url}/health", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the web process did not start:\n{web.logs()}")
            time.sleep(0.2)
        yield web
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
