"""Starting the action server, the Rasa server and the web process together, and stopping them
together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import yaml

from bot import training
from bot.rasa_stores import sql_tracker_store
from bot.settings import NO_TELEMETRY, PROJECT_ROOT, Settings
from crm_bridge import accounts
from crm_bridge.migrate import upgrade
from crm_bridge.store import make_engine, make_session_factory

STARTUP_TIMEOUT_S = 300.0
# A server that stopped is started again after 1 s, 2 s, 4 s ... at most a minute apart; the
# wait starts over once it ran this long.
FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 60.0
STEADY_AFTER_S = 120.0
# Our Slack channel, by the dotted path the Rasa server imports it from (webhooks/slack/webhook).
SLACK_CHANNEL = "bot.channels.slack.SlackVisitorInput"


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


@dataclass(frozen=True)
class ProcessSpec:
    """One process that `leadbot run` starts and keeps running."""

    name: str  # what messages call it, and its log file's name (<name>.log)
    command: list[str]
    environment: dict[str, str]
    # Answers once the process is up; None when it is up as soon as it started.
    health_url: str | None


def process_specs(settings: Settings, model: Path, *, web: bool = True) -> list[ProcessSpec]:
    """The processes of the bot, in the order they start: the action server, the Rasa server,
    then the web process (unless `web` is false)."""
    actions_cmd, rasa_cmd = server_commands(settings, model)
    specs = [
        ProcessSpec(
            "actions",
            actions_cmd,
            action_environment(settings),
            f"http://127.0.0.1:{settings.action_port}/health",
        ),
        ProcessSpec(
            "rasa",
            rasa_cmd,
            rasa_environment(settings),
            f"http://127.0.0.1:{settings.rasa_port}/",
        ),
    ]
    if web:
        specs.append(
            ProcessSpec(
                "web",
                web_command(settings),
                web_environment(settings),
                f"http://127.0.0.1:{settings.web_port}/health",
            )
        )
    from bot.crm_sync import config as crm_sync  # the sync worker's switches

    # Only when a CRM is configured: with none, lead changes simply wait in the outbox.
    if crm_sync.wanted():
        sync_cmd = [str(settings.python_executable), "-m", "bot.crm_sync"]
        specs.append(ProcessSpec("crm-sync", sync_cmd, server_environment(settings), None))
    return specs


def start(
    settings: Settings,
    specs: list[ProcessSpec],
    log_dir: Path | None = None,
    *,
    started: dict[str, subprocess.Popen[bytes]] | None = None,
) -> list[subprocess.Popen[bytes]]:
    """Starts every process at once and, when the model for the current data is missing, trains
    it meanwhile; returns the processes in `specs`' order once each answers.

    Training is the longest step of a first start, and the Rasa server's own start (seconds of
    imports) needs no model: it starts without one and is given it over its HTTP API once
    trained. Several Rasa workers would each need it, so they start after the training.

    Output goes to the terminal, or to <name>.log in `log_dir`. Each process is put in
    `started`, by name, as soon as it starts, so that a caller can stop them whatever happens;
    on failure the processes started so far are stopped here and the error raised again.
    """
    model = training.model_path(settings)
    untrained = not model.exists()
    rasa_waits = untrained and settings.rasa_workers > 1
    started = {} if started is None else started
    try:
        for spec in specs:
            if spec.name == "rasa" and untrained:
                if not rasa_waits:
                    started[spec.name] = _start_spec(_without_model(spec, settings), log_dir)
            else:
                started[spec.name] = _start_spec(spec, log_dir)
        if untrained:
            print(
                "leadbot: training the model; the servers start meanwhile, and the Rasa "
                "server, started without one, takes it when it is ready",
                flush=True,
            )
            training.ensure_model(settings)
            rasa = next(spec for spec in specs if spec.name == "rasa")
            if rasa_waits:
                started[rasa.name] = _start_spec(rasa, log_dir)
            else:
                assert rasa.health_url is not None  # the Rasa server always has one
                _wait_until_up(rasa.health_url, list(started.values()))
                _load_model(settings, model)
        for spec in specs:
            if spec.health_url:
                _wait_until_up(spec.health_url, list(started.values()))
    except BaseException:
        stop(list(started.values()))
        raise
    return [started[spec.name] for spec in specs]


def _without_model(rasa: ProcessSpec, settings: Settings) -> ProcessSpec:
    """The Rasa server's spec with an empty folder for its model. Given a model that does not
    exist, Rasa would load the newest one in ./models instead, an old model to drop at once."""
    folder = settings.var_dir / "no-model"
    folder.mkdir(parents=True, exist_ok=True)
    command = list(rasa.command)
    command[command.index("--model") + 1] = str(folder)
    return replace(rasa, command=command)


def _load_model(settings: Settings, model: Path) -> None:
    """Has the running Rasa server load `model` (Rasa's PUT /model answers once it is loaded)."""
    response = requests.put(
        f"http://127.0.0.1:{settings.rasa_port}/model",
        params={"token": rasa_api_token(settings)},
        json={"model_file": str(model.resolve())},
        timeout=STARTUP_TIMEOUT_S,
    )
    if response.status_code != 204:
        raise RuntimeError(
            f"the Rasa server could not load {model.name}: HTTP {response.status_code}"
        )


def _start_spec(spec: ProcessSpec, log_dir: Path | None) -> subprocess.Popen[bytes]:
    return _start(spec.command, spec.environment, log_dir / f"{spec.name}.log" if log_dir else None)


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
    # Our runner of rasa_sdk's app: on loopback, behind the shared secret (from its environment).
    actions = [
        str(settings.python_executable),
        "-m",
        "bot.action_server",
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
        *widget_origins(settings),
    ]
    # Always on, for the web process to relay reps' replies; guarded by the API token, or by
    # one made at start that only our processes know.
    rasa += ["--enable-api", "--auth-token", rasa_api_token(settings)]
    return actions, rasa


def rasa_api_token(settings: Settings) -> str:
    """What guards the Rasa HTTP API: LEADBOT_API_TOKEN, else the token made at start."""
    return settings.api_token or settings.rasa_api_token


def _endpoints_file(settings: Settings) -> Path:
    """Rasa's endpoints file for these ports (and Redis stores, when set), written under var/.

    It holds the action server's secret, so only its owner may read it.
    """
    path = settings.var_dir / f"endpoints-{settings.rasa_port}.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    endpoints: dict[str, Any] = {
        "action_endpoint": {
            "url": f"http://127.0.0.1:{settings.action_port}/webhook",
            # A header rather than Rasa's `token:`, which would put the secret in the URL.
            "headers": {"Authorization": f"Bearer {settings.action_secret}"},
        }
    }
    if settings.redis_url:
        endpoints["lock_store"] = _redis_store(settings.redis_url)
        endpoints["tracker_store"] = _redis_store(settings.redis_url)
    if settings.tracker_store_url:
        endpoints["tracker_store"] = sql_tracker_store(settings.tracker_store_url)
    _write_private(path, yaml.safe_dump(endpoints, sort_keys=False))
    return path


