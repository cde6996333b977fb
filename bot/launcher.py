"""Starting the action server and the Rasa server together, and stopping both together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import yaml

from bot.settings import PROJECT_ROOT, Settings
from crm_bridge.migrate import upgrade

STARTUP_TIMEOUT_S = 300.0


def _start(command: list[str], env: dict[str, str], log: Path | None) -> subprocess.Popen[bytes]:
    output = log.open("ab") if log else None
    # A process group of its own, so that stopping it stops its children too.
    return subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT if log else None,
        start_new_session=True,
    )


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _wait_until_up(url: str, processes: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            raise RuntimeError("a server stopped while starting; see its output")
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {STARTUP_TIMEOUT_S:.0f} s")


def start(
    settings: Settings, model: Path, log_dir: Path | None = None
) -> list[subprocess.Popen[bytes]]:
    """Starts the action server, then the Rasa server, each once the one before answers.

    Output goes to the terminal, or to actions.log and rasa.log in `log_dir`. On failure the
    servers already started are stopped and RuntimeError says why.
    """
    actions_cmd, rasa_cmd = server_commands(settings, model)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for command, env, name, health in (
            (
                actions_cmd,
                server_environment(settings),
                "actions",
                f"http://127.0.0.1:{settings.action_port}/health",
            ),
            (
                rasa_cmd,
                rasa_environment(settings),
                "rasa",
                f"http://127.0.0.1:{settings.rasa_port}/",
            ),
        ):
            processes.append(_start(command, env, log_dir / f"{name}.log" if log_dir else None))
            _wait_until_up(health, processes)
    except BaseException:
        stop(processes)
        raise
    return processes


def server_commands(settings: Settings, model: Path) -> tuple[list[str], list[str]]:
    """The command lines of the action server and of the Rasa server.

    Raises:
        RuntimeError: When several Rasa workers are asked for without a Redis URL; Rasa would
            silently fall back to one worker with its in-memory lock store.
    """
    if settings.rasa_workers > 1 and not settings.redis_url:
        raise RuntimeError(
            f"{settings.rasa_workers} Rasa workers need a Redis lock and tracker store: "
            "set LEADBOT_REDIS_URL"
        )
    actions = [
        str(settings.python_executable),
        "-m",
        "rasa_sdk",
        "--actions",
        "actions",
        "--port",
        str(settings.action_port),
    ]
    rasa = [
        str(settings.rasa_executable),
        "run",
        "--model",
        str(model),
        "--port",
        str(settings.rasa_port),
        "--credentials",
        str(credentials_file(settings)),
        "--endpoints",
        str(_endpoints_file(settings)),
        "--cors",
        "*",
    ]
    if settings.api_token:
        rasa += ["--enable-api", "--auth-token", settings.api_token]
    return actions, rasa


def _endpoints_file(settings: Settings) -> Path:
    """Rasa's endpoints file for these ports (and Redis stores, when set), written under var/."""
    path = settings.var_dir / f"endpoints-{settings.rasa_port}.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    endpoints: dict[str, Any] = {
        "action_endpoint": {"url": f"http://127.0.0.1:{settings.action_port}/webhook"}
    }
    if settings.redis_url:
        endpoints["lock_store"] = _redis_store(settings.redis_url)
        endpoints["tracker_store"] = _redis_store(settings.redis_url)
    path.write_text(yaml.safe_dump(endpoints, sort_keys=False), encoding="utf-8")
    return path


def credentials_file(settings: Settings) -> Path:
    """Rasa's channels: credentials.yml, plus Slack when its token and signing secret are set.

    With Slack, a copy is written under var/ (never committed), readable by its owner only.
    """
    shared = PROJECT_ROOT / "credentials.yml"
    if not (settings.slack_token and settings.slack_signing_secret):
        return shared
    channels = yaml.safe_load(shared.read_text(encoding="utf-8")) or {}
    channels["slack"] = {
        "slack_token": settings.slack_token,
        "slack_signing_secret": settings.slack_signing_secret,
    }
    path = settings.var_dir / f"credentials-{settings.rasa_port}.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(yaml.safe_dump(channels, sort_keys=False), encoding="utf-8")
    return path


def _redis_store(redis_url: str) -> dict[str, Any]:
    """A Redis store of Rasa's endpoints file, from `redis://[:password@]host:port/db`."""
    parts = urlsplit(redis_url)
    store: dict[str, Any] = {
        "type": "redis",
        # Rasa calls the host `url`.
        "url": parts.hostname or "localhost",
        "port": parts.port or 6379,
        "db": int(parts.path.strip("/") or 0),
    }
    if parts.password:
        store["password"] = parts.password
    return store


def server_environment(settings: Settings) -> dict[str, str]:
    """The environment both servers run with."""
    return {**os.environ, "LEADBOT_DATABASE_URL": settings.database_url}


def rasa_environment(settings: Settings) -> dict[str, str]:
    """The Rasa server's environment: the servers' one, plus its worker count when not one."""
    environment = server_environment(settings)
    if settings.rasa_workers != 1:
        # Rasa 3.6 reads its worker count from SANIC_WORKERS; the action server keeps one.
        environment["SANIC_WORKERS"] = str(settings.rasa_workers)
    return environment


def run(settings: Settings, model: Path) -> int:
    """Migrates the store, starts both servers, and keeps them up until Ctrl-C or a failure."""
    upgrade(settings.database_url)
    stopping = False

    def stop_on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop_on_signal)
    signal.signal(signal.SIGTERM, stop_on_signal)
    try:
        processes = start(settings, model)
    except RuntimeError as error:
        print(f"leadbot: {error}", file=sys.stderr)
        return 1
    try:
        _print_ready(settings)
        while not stopping:
            if any(p.poll() is not None for p in processes):
                print(
                    "leadbot: a server stopped unexpectedly; stopping the others", file=sys.stderr
                )
                return 1
            time.sleep(0.5)
        return 0
    finally:
        stop(processes)


def _print_ready(settings: Settings) -> None:
    base = f"http://localhost:{settings.rasa_port}"
    print(
        f"\nleadbot is up.\n"
        f"  Talk to it:  curl -s {base}/webhooks/rest/webhook "
        f'-H \'Content-Type: application/json\' -d \'{{"sender": "me", "message": "hi"}}\'\n'
        f"  Web widget:  socket.io at {base}/socket.io\n"
        f"  Leads:       .venv/bin/leadbot leads list\n"
        f"  Store:       {settings.database_url.split('@')[-1]}\n"
        f"Press Ctrl-C to stop.\n",
        flush=True,
    )
