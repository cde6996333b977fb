"""Validation of the qualification form: understand each answer, handle everything off the path."""

from __future__ import annotations

from typing import Any, Final

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions import conversation, lead_store, nudge, returning
from actions.settings import current_rules
from qualifying import answers
from qualifying.declines import Declined, is_decline, is_refusal
from qualifying.need import OTHER as OTHER_NEED
from qualifying.rules import Rules
from qualifying.text import is_question
from qualifying.volunteered import unmarked_answer, volunteered_answer

# Below this confidence an intent is not trusted to override a slot's answer.
OFF_PATH_CONFIDENCE: Final = 0.5
# Intents that ask the bot something. Asked as a question, they win over an answer read into
# the same words ("can I talk to someone from your sales team?" is no role, "how much is your
# CRM?" no need); said as a statement, the answer wins ("a ticketing tool that plugs into Jira").
ASKING_INTENTS: Final = frozenset(
    {
        "ask_price",
        "ask_product",
        "ask_integrations",
        "ask_privacy",
        "ask_security",
        "ask_trial",
        "ask_demo",
        "ask_bot",
        "ask_who",
        "ask_why",
        "request_human",
    }
)
# Messages that are no answer: answered off the path like a question, never the failed answer.
ASIDE_INTENTS: Final = frozenset({"greet", "thank", "goodbye", "out_of_scope", "other_language"})
OFF_PATH_INTENTS: Final = ASKING_INTENTS | ASIDE_INTENTS
# Openings and closings, which a name, company or consent parser may read as an answer.
SMALL_TALK_INTENTS: Final = frozenset({"greet", "goodbye"})
# Names look like nothing the model learnt ("Maggie Doyle" may read as a goodbye at 0.5): only a
# sure greeting or goodbye overrides a name, company or consent the parser read.
SMALL_TALK_CONFIDENCE: Final = 0.8
# Intents that say "I won't or can't answer this" in words no parser knows ("nope", "next").
DECLINING_INTENTS: Final = frozenset({"decline", "deny", "just_looking"})
# Off-path intents whose answer is not named `utter_answer_<intent>`.
OFF_PATH_RESPONSES: Final = {
    "out_of_scope": "utter_out_of_scope",
    "other_language": "utter_english_only",
}
# What a clicked button's intent answers, in words every parser reads.
BUTTON_ANSWERS: Final = {"affirm": "yes", "deny": "no"}
# Questions whose answer may sit, unmarked by the model, in a message that answered another.
UNMARKED_SLOTS: Final = ("need", "budget", "timeline", "authority", "person_name", "company")