def _write_private(path: Path, text: str) -> None:
    """Writes a file only its owner can read, never readable by others even for a moment."""
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
    os.replace(draft, path)


def credentials_file(settings: Settings) -> Path:
    """Rasa's channels: credentials.yml, plus Slack when its token and signing secret are set.

    With Slack, a copy is written under var/ (never committed), readable by its owner only.
    """
    shared = PROJECT_ROOT / "credentials.yml"
    if not (settings.slack_token and settings.slack_signing_secret):
        return shared
    channels = yaml.safe_load(shared.read_text(encoding="utf-8")) or {}
    slack: dict[str, Any] = {
        "slack_token": settings.slack_token,
        "slack_signing_secret": settings.slack_signing_secret,
        "slack_api_url": settings.slack_api_url,
    }
    if settings.redis_url:
        # Every Rasa worker then sees which Slack events were already answered.
        slack["redis_url"] = settings.redis_url
    channels[SLACK_CHANNEL] = slack
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
    return {
        **os.environ,
        "LEADBOT_DATABASE_URL": settings.database_url,
        # Small matrices (the need's meaning vector): one BLAS thread is faster than several
        # threads spinning against each other and the other server on a small machine.
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1"),
        **NO_TELEMETRY,
    }


def action_environment(settings: Settings) -> dict[str, str]:
    """The action server's environment: the servers' one, plus the secret it checks and where
    it keeps final saves the store refused."""
    return {
        **server_environment(settings),
        "LEADBOT_ACTION_SECRET": settings.action_secret,
        "LEADBOT_SPOOL_DIR": os.environ.get("LEADBOT_SPOOL_DIR") or str(settings.var_dir / "spool"),
    }


def web_command(settings: Settings) -> list[str]:
    """The command line of the web process (widget, demo page), served by waitress."""
    return [str(settings.python_executable), "-m", "bot.web"]


def web_environment(settings: Settings) -> dict[str, str]:
    """The web process's environment: the servers' one, plus the ports it serves and links to."""
    environment = {
        **server_environment(settings),
        "LEADBOT_WEB_PORT": str(settings.web_port),
        "LEADBOT_RASA_PORT": str(settings.rasa_port),
        # The review app relays reps' replies through the Rasa HTTP API with this token.
        "LEADBOT_RASA_API_TOKEN": rasa_api_token(settings),
        "LEADBOT_RULES": str(settings.rules_path),
    }
    optional = {
        "LEADBOT_API_TOKEN": settings.api_token,
        "LEADBOT_SECRET_KEY": settings.web_secret_key,
        "LEADBOT_SLACK_WEBHOOK_URL": settings.slack_webhook_url,
        "LEADBOT_PUBLIC_URL": settings.public_url,
    }
    environment.update({name: value for name, value in optional.items() if value})
    return environment


def widget_origins(settings: Settings) -> list[str]:
    """The web pages that may open the widget's socket and call the Rasa server from a browser:
    the configured ones, the demo page and the Rasa server's own (localhost, 127.0.0.1)."""
    if "*" in settings.allowed_origins:
        return ["*"]
    demo = [
        f"http://{host}:{port}"
        for port in (settings.web_port, settings.rasa_port)
        for host in ("localhost", "127.0.0.1")
    ]
    return [*settings.allowed_origins, *(o for o in demo if o not in settings.allowed_origins)]


