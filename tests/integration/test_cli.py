"""The `leadbot` command as an operator uses it: exit codes, messages, JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

LEADBOT = str(Path(sys.executable).parent / "leadbot")


def _leadbot(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LEADBOT, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "LEADBOT_DATABASE_URL": database_url},
    )


def test_an_unknown_sender_exits_1_with_a_message(tmp_path: Path) -> None:
    result = _leadbot(
        "leads",
        "show",
        "--sender-id",
        "nobody",
        "--json",
        database_url=f"sqlite:///{tmp_path / 'leads.db'}",
    )
    assert result.returncode == 1
    assert "no lead for sender id 'nobody'" in result.stderr
    assert result.stdout == ""


def test_an_empty_store_lists_no_leads(tmp_path: Path) -> None:
    result = _leadbot("leads", "list", "--json", database_url=f"sqlite:///{tmp_path / 'l.db'}")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_db_upgrade_is_repeatable(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'leads.db'}"
    for _ in range(2):
        result = _leadbot("db", "upgrade", database_url=url)
        assert result.returncode == 0, result.stderr


def test_an_unreachable_store_exits_2_without_a_traceback(tmp_path: Path) -> None:
    result = _leadbot("leads", "list", database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "leadbot:" in result.stderr


def test_a_missing_argument_is_a_usage_error() -> None:
    result = _leadbot("leads", "show", database_url="sqlite://")
    assert result.returncode == 2
    assert "--sender-id" in result.stderr
