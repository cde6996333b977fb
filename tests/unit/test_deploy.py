"""deploy/: the Docker Compose file and the Helm values describe the topology the two-server test
runs (benchmarks/two_servers.py), with the same settings, and those settings give Rasa the
shared lock and tracker stores."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from benchmarks.two_servers import CRM_DATABASE, SERVERS, SHARED_SETTINGS, TRACKER_DATABASE
from bot import launcher, one_process, settings
from bot.rasa_stores import sql_tracker_store

DEPLOY = settings.PROJECT_ROOT / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
HELM_VALUES = DEPLOY / "helm" / "values.yaml"
# Compose's ${NAME}, ${NAME:-default} and ${NAME:?message}.
INTERPOLATION = re.compile(r"\$\{(\w+)(?::[-?][^}]*)?\}")
RUN_ONE = [".venv/bin/python", "-m", "bot.one_process"]


def _compose() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"])


def _environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as compose gives it, with sample values for the secrets."""
    return {
        name: INTERPOLATION.sub(lambda m: f"sample-{m.group(1).lower()}", str(value))
        for name, value in service.get("environment", {}).items()
    }


def _pairs(services: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Each Rasa server's service with the action server's that runs beside it."""
    rasa = [name for name, s in services.items() if s.get("command") == [*RUN_ONE, "rasa"]]
    return [
        (services[name], action)
        for name in rasa
        for action in services.values()
        if action.get("command") == [*RUN_ONE, "actions"]
        and action.get("network_mode") == f"service:{name}"
    ]


def test_compose_runs_every_process_of_the_topology() -> None:
    services = _compose()

    assert set(services) == {
        *("postgres", "redis", "migrate", "web", "sync"),
        *(f"{kind}-{n}" for kind in ("rasa", "actions") for n in range(1, SERVERS + 1)),
    }
    assert len(_pairs(services)) == SERVERS
    assert services["web"]["command"] == [*RUN_ONE, "web"]
    assert services["sync"]["command"] == [".venv/bin/leadbot", "sync", "run"]
    assert services["migrate"]["command"] == [".venv/bin/leadbot", "db", "upgrade"]


def test_compose_gives_every_leadbot_process_the_two_server_tests_shared_settings() -> None:
    services = _compose()
    ours = {name: s for name, s in services.items() if name not in ("postgres", "redis")}
    shared = [{k: _environment(s)[k] for k in SHARED_SETTINGS} for s in ours.values()]

    assert all(values == shared[0] for values in shared)
    crm, tracker = (
        urlsplit(shared[0][k]) for k in ("LEADBOT_DATABASE_URL", "LEADBOT_TRACKER_STORE_URL")
    )
    assert (crm.scheme, crm.hostname, crm.path) == (
        "postgresql+psycopg",
        "postgres",
        f"/{CRM_DATABASE}",
    )
    assert services["postgres"]["environment"]["POSTGRES_DB"] == CRM_DATABASE
    assert (tracker.hostname, tracker.path) == ("postgres", f"/{TRACKER_DATABASE}")
    scripts = "".join(p.read_text(encoding="utf-8") for p in (DEPLOY / "postgres").glob("*.sql"))
    assert f"CREATE DATABASE {TRACKER_DATABASE};" in scripts
    assert urlsplit(shared[0]["LEADBOT_REDIS_URL"]).hostname == "redis"


def test_compose_pairs_each_rasa_server_with_its_own_action_server_on_its_own_ports() -> None:
    ports = [
        (_environment(rasa)["LEADBOT_RASA_PORT"], _environment(rasa)["LEADBOT_ACTION_PORT"])
        for rasa, actions in _pairs(_compose())
        if _environment(actions)["LEADBOT_ACTION_PORT"] == _environment(rasa)["LEADBOT_ACTION_PORT"]
    ]

    assert len(ports) == SERVERS
    assert len({rasa for rasa, _ in ports}) == len({action for _, action in ports}) == SERVERS


@pytest.mark.parametrize("index", range(SERVERS))
def test_the_compose_settings_give_rasa_the_shared_lock_and_tracker_stores(
    index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rasa, actions = _pairs(_compose())[index]
    for name, value in _environment(rasa).items():
        monkeypatch.setenv(name, value)
    config = dataclasses.replace(settings.load(), var_dir=tmp_path)

    actions_command, rasa_command = launcher.server_commands(config, tmp_path / "model.tar.gz")
    endpoints_file = Path(rasa_command[rasa_command.index("--endpoints") + 1])
    endpoints = yaml.safe_load(endpoints_file.read_text(encoding="utf-8"))

    assert endpoints["lock_store"] == {"type": "redis", "url": "redis", "port": 6379, "db": 0}
    assert endpoints["tracker_store"] == {
        "type": "SQL",
        "dialect": "postgresql",
        "url": "postgres",
        "port": 5432,
        "db": TRACKER_DATABASE,
        "username": "leadbot",
        "password": "sample-postgres_password",
    }
    assert endpoints["action_endpoint"]["url"] == (
        f"http://127.0.0.1:{_environment(actions)['LEADBOT_ACTION_PORT']}/webhook"
    )
    command, _ = one_process.process("actions", config)
    assert command == actions_command


def test_helm_values_run_two_rasa_servers_each_with_its_action_server_and_the_same_settings() -> (
    None
):
    values = yaml.safe_load(HELM_VALUES.read_text(encoding="utf-8"))
    rasa_env = {entry["name"]: entry for entry in values["extraEnv"]}
    (actions,) = values["extraContainers"]
    actions_env = {entry["name"]: entry for entry in actions["env"]}
    compose_rasa, compose_actions = _pairs(_compose())[0]

    assert values["replicaCount"] == SERVERS
    assert [*values["command"], *values["args"]] == [*RUN_ONE, "rasa"]
    assert [*actions["command"], *actions["args"]] == [*RUN_ONE, "actions"]
    assert actions["image"] == f"{values['image']['repository']}:{values['image']['tag']}"
    assert rasa_env == actions_env
    assert set(rasa_env) == set(_environment(compose_rasa)) - {"LEADBOT_WEB_PORT"}
    assert set(actions_env) >= set(_environment(compose_actions))
    port = int(rasa_env["LEADBOT_RASA_PORT"]["value"])
    assert port == values["applicationSettings"]["port"] == values["service"]["port"]
    # Our launcher writes Rasa's endpoints from the settings; the chart's own stay off.
    endpoints = values["applicationSettings"]["endpoints"]
    assert not endpoints["trackerStore"]["enabled"] and not endpoints["lockStore"]["enabled"]
    assert not values["postgresql"]["install"] and not values["rasa-action-server"]["install"]


def _compose_config(environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Compose's own reading of the file (`docker-compose config`: Debian's docker-compose, which
    `make test` installs; it parses, validates and interpolates without a Docker engine)."""
    return subprocess.run(
        ["docker-compose", "--file", str(COMPOSE), "config"],
        env={"PATH": os.environ["PATH"], **environment},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_compose_itself_accepts_the_file_once_every_secret_is_set() -> None:
    secrets = {name: f"sample-{name.lower()}" for name in _required_secrets()}
    result = _compose_config(secrets)

    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)["services"]
    assert set(resolved) == set(_compose())
    for name in ("rasa-1", "rasa-2"):
        assert resolved[name]["environment"]["LEADBOT_API_TOKEN"] == secrets["LEADBOT_API_TOKEN"]


def test_compose_refuses_to_start_without_each_secret() -> None:
    every_secret = {name: "sample" for name in _required_secrets()}
    for missing in every_secret:
        result = _compose_config({k: v for k, v in every_secret.items() if k != missing})
        assert result.returncode != 0 and missing in result.stderr, missing


def _required_secrets() -> set[str]:
    """The variables compose must be given (written ${NAME:?message} in the file)."""
    return set(re.findall(r"\$\{(\w+):\?", COMPOSE.read_text(encoding="utf-8")))


def test_no_secret_is_written_into_the_deploy_files() -> None:
    for path in (COMPOSE, HELM_VALUES):
        text = path.read_text(encoding="utf-8")
        for line in text.splitlines():
            if re.search(r"(PASSWORD|TOKEN|SECRET)\w*:\s*\S", line) and "${" not in line:
                assert "secretKeyRef" in line or line.strip().startswith("#"), line


@pytest.mark.parametrize("url", ["sqlite:///var/trackers.db", "postgresql://db:5432/"])
def test_a_tracker_store_url_must_name_a_postgresql_database(url: str) -> None:
    with pytest.raises(ValueError, match="LEADBOT_TRACKER_STORE_URL"):
        sql_tracker_store(url)


def test_a_tracker_store_password_with_reserved_characters_reaches_rasa_decoded() -> None:
    store = sql_tracker_store("postgresql://rasa:p%40ss%2Fword@db/trackers")

    assert store == {
        "type": "SQL",
        "dialect": "postgresql",
        "url": "db",
        "port": 5432,
        "db": "trackers",
        "username": "rasa",
        "password": "p@ss/word",
    }
