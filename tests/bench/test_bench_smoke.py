"""`make bench` in miniature: every section runs at tiny sizes, so the bench code cannot rot.

The numbers of a smoke run mean nothing and no target is asserted: only that every section
reported, and that the page and the plot were written. The smoke run loads the single-worker
bot only, so the two-worker Redis setup of the full run is checked here by its endpoints file.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from benchmarks.bench import DATA, PAGE, ROOT, SECTIONS
from benchmarks.load import PLOT_NAME
from bot import launcher, settings

# A guard against a hung server, not a speed target: the smoke run takes about 8 minutes.
HANG_GUARD_S = 1800
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """Runs `python -m benchmarks.bench --smoke` into a temp folder; the folder and its JSON."""
    out = tmp_path_factory.mktemp("bench")
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench", "--smoke", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out, json.loads((out / DATA).read_text(encoding="utf-8"))


@pytest.mark.rasa
@pytest.mark.parametrize("name", [name for name, _ in SECTIONS])
def test_every_section_reports_without_breaking(
    smoke_run: tuple[Path, dict[str, Any]], name: str
) -> None:
    out, data = smoke_run
    reported = {section["name"]: section for section in data["sections"]}
    section = reported[name]
    assert section["error"] is None, section["error"]
    assert section["title"]
    assert f"## {section['title']}" in (out / PAGE).read_text(encoding="utf-8")
    assert all(target["measured"] for target in section["targets"])
    assert all(target["why_not"] for target in section["targets"] if not target["met"])


@pytest.mark.rasa
def test_the_page_has_the_machine_the_targets_and_the_plot(
    smoke_run: tuple[Path, dict[str, Any]],
) -> None:
    out, data = smoke_run
    page = (out / PAGE).read_text(encoding="utf-8")
    for heading in ("## Machine", "## Targets"):
        assert heading in page
    assert data["machine"]["Rasa"].startswith("3.6")
    assert f"({PLOT_NAME})" in page
    assert (out / PLOT_NAME).read_bytes().startswith(PNG_SIGNATURE)


@pytest.mark.parametrize(
    "redis_url, expected",
    [
        (None, None),
        (
            "redis://127.0.0.1:6390/0",
            {"type": "redis", "url": "127.0.0.1", "port": 6390, "db": 0},
        ),
        (
            "redis://:s3cret@cache.internal/2",
            {"type": "redis", "url": "cache.internal", "port": 6379, "db": 2, "password": "s3cret"},
        ),
    ],
)
def test_redis_backs_both_of_rasas_stores(
    tmp_path: Path, redis_url: str | None, expected: dict[str, Any] | None
) -> None:
    config = dataclasses.replace(
        settings.load(), var_dir=tmp_path, rasa_workers=2 if redis_url else 1, redis_url=redis_url
    )
    _, rasa = launcher.server_commands(config, tmp_path / "model.tar.gz")
    endpoints = yaml.safe_load(Path(rasa[rasa.index("--endpoints") + 1]).read_text())
    assert endpoints.get("lock_store") == expected
    assert endpoints.get("tracker_store") == expected
    assert endpoints["action_endpoint"]["url"].endswith(f":{config.action_port}/webhook")


@pytest.mark.parametrize("workers, sanic_workers", [(1, None), (2, "2")])
def test_only_the_rasa_server_gets_several_workers(workers: int, sanic_workers: str | None) -> None:
    config = dataclasses.replace(
        settings.load(), rasa_workers=workers, redis_url="redis://127.0.0.1:6390/0"
    )
    assert launcher.rasa_environment(config).get("SANIC_WORKERS") == sanic_workers
    assert "SANIC_WORKERS" not in launcher.server_environment(config)


def test_several_workers_without_redis_are_refused(tmp_path: Path) -> None:
    config = dataclasses.replace(settings.load(), var_dir=tmp_path, rasa_workers=2)
    with pytest.raises(RuntimeError, match="LEADBOT_REDIS_URL"):
        launcher.server_commands(config, tmp_path / "model.tar.gz")
