"""Two Rasa servers sharing a Redis lock store and a PostgreSQL tracker store, each with its own
action server, over one PostgreSQL CRM store: a conversation whose turns alternate between them
leaves the same, complete lead as one server gives."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from benchmarks.load import qualifying_personas
from benchmarks.two_servers import Router, Topology, strangers, two_servers
from tests.support.bot import API_TOKEN, RunningBot
from tests.support.scenario_player import Outcome, Persona, play

pytestmark = [pytest.mark.rasa, pytest.mark.postgres]

# A hot lead with a handoff, a monthly budget in euros, an off-path question mid-form, and a
# visitor who declines a slot.
PERSONAS = ("hot-pipeline", "eur-monthly", "interrupt-pricing", "declines-budget-only")
# What differs between two visits of the same persona whoever answers: who, which lead, when.
IDENTITY_AND_MOMENTS = {"id", "email", "conversations", "created_at", "updated_at", "consent_at"}


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    with two_servers(tmp_path_factory.mktemp("two-servers")) as running:
        yield running


def test_turns_alternating_between_two_servers_leave_the_same_complete_leads(
    topology: Topology, personas: list[Persona]
) -> None:
    first, second = topology.servers
    alone = Router([first.rasa_url])
    both = Router([first.rasa_url, second.rasa_url])

    single = _play_all(alone, strangers(personas, 1), first.running)
    paired = _play_all(both, strangers(personas, 2), second.running)

    for persona, one, two in zip(personas, single, paired, strict=True):
        assert one.passed, (persona.id, one.failures, first.running.logs())
        assert two.passed, (persona.id, two.failures, first.running.logs(), second.running.logs())
        # Every turn after the first went to the server that did not answer the one before.
        assert both.turns[two.sender_id] == [n % 2 for n in range(two.turns)]
        # Both servers see every turn, in order: none was lost or answered twice.
        said = [_user_texts(server.running.tracker(two.sender_id)) for server in (first, second)]
        assert said[0] == said[1]
        assert len(said[0]) == two.turns == one.turns
        lead_one, lead_two = first.running.lead(one.sender_id), second.running.lead(two.sender_id)
        assert lead_one is not None and lead_two is not None
        assert lead_two["conversations"] == [{"sender_id": two.sender_id, "channel": "rest"}]
        assert _comparable(lead_two) == _comparable(lead_one)


@pytest.fixture
def personas() -> list[Persona]:
    chosen = {persona.id: persona for persona in qualifying_personas() if persona.id in PERSONAS}
    assert set(chosen) == set(PERSONAS), "a persona of this test was renamed or removed"
    return [chosen[persona_id] for persona_id in PERSONAS]


def _play_all(router: Router, personas: list[Persona], reader: RunningBot) -> list[Outcome]:
    """Plays the personas two at a time through the router; each lead is read by `reader`'s
    `leadbot leads show` once its conversation ends."""
    with router.listening() as url, ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(lambda persona: play(persona, url, API_TOKEN, reader.lead), personas))


def _user_texts(tracker: dict[str, Any]) -> list[str]:
    return [event["text"] for event in tracker["events"] if event["event"] == "user"]


def _comparable(lead: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in lead.items() if name not in IDENTITY_AND_MOMENTS}
