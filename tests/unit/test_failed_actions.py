"""A turn notices the actions Rasa reports failed while it ran, and a message Rasa drops for want
of a model, and only its own (bot/channels/intake.py `watching_actions`)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.channels import intake

PROCESSOR = logging.getLogger("rasa.core.processor")
AGENT = logging.getLogger("rasa.core.agent")


def _rasa_reports_a_failed_action() -> None:
    # Rasa 3.6's words (rasa/core/processor.py, `_run_action`).
    PROCESSOR.error(
        "Encountered an exception while running action 'validate_qualification_form'."
        "Bot will continue, but the actions events are lost."
    )


def test_a_failed_action_is_noticed_by_the_turn_it_failed_in() -> None:
    with intake.watching_actions() as turn:
        PROCESSOR.info("Loading model ...")
        _rasa_reports_a_failed_action()
    assert turn.failed_actions == 1
    assert turn.unanswered
    _rasa_reports_a_failed_action()  # after the turn: nobody's
    assert turn.failed_actions == 1


def test_a_message_dropped_before_the_model_is_loaded_is_noticed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, AGENT.name)  # as the Rasa server logs, unless --quiet
    with intake.watching_actions() as answered:
        AGENT.info("Loading model ...")
    with intake.watching_actions() as dropped:
        # Rasa 3.6's words (rasa/core/agent.py, `Agent.handle_message`).
        AGENT.info("Ignoring message as there is no agent to handle it.")
    assert (answered.no_model, answered.unanswered) == (False, False)
    assert (dropped.no_model, dropped.unanswered) == (True, True)


def test_concurrent_turns_notice_only_their_own_failures() -> None:
    async def turn(fails: bool) -> int:
        with intake.watching_actions() as watched:
            await asyncio.sleep(0.01)
            if fails:
                _rasa_reports_a_failed_action()
            await asyncio.sleep(0.01)
        return watched.failed_actions

    async def both() -> list[int]:
        return list(await asyncio.gather(turn(True), turn(False)))

    assert asyncio.run(both()) == [1, 0]
