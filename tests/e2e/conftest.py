"""The real bot for end-to-end tests, started once per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.bot import RunningBot, running_bot


@pytest.fixture(scope="session", name="running_bot")
def running_bot_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    """The real servers on a fresh SQLite store, stopped after the session."""
    try:
        with running_bot(tmp_path_factory.mktemp("bot")) as bot:
            yield bot
    except RuntimeError as error:
        pytest.fail(str(error))
