"""Returning visitors: greeted as such, never asked again what is known, free to change an answer.

A visitor returns in two ways: in a new session of the same conversation (the widget keeps its
session id; Rasa starts a new session after ``session_expiration_time``), or by giving an
email the store already has, in a new conversation on any channel. Either way the answers on
file fill the questions still open. After the qualification, a statement that answers a
qualifying question again ("our budget grew to 80k") changes that answer and re-scores the
lead; the store keeps the change in the lead's events and the new score in its history. In the
middle of the form, a correction ("sorry, make that 80k not 50k") changes an earlier answer the
same way, and the form goes on with its question; the lead is scored when the form ends.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Final

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions import conversation, lead_store
from actions.settings import current_rules
from crm_bridge.leads import AnswersOnFile
from qualifying import answers, revisions
from qualifying.need import OTHER as OTHER_NEED
from qualifying.rules import Rules
from qualifying.scoring import annual_budget, score_lead
from qualifying.text import is_question
from qualifying.volunteered import unmarked_answer, volunteered_answer

log = logging.getLogger(__name__)

QUALIFIED_SLOT: Final = "qualification_done"
# Slots a new session starts without: where the form stood, not what the visitor said.
NOT_CARRIED_OVER: Final = frozenset({"requested_slot", "session_started_metadata"})


class ActionSessionStart(Action):
    """Starts a session keeping what is known, and welcomes back a visitor who was here before."""

    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        carried = {
            name: value
            for name, value in tracker.slots.items()
            if value is not None and name not in NOT_CARRIED_OVER
        }
        answered_before = any(answers.is_answered(carried.get(s)) for s in answers.FORM_SLOTS)
        on_file = await _answers_on_file(tracker.sender_id, sender_id=tracker.sender_id)
        prefill = _prefill(carried, on_file)
        if on_file is not None and on_file.qualified and not carried.get(QUALIFIED_SLOT):
            prefill[QUALIFIED_SLOT] = True  # answers once scored are not asked for again
        if answered_before or on_file is not None:
            name = (on_file.person_name if on_file else None) or _name(carried)
            dispatcher.utter_message(
                response="utter_welcome_back",
                person_greeting=f", {name.split()[0]}" if name else "",
            )
            log.info("returning visitor sender_id=%s prefilled=%d", tracker.sender_id, len(prefill))
        slots = {**carried, **prefill}
        return [
            SessionStarted(),
            *(SlotSet(name, value) for name, value in slots.items()),
            ActionExecuted("action_listen"),
        ]


async def recognise_email(
    dispatcher: CollectingDispatcher, tracker: Tracker, events: list[EventType]
) -> list[EventType]:
    """When the email just given is a known lead's from another conversation, welcomes the
    visitor back and fills the questions still open from that lead's answers.

    The welcome names nobody: whoever types an email must not learn whose it is.
    """
    given = next(
        (e.get("value") for e in events if e.get("event") == "slot" and e.get("name") == "email"),
        None,
    )
    email = given.get("email") if isinstance(given, dict) else None
    if not email:
        return []
    on_file = await _answers_on_file(tracker.sender_id, email=email)
    if on_file is None or tracker.sender_id in on_file.sender_ids:
        return []
    prefill = _prefill(dict(tracker.slots), on_file)
    dispatcher.utter_message(response="utter_welcome_back_email")
    log.info(
        "returning visitor by email sender_id=%s prefilled=%d", tracker.sender_id, len(prefill)
    )
    tracker.slots.update(prefill)
    return [SlotSet(name, value) for name, value in prefill.items()]


class ActionReviseAnswer(Action):
    """After the qualification: a statement that answers a question again replaces that answer,
    and the lead is scored again."""

    def name(self) -> str:
        return "action_revise_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        # Rasa filled the slots the model marked with raw words ("10k a year"): those keep
        # their answers unless the words change them.
        kept = {
            slot: _before_message(tracker, slot)
            for slot in answers.FORM_SLOTS
            if isinstance(tracker.get_slot(slot), str)
        }
        revised = revised_answers(tracker)
        if not revised:
            dispatcher.utter_message(response="utter_anything_else")
            return [SlotSet(slot, value) for slot, value in kept.items()]
        kept.update(revised)
        slots = {**tracker.slots, **kept}
        fields = answers.lead_fields(slots)
        qualification = score_lead(answers.qualifying_answers(fields), current_rules())
        hot = qualification.temperature == "hot"
        try:
            await lead_store.submit(tracker, slots, qualification, "hot_lead" if hot else None)
        except SQLAlchemyError as error:
            log.error(
                "saving a changed answer failed sender_id=%s error=%s",
                tracker.sender_id,
                type(error).__name__,
            )
            dispatcher.utter_message(response="utter_save_failed")
            return [SlotSet(slot, value) for slot, value in kept.items() if slot not in revised]
        log.info(
            "answer changed sender_id=%s questions=%s temperature=%s",
            tracker.sender_id,
            ",".join(sorted(revised)),
            qualification.temperature,
        )
        dispatcher.utter_message(response="utter_answer_updated")
        return [SlotSet(slot, value) for slot, value in kept.items()]


def revision_in_form(dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any] | None:
    """In the middle of the form: the slot values when the latest message corrects an earlier
    answer ("sorry, make that 80k not 50k") while another question is being asked.

    The changed answers replace the earlier ones and the question being asked stays open, to be
    asked again once; the visitor is told the change was made. A message that takes an answer
    back in words no parser understands ("scratch that") is answered politely and changes
    nothing. Returns None for every other message, which is read as usual: an answer to the
    question being asked stays an answer.
    """
    message = str((tracker.latest_message or {}).get("text") or "")
    corrected = revisions.correction(message)
    if corrected is None or is_question(message):
        return None
    requested = tracker.get_slot("requested_slot")
    answered = [
        slot
        for slot in answers.QUALIFYING_SLOTS
        if slot != requested and answers.is_answered(_before_message(tracker, slot))
    ]
    if not answered:
        return None
    still_open = {requested: None} if requested else {}
    revised = revised_answers(tracker, answered)
    if revised:
        log.info(
            "answer changed in the form sender_id=%s questions=%s",
            tracker.sender_id,
            ",".join(sorted(revised)),
        )
        dispatcher.utter_message(response="utter_answer_changed")
        return {**revised, **still_open}
    # "scratch that, let me talk to a person" asks for a person, read as usual.
    wants_person = conversation.latest_intent(tracker)[0] == "request_human"
    if (
        requested
        and corrected.takes_back
        and not wants_person
        and not _answers(requested, corrected.words)
    ):
        dispatcher.utter_message(response="utter_change_not_understood")
        return still_open
    return None


def revised_answers(
    tracker: Tracker, questions: Sequence[str] = answers.QUALIFYING_SLOTS
) -> dict[str, Any]:
    """The answers to `questions` that the latest message gives and that differ from the ones
    given before it.

    Words the model marked for a question are read first, then an answer clear without the
    model (an amount said as money, a named offering, a role); a question left unsaid keeps
    its answer. A correction ("sorry, make that 80k not 50k") is read without its correction
    words and the answer it takes back, and its new words answer a question by themselves.
    """
    message = str((tracker.latest_message or {}).get("text") or "")
    corrected = revisions.correction(message)
    text = corrected.words if corrected else message
    marked: dict[str, str] = {}
    for entity in (tracker.latest_message or {}).get("entities") or []:
        value = str(entity.get("value") or "")
        # The model may mark the answer taken back ("50k" in "make that 80k not 50k") or the
        # correction's own words ("scratch that"): only the new words count.
        if corrected and value.lower() not in corrected.words.lower():
            continue
        if value and entity.get("entity") not in marked:
            marked[str(entity.get("entity"))] = value
    rules = current_rules()
    revised: dict[str, Any] = {}
    for slot in questions:
        earlier = _before_message(tracker, slot)
        if corrected:
            understood = _corrected_answer(slot, marked.get(slot) or text, earlier, rules)
        else:
            said = marked.get(slot) or unmarked_answer(slot, message, tracker.slots, rules)
            understood = (
                volunteered_answer(slot, said, message, tracker.slots, rules) if said else None
            )
        if understood is not None and _meaning(understood) != _meaning(earlier):
            revised[slot] = understood
    return revised


def _corrected_answer(slot: str, said: str, earlier: Any, rules: Rules) -> dict[str, Any] | None:
    """The new answer a correction's words give, or None.

    A need counts as a need said unasked would (any words read as a need of some kind), and
    never in words that describe the visitor's role ("actually I run the support team"). An
    amount said alone ("make that 80k" after "50k a year") keeps the period of the budget it
    corrects.
    """
    if slot == "need":
        if answers.understand("authority", said, rules) is not None:
            return None
        return volunteered_answer(slot, said, said, {}, rules)
    understood = answers.understand(slot, said, rules)
    if not isinstance(understood, dict):
        return None
    period = earlier.get("budget_period") if isinstance(earlier, dict) else None
    if slot == "budget" and understood["budget_period"] == "one_off" and period:
        understood["budget_period"] = period
        understood["budget_annual"] = annual_budget(
            understood["budget_min"],
            understood["budget_max"],
            understood["budget_currency"],
            period,
            rules,
        )
    return understood


def _answers(slot: str, said: str) -> bool:
    """True when the words answer the question (or decline it) rather than some other."""
    if not said:
        return False
    understood = answers.understand(slot, said, current_rules())
    if isinstance(understood, dict):
        return not (slot == "need" and understood.get("need_category") == OTHER_NEED)
    return understood is not None


def _before_message(tracker: Tracker, slot: str) -> Any:
    """The slot's answer before the latest message, which fills slots with the words the model
    marked ("80k") before they are understood."""
    if tracker.latest_message:
        return conversation.value_before_latest_message(tracker, slot)
    return tracker.get_slot(slot)


def _meaning(value: Any) -> Any:
    """What an answer means, apart from its words: a need restated in other words is the same
    need when it names the same offering."""
    if not isinstance(value, dict):
        return value
    return {k: v for k, v in value.items() if k not in ("said", "need")}


async def _answers_on_file(
    conversation_id: str, *, sender_id: str | None = None, email: str | None = None
) -> AnswersOnFile | None:
    """The store's answers, or None when the store cannot be read: the visitor is then asked
    again, which loses nothing."""
    try:
        return await lead_store.answers_on_file(sender_id=sender_id, email=email)
    except SQLAlchemyError as error:
        log.error(
            "reading answers on file failed sender_id=%s error=%s",
            conversation_id,
            type(error).__name__,
        )
        return None


def _prefill(slots: Mapping[str, Any], on_file: AnswersOnFile | None) -> dict[str, Any]:
    """The answers on file for every question the conversation has no answer to."""
    if on_file is None:
        return {}
    return {
        slot: value
        for slot, value in on_file.answers.items()
        if slot in answers.FORM_SLOTS and slots.get(slot) is None
    }


def _name(slots: Mapping[str, Any]) -> str | None:
    value = slots.get("person_name")
    name = value.get("person_name") if isinstance(value, dict) else None
    return str(name) if name else None