class ValidateQualificationForm(FormValidationAction):
    """Understands answers, answers questions off the path and asks again at the same question."""

    def name(self) -> str:
        return "validate_qualification_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if tracker.get_slot("handoff_requested"):
            return []  # the visitor wants a person: stop asking
        if answers.refused_consent(tracker.slots):
            return [slot for slot in domain_slots if slot not in answers.CONTACT_SLOTS]
        return domain_slots

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if nudge.is_nudge(tracker):
            return nudge.nudge(dispatcher, tracker)  # the visitor said nothing: nothing to read
        events = await super().run(dispatcher, tracker, domain)
        events += await returning.recognise_email(dispatcher, tracker, events)
        lead_store.save_progress(tracker, tracker.slots)
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        still_asking = any(tracker.get_slot(slot) is None for slot in required)
        return events + nudge.schedule(tracker, still_asking)

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Reads answers the model did not mark, for every question that is not being asked."""
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        extracted: dict[str, Any] = {}
        for slot in UNMARKED_SLOTS:
            if slot in required:
                found = _unmarked(slot, tracker)
                extracted.update(found)
                tracker.slots.update(found)  # later slots see what earlier ones read
        return [SlotSet(slot, value) for slot, value in extracted.items()]

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Understands every form slot the latest message set, in the form's order."""
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        # A correction of an earlier answer is no answer to the question being asked.
        revised = returning.revision_in_form(dispatcher, tracker) or {}
        tracker.slots.update(revised)
        slots = {
            slot: value
            for slot, value in tracker.slots_to_validate().items()
            if slot in required and slot not in revised
        }
        for slot, value in list(slots.items()):
            validated = self._validate(slot, value, dispatcher, tracker, domain)
            slots.update(validated)
            tracker.slots.update(validated)  # later slots see what earlier ones decided
        return [SlotSet(slot, value) for slot, value in {**slots, **revised}.items()]

    def _validate(
        self,
        slot: str,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        if answers.is_answered(value):
            return {slot: value}
        said = value if isinstance(value, str) else ""
        if said.startswith("/"):
            # A button's payload ("/affirm"): the channel let it through only because the bot
            # offered that button, so it says what its intent says.
            said = BUTTON_ANSWERS.get(conversation.latest_intent(tracker)[0] or "", "")
        if tracker.get_slot("requested_slot") != slot:
            return {slot: self._volunteered(slot, said, tracker)}
        return self._asked(slot, said, dispatcher, tracker, domain)

    @staticmethod
    def _volunteered(slot: str, said: str, tracker: Tracker) -> Any:
        """An answer to a question not asked yet: kept when understood, never over a real one."""
        earlier = conversation.value_before_latest_message(tracker, slot)
        rules = current_rules()
        if _is_real_answer(earlier) or _part_of_requested_answer(said, tracker, rules):
            return earlier
        message = str((tracker.latest_message or {}).get("text") or "")
        understood = volunteered_answer(slot, said, message, tracker.slots, rules)
        if understood is not None:
            return understood
        return earlier if answers.is_answered(earlier) else None

    def _asked(
        self,
        slot: str,
        said: str,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        understood = answers.understand(slot, said, current_rules())
        intent, confidence = conversation.latest_intent(tracker)
        trusted = intent if confidence >= OFF_PATH_CONFIDENCE else None
        question = is_question(said)
        sure = trusted if confidence >= SMALL_TALK_CONFIDENCE else None
        vague = _vague(slot, understood, trusted if trusted not in SMALL_TALK_INTENTS else sure)
        # Off the path: asked as a question, or nothing (or only a vague need) was understood.
        off_path = trusted in OFF_PATH_INTENTS and (question or understood is None or vague)
        if off_path and _said_again(tracker):
            # The same words again after the bot answered them off the path: the visitor means
            # them as the answer, and answering them off the path again would never end.
            off_path = False

        # Asking for a person always wins over a need, which reads into any words ("talk to sales").
        wants_human = off_path or slot == "need" or not isinstance(understood, dict)
        if trusted == "request_human" and wants_human:
            return {slot: None, "handoff_requested": True}
        if _declines(trusted, slot, understood, said):
            return {slot: answers.declined(said)}
        if isinstance(understood, dict) and not off_path:
            return {slot: understood}
        if isinstance(understood, Declined) and not off_path:
            return {slot: answers.declined(said)}
        off_path_response = _off_path_response(trusted, slot, domain)
        if off_path_response is None and question and (understood is None or vague):
            # A question the model did not place is still a question, never a failed answer.
            off_path_response = _off_path_response("out_of_scope", slot, domain)
        # Other topics are answered; unasked, they are a failed answer ("banana" for a budget).
        if off_path_response and (trusted != "out_of_scope" or question or vague):
            dispatcher.utter_message(response=off_path_response)
            return {slot: None}
        return self._not_understood(slot, said, dispatcher, tracker, trusted)

    @staticmethod
    def _not_understood(
        slot: str, said: str, dispatcher: CollectingDispatcher, tracker: Tracker, intent: str | None
    ) -> dict[str, Any]:
        reasked = list(tracker.get_slot("reasked_slots") or [])
        if slot in reasked:
            dispatcher.utter_message(response="utter_moving_on")
            return {slot: answers.skipped(said)}
        if intent == "out_of_scope":
            dispatcher.utter_message(response="utter_out_of_scope")
        dispatcher.utter_message(response=f"utter_not_understood_{slot}")
        return {slot: None, "reasked_slots": [*reasked, slot]}


def _unmarked(slot: str, tracker: Tracker) -> dict[str, Any]:
    """The latest message as a candidate for an empty question that is not being asked."""
    if tracker.get_slot(slot) is not None or tracker.get_slot("requested_slot") == slot:
        return {}
    message = str((tracker.latest_message or {}).get("text") or "")
    words = unmarked_answer(slot, message, tracker.slots, current_rules()) if message else None
    return {slot: words} if words else {}


def _part_of_requested_answer(said: str, tracker: Tracker, rules: Rules) -> bool:
    """True when the words belong to the name, email or company just asked for.

    "Dana Whitfield" answers the name question; the model may also read "Whitfield" as a
    company, which must not fill the company question.
    """
    requested = tracker.get_slot("requested_slot")
    if requested not in answers.CONTACT_SLOTS:
        return False
    answer = answers.understand(requested, tracker.latest_message.get("text") or "", rules)
    if not isinstance(answer, dict):
        return False
    identity = " ".join(str(answer.get(field) or "") for field in answers.CONTACT_SLOTS).lower()
    return said.strip().lower() in identity


def _is_real_answer(value: Any) -> bool:
    return answers.is_answered(value) and not (value.get("declined") or value.get("skipped"))


def _vague(slot: str, understood: Any, intent: str | None = None) -> bool:
    """True for an answer read into words that need not mean one: a need matching no offering
    ("tell me a joke", "nope"), or a name, company or consent read into a greeting or goodbye
    ("Good evening", "Bye")."""
    if not isinstance(understood, dict):
        return False
    if slot == "need":
        return understood.get("need_category") == OTHER_NEED
    return intent in SMALL_TALK_INTENTS and slot in ("person_name", "company", "consent")


def _declines(intent: str | None, slot: str, understood: Any, said: str) -> bool:
    """True when the model reads a refusal where no parser read a clear answer.

    A name or company parser takes almost any words ("skip that", "nah mate"), so a refusal wins
    there, unless the words are written as a name ("Bluehaven Assurance"); an amount, a date or
    a yes/no that was understood stays the answer.
    """
    if intent not in DECLINING_INTENTS or (is_question(said) and not is_decline(said)):
        return False  # "how do you cope with jet lag?" asks; "can I skip this?" declines
    return (
        understood is None
        or _vague(slot, understood)
        or (
            slot in ("person_name", "company")
            and isinstance(understood, dict)
            and (is_decline(said) or is_refusal(said) or not _written_as_name(said))
        )
    )


def _written_as_name(said: str) -> bool:
    """True when every word starts with a capital or a digit, as names are written."""
    tokens = [token for token in said.split() if token[:1].isalnum()]
    return bool(tokens) and all(token[0].isupper() or token[0].isdigit() for token in tokens)


def _said_again(tracker: Tracker) -> bool:
    """True when the latest message repeats the visitor's message before it, word for word."""
    said = [
        " ".join(str(event.get("text") or "").lower().split())
        for event in tracker.events
        if event.get("event") == "user"
    ]
    return len(said) >= 2 and bool(said[-1]) and said[-1] == said[-2]


def _off_path_response(intent: str | None, slot: str, domain: DomainDict) -> str | None:
    """The response that answers an off-path message, if the domain has one for its intent."""
    if intent is None:
        return None
    if intent == "ask_why":
        name = f"utter_why_{slot}"
    else:
        name = OFF_PATH_RESPONSES.get(intent, f"utter_answer_{intent}")
    return name if name in domain.get("responses", {}) else None
