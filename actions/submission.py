"""The end of the qualification: score, save, hand off, and tell the visitor what happens next."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions import lead_store
from actions.settings import current_rules
from qualifying import answers
from qualifying.scoring import score_lead

log = logging.getLogger(__name__)


class ActionSubmitQualification(Action):
    """Scores the answers, saves everything in one transaction and says what happens next.

    When the store refuses the save, it is kept on disk (`crm_bridge.spool`) and the visitor
    is told so; the action server writes it once the store is back.
    """

    def name(self) -> str:
        return "action_submit_qualification"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        fields = answers.lead_fields(tracker.slots)
        qualification = score_lead(answers.qualifying_answers(fields), current_rules())
        wants_person = bool(tracker.get_slot("handoff_requested"))
        hot = qualification.temperature == "hot"
        handoff_reason = "visitor_request" if wants_person else ("hot_lead" if hot else None)
        try:
            await lead_store.submit(tracker, tracker.slots, qualification, handoff_reason)
        except SQLAlchemyError as error:
            _log_failure("saving the qualification", tracker, error)
            try:
                # Written by the action server's retry once the store is back: never asked
                # again of the visitor, and never announced twice.
                await lead_store.keep(tracker, tracker.slots, qualification, handoff_reason)
            except OSError as kept_error:
                _log_failure("keeping the qualification", tracker, kept_error)
                dispatcher.utter_message(response="utter_save_failed")
                return []
            dispatcher.utter_message(response="utter_save_pending")
            return [SlotSet("qualification_done", True)]
        dispatcher.utter_message(
            response=_next_steps(tracker.slots, qualification.temperature, wants_person),
            person_greeting=_greeting(fields),
        )
        return [SlotSet("qualification_done", True)]


class ActionRequestHandoff(Action):
    """Hands the conversation to a sales rep, keeping everything said so far."""

    def name(self) -> str:
        return "action_request_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            await lead_store.hand_off(tracker, tracker.slots)
        except SQLAlchemyError as error:
            _log_failure("saving the handoff", tracker, error)
            dispatcher.utter_message(response="utter_save_failed")
            return []
        dispatcher.utter_message(response="utter_handoff_created")
        return [SlotSet("handoff_requested", True)]


def _log_failure(what: str, tracker: Tracker, error: Exception) -> None:
    # The error's class only: its text can quote the row, with the visitor's words.
    log.error("%s failed sender_id=%s error=%s", what, tracker.sender_id, type(error).__name__)


def _next_steps(slots: dict[str, Any], temperature: str, wants_person: bool) -> str:
    if wants_person:
        return "utter_handoff_created"
    if answers.refused_consent(slots):
        return "utter_result_no_consent_hot" if temperature == "hot" else "utter_result_no_consent"
    return f"utter_result_{temperature}"


def _greeting(fields: dict[str, Any]) -> str:
    name = fields.get("person_name")
    return f", {str(name).split()[0]}" if name else ""
