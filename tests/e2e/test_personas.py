"""Every persona, dev.yml's and our own, played against the running bot as a visitor would."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.bot import RunningBot
from tests.support.scenario_player import Persona, load_personas, play

ROOT = Path(__file__).resolve().parents[2]
SHARED_SCENARIOS = ROOT.parent / "shared" / "scenarios" / "dev.yml"
OUR_PERSONAS = ROOT / "tests" / "personas"

PERSONAS = [
    *(pytest.param(p, id=f"dev:{p.id}") for p in load_personas(SHARED_SCENARIOS)),
    *(pytest.param(p, id=p.id) for p in load_personas(OUR_PERSONAS)),
]


def test_there_are_enough_personas_of_our_own() -> None:
    assert len(load_personas(OUR_PERSONAS)) >= 20


@pytest.mark.parametrize("persona", PERSONAS)
def test_persona(running_bot: RunningBot, persona: Persona) -> None:
    outcome = play(persona, running_bot.rasa_url, running_bot.token, running_bot.lead)
    assert outcome.asked_again == [], (
        f"asked again for what the opening gave: {outcome.asked_again}"
    )
    if persona.interrupt:
        assert outcome.interruption_resumed, "the form did not resume at the interrupted question"
    assert outcome.passed, "\n".join(outcome.failures)
