"""`leadbot users add` and `leadbot users list`, as an operator types them, on a real store."""

from __future__ import annotations

import os
import subprocess

from bot import launcher
from crm_bridge import accounts
from crm_bridge.store import make_engine, make_session_factory
from tests.support.bot import LEADBOT


def _leadbot(url: str, *args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LEADBOT_DATABASE_URL": url}
    env.pop("LEADBOT_NEW_USER_PASSWORD", None)
    if password is not None:
        env["LEADBOT_NEW_USER_PASSWORD"] = password
    return subprocess.run(
        [LEADBOT, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def test_users_add_creates_an_account_that_can_log_in(database_url: str) -> None:
    assert not launcher._has_admin(database_url)
    added = _leadbot(
        database_url,
        "users",
        "add",
        "--email",
        "Boss@Example.com",
        "--role",
        "admin",
        password="a long enough password",
    )
    assert added.returncode == 0, added.stderr
    assert "admin boss@example.com can now log in" in added.stdout
    assert launcher._has_admin(database_url)
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine).begin() as session:
            user = accounts.authenticate(session, "boss@example.com", "a long enough password")
            assert user is not None and user.role == "admin"
    finally:
        engine.dispose()
    listed = _leadbot(database_url, "users", "list")
    assert listed.stdout.strip() == "boss@example.com  admin"


def test_users_add_refuses_what_it_cannot_do(sqlite_url: str) -> None:
    no_password = _leadbot(sqlite_url, "users", "add", "--email", "ann@example.com")
    assert no_password.returncode == 3
    assert "LEADBOT_NEW_USER_PASSWORD" in no_password.stderr
    short = _leadbot(sqlite_url, "users", "add", "--email", "ann@example.com", password="short")
    assert short.returncode == 3 and "at least 10 characters" in short.stderr
    ok = _leadbot(sqlite_url, "users", "add", "--email", "ann@example.com", password="x" * 12)
    assert ok.returncode == 0 and "rep ann@example.com" in ok.stdout
    again = _leadbot(sqlite_url, "users", "add", "--email", "ANN@example.com", password="x" * 12)
    assert again.returncode == 3 and "already an account" in again.stderr
    wrong_role = _leadbot(sqlite_url, "users", "add", "--email", "x@example.com", "--role", "boss")
    assert wrong_role.returncode == 2  # argparse: not a role