def rasa_environment(settings: Settings) -> dict[str, str]:
    """The Rasa server's environment: the servers' one, plus the origins its socket.io channel
    accepts and its worker count when not one."""
    environment = server_environment(settings)
    environment["LEADBOT_ALLOWED_ORIGINS"] = ",".join(widget_origins(settings))
    environment["LEADBOT_MAX_MESSAGE_CHARS"] = str(settings.max_message_chars)
    if settings.rasa_workers != 1:
        # Rasa 3.6 reads its worker count from SANIC_WORKERS; the action server keeps one.
        environment["SANIC_WORKERS"] = str(settings.rasa_workers)
    return environment


def run(settings: Settings) -> int:
    """Migrates the store, starts the servers (training the model meanwhile when its data
    changed), and keeps them up until Ctrl-C or SIGTERM: a server that stops is started again
    after a backoff while the others keep running."""
    upgrade(settings.database_url)
    starting, stopping = True, False

    def stop_on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        if starting:  # stops the training, and the servers started so far
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, stop_on_signal)
    signal.signal(signal.SIGTERM, stop_on_signal)
    specs = process_specs(settings, training.model_path(settings))
    started: dict[str, subprocess.Popen[bytes]] = {}
    supervisor: Supervisor | None = None
    try:
        start(settings, specs, started=started)
        # From here a stop signal only ends the loop below; until here it raises
        # KeyboardInterrupt, and whatever had started is stopped on the way out.
        starting = False
        supervisor = Supervisor([(spec, started[spec.name]) for spec in specs])
        _print_ready(settings)
        if not _has_admin(settings.database_url):
            print(FIRST_ADMIN_HINT, flush=True)
        while not stopping:
            supervisor.check()
            time.sleep(0.5)
        return 0
    except RuntimeError as error:
        print(f"leadbot: {error}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as error:
        print(f"leadbot: training failed (exit code {error.returncode})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("leadbot: stopped while starting", file=sys.stderr)
        return 130
    finally:
        stop(supervisor.processes if supervisor else list(started.values()))


class Supervisor:
    """Keeps processes running: one that stopped is started again after 1 s, then 2, 4, ...
    up to `MAX_BACKOFF_S` when it keeps stopping, the wait starting over once it ran for
    `STEADY_AFTER_S`. The others are left alone. Output goes to the terminal."""

    def __init__(self, running: list[tuple[ProcessSpec, subprocess.Popen[bytes]]]) -> None:
        self._running = [_Supervised(spec, process, time.monotonic()) for spec, process in running]

    @property
    def processes(self) -> list[subprocess.Popen[bytes]]:
        """The current process of each spec (a stopped one until it is started again)."""
        return [supervised.process for supervised in self._running]

    def check(self) -> None:
        """Notices processes that stopped, and starts again those whose wait is over."""
        now = time.monotonic()
        for supervised in self._running:
            if supervised.restart_at is None:
                code = supervised.process.poll()
                if code is None:
                    continue
                if now - supervised.started_at >= STEADY_AFTER_S:
                    supervised.failures = 0
                wait = min(MAX_BACKOFF_S, FIRST_BACKOFF_S * 2**supervised.failures)
                supervised.failures += 1
                supervised.restart_at = now + wait
                print(
                    f"leadbot: the {supervised.spec.name} server stopped (exit code {code}); "
                    f"starting it again in {wait:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
            elif now >= supervised.restart_at:
                supervised.process = _start_spec(supervised.spec, None)
                supervised.started_at, supervised.restart_at = now, None
                print(f"leadbot: the {supervised.spec.name} server is starting", flush=True)


@dataclass
class _Supervised:
    spec: ProcessSpec
    process: subprocess.Popen[bytes]
    started_at: float
    failures: int = 0
    restart_at: float | None = None


FIRST_ADMIN_HINT = (
    "No review app account yet. Create the first admin (it asks for a password):\n"
    "  .venv/bin/leadbot users add --email you@example.com --role admin\n"
)


def _has_admin(database_url: str) -> bool:
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            return accounts.has_admin(session)
    finally:
        engine.dispose()


def _print_ready(settings: Settings) -> None:
    base = f"http://localhost:{settings.rasa_port}"
    print(
        f"\nleadbot is up. Open http://localhost:{settings.web_port} to chat.\n"
        f"  Talk to it:  curl -s {base}/webhooks/rest/webhook "
        f'-H \'Content-Type: application/json\' -d \'{{"sender": "me", "message": "hi"}}\'\n'
        f"  Web widget:  http://localhost:{settings.web_port}/widget.js, "
        f"socket.io at {base}/socket.io\n"
        f"  Sales reps:  http://localhost:{settings.web_port}/review\n"
        f"  Leads:       .venv/bin/leadbot leads list\n"
        f"  Store:       {settings.database_url.split('@')[-1]}\n"
        f"Press Ctrl-C to stop.\n",
        flush=True,
    )
