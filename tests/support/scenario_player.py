"""Plays visitor personas against the running bot through its REST channel and checks the lead.

The rules of play are those of /work/shared/scenarios/README.md: send the opening, then answer
whatever slot the qualifying form requests until no form is active, then compare the stored lead
with what the persona expects.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import requests
import yaml

CONTRACT_SLOTS: Final = frozenset(
    {"need", "budget", "timeline", "authority", "person_name", "email", "company", "consent"}
)
DECLINE_ANSWER: Final = "I'd rather not say"
AGREE_ANSWER: Final = "yes"
HTTP_TIMEOUT_SECONDS: Final = 30

MONEY_FIELDS: Final = frozenset({"budget_min", "budget_max", "budget_annual"})
TIMELINE_FIELD: Final = "timeline_months"
HANDOFF_FIELD: Final = "handoff"
TIMELINE_TOLERANCE_MONTHS: Final = 0.35
TIMELINE_TOLERANCE_SHARE: Final = 0.15
# Budgets are exact; half a cent only absorbs floating-point noise such as 24000 * 1.08.
MONEY_TOLERANCE: Final = 0.005
# Keeps a value right on the timeline's edge (2 vs 2.35) inside despite floating-point noise.
FLOAT_NOISE: Final = 1e-9

_PERSONA_KEYS: Final = frozenset(
    {
        "id",
        "opening",
        "answers",
        "expect",
        "given_in_opening",
        "interrupt",
        "stop_after_interrupt",
    }
)
_INTERRUPT_KEYS: Final = frozenset({"at", "say"})
_MISSING: Final = object()


@dataclass(frozen=True)
class Persona:
    """A visitor: what they open with, how they answer each slot, and the lead they should leave."""

    id: str
    opening: str
    answers: Mapping[str, str]
    expect: Mapping[str, Any]
    given_in_opening: tuple[str, ...] = ()
    interrupt: Mapping[str, str] | None = None
    stop_after_interrupt: bool = False

    def answer_for(self, slot: str) -> str:
        """What this visitor says when the form requests `slot`.

        Args:
            slot: The requested slot.

        Returns:
            The persona's answer; otherwise a decline for a contract slot and "yes" for any other.
        """
        if slot in self.answers:
            return self.answers[slot]
        return DECLINE_ANSWER if slot in CONTRACT_SLOTS else AGREE_ANSWER


@dataclass
class Outcome:
    """What happened when one persona was played, and how its lead compared."""

    persona_id: str
    sender_id: str
    passed: bool
    failures: list[str]
    turns: int
    latencies: list[float]
    asked_again: list[str]
    interruption_resumed: bool | None
    fields_checked: int
    fields_correct: int


def load_personas(path: Path) -> list[Persona]:
    """Read personas from a YAML file holding a list, or from every YAML file of a folder.

    Args:
        path: A `.yml`/`.yaml` file, or a folder of them (read in name order).

    Returns:
        The personas in file order.

    Raises:
        ValueError: When a persona is malformed or two personas share an id.
    """
    files = (
        sorted(p for p in path.iterdir() if p.suffix in {".yml", ".yaml"})
        if path.is_dir()
        else [path]
    )
    personas: list[Persona] = []
    for persona_file in files:
        raw = yaml.safe_load(persona_file.read_text(encoding="utf-8")) or []
        if not isinstance(raw, list):
            raise ValueError(f"{persona_file}: expected a list of personas")
        personas.extend(_persona_from(entry, persona_file) for entry in raw)
    seen: set[str] = set()
    for persona in personas:
        if persona.id in seen:
            raise ValueError(f"persona id {persona.id!r} is used more than once")
        seen.add(persona.id)
    return personas


def compare_field(name: str, expected: Any, lead: Mapping[str, Any]) -> str | None:
    """Compare one expected lead field with the stored lead.

    Budgets match exactly, `timeline_months` within max(0.35, 15 %), `handoff` against the
    handoff's status (null meaning none), every other field by equality.

    Args:
        name: The lead field, e.g. "budget_min".
        expected: The persona's expectation (None expects null).
        lead: The lead as printed by `leadbot leads show --json`.

    Returns:
        None when the field matches, otherwise a sentence saying what differs.
    """
    actual = lead.get(name, _MISSING)
    if actual is _MISSING:
        return f"{name}: expected {_show(expected)}, but the lead has no such field"
    if name == HANDOFF_FIELD and isinstance(actual, Mapping):
        actual = actual.get("status")
    if _matches(name, expected, actual):
        return None
    return f"{name}: expected {_show(expected)}, got {_show(actual)}"


def compare_lead(expect: Mapping[str, Any], lead: Mapping[str, Any] | None) -> list[str]:
    """Compare every expectation with the stored lead.

    Args:
        expect: Field name to expected value.
        lead: The stored lead, or None when the conversation left no lead.

    Returns:
        One failure sentence per expectation that does not hold; a missing lead fails them all.
    """
    if lead is None:
        return [
            f"{name}: expected {_show(value)}, but there is no lead"
            for name, value in expect.items()
        ]
    return [
        failure
        for name, value in expect.items()
        if (failure := compare_field(name, value, lead)) is not None
    ]


def play(
    persona: Persona,
    rasa_url: str,
    token: str | None,
    read_lead: Callable[[str], dict[str, Any] | None],
    sender_id: str | None = None,
    max_turns: int = 25,
) -> Outcome:
    """Hold one conversation as `persona` with the running bot, then check the lead it left.

    Args:
        persona: The visitor to play.
        rasa_url: The Rasa server, e.g. "http://localhost:5005".
        token: Rasa's HTTP API token, or None when the API is unguarded.
        read_lead: Returns the lead linked to a sender id, or None when there is none.
        sender_id: The conversation id; a fresh one is made when None.
        max_turns: The most messages sent (opening and interruptions included).

    Returns:
        The outcome; `passed` is true only when the conversation and every field held.
    """
    chat = _RestConversation(rasa_url.rstrip("/"), token, sender_id or new_sender_id(persona))
    failures: list[str] = []
    asked_again: list[str] = []
    pending_interrupt = persona.interrupt
    resumed: bool | None = None if persona.interrupt is None else False
    try:
        chat.say(persona.opening)
        slot = chat.requested_slot()
        while slot is not None:
            if slot in persona.given_in_opening and slot not in asked_again:
                asked_again.append(slot)
                failures.append(f"{slot} was given in the opening but was asked for again")
            if chat.turns >= max_turns:
                failures.append(f"the form was still asking for {slot} after {max_turns} turns")
                break
            if pending_interrupt is not None and slot == pending_interrupt["at"]:
                resumed, slot, problems = _step_off_path(
                    chat, pending_interrupt["say"], slot, persona.stop_after_interrupt
                )
                failures.extend(problems)
                pending_interrupt = None
                continue
            chat.say(persona.answer_for(slot))
            slot = chat.requested_slot()
    except requests.RequestException as error:
        # The tracker URL carries the API token; a failure report must not.
        reason = str(error).replace(token, "***") if token else str(error)
        failures.append(f"the conversation broke off: {reason}")
    if pending_interrupt is not None:
        failures.append(
            f"the bot never asked for {pending_interrupt['at']}, so the interruption was not played"
        )

    field_failures = compare_lead(persona.expect, read_lead(chat.sender_id))
    failures.extend(field_failures)
    return Outcome(
        persona_id=persona.id,
        sender_id=chat.sender_id,
        passed=not failures,
        failures=failures,
        turns=chat.turns,
        latencies=chat.latencies,
        asked_again=asked_again,
        interruption_resumed=resumed,
        fields_checked=len(persona.expect),
        fields_correct=len(persona.expect) - len(field_failures),
    )


def new_sender_id(persona: Persona) -> str:
    """A conversation id no earlier run has used, readable in logs and lead listings."""
    return f"persona-{persona.id}-{uuid.uuid4().hex[:8]}"


@dataclass
class _RestConversation:
    """One visitor's conversation over Rasa's REST channel and HTTP API."""

    base_url: str
    token: str | None
    sender_id: str
    turns: int = 0
    latencies: list[float] = field(default_factory=list)

    def say(self, text: str) -> list[dict[str, Any]]:
        """Send one message and return the bot's replies."""
        started = time.perf_counter()
        response = requests.post(
            f"{self.base_url}/webhooks/rest/webhook",
            json={"sender": self.sender_id, "message": text},
            timeout=HTTP_TIMEOUT_SECONDS,
        )
        self.latencies.append(time.perf_counter() - started)
        self.turns += 1
        response.raise_for_status()
        replies: list[dict[str, Any]] = response.json() or []
        return replies

    def requested_slot(self) -> str | None:
        """The slot the active form is asking for, or None when no form is active."""
        params = {"include_events": "NONE"}
        if self.token is not None:
            params["token"] = self.token
        response = requests.get(
            f"{self.base_url}/conversations/{self.sender_id}/tracker",
            params=params,
            timeout=HTTP_TIMEOUT_SECONDS,
        )
        response.raise_for_status()
        tracker = response.json()
        if not (tracker.get("active_loop") or {}).get("name"):
            return None
        requested: str | None = (tracker.get("slots") or {}).get("requested_slot")
        return requested


def _step_off_path(
    chat: _RestConversation, said: str, slot: str, stop_after: bool
) -> tuple[bool, str | None, list[str]]:
    """Say something off the path while `slot` is requested, and check the bot copes.

    Returns:
        Whether the bot answered and (unless `stop_after`) asked for `slot` again; the slot
        requested now (None when the visitor stops here); and a sentence per problem.
    """
    problems: list[str] = []
    replied = bool(chat.say(said))
    if not replied:
        problems.append(f"the bot did not answer {said!r}")
    if stop_after:
        return replied, None, problems
    next_slot = chat.requested_slot()
    if next_slot != slot:
        instead = "ended the form" if next_slot is None else f"asked for {next_slot}"
        problems.append(f"after {said!r} the bot {instead} instead of asking for {slot} again")
    return replied and next_slot == slot, next_slot, problems


def _persona_from(raw: Any, source: Path) -> Persona:
    """Build one persona from its YAML mapping, naming the file and field when it is malformed."""
    if not isinstance(raw, Mapping) or "id" not in raw:
        raise ValueError(f"{source}: every persona is a mapping with an id")
    where = f"{source}, persona {raw['id']!r}"
    unknown = set(raw) - _PERSONA_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
    if "opening" not in raw or "expect" not in raw:
        raise ValueError(f"{where}: needs an opening and an expect")
    interrupt = raw.get("interrupt")
    if interrupt is not None and (
        not isinstance(interrupt, Mapping) or set(interrupt) != _INTERRUPT_KEYS
    ):
        raise ValueError(f"{where}: interrupt needs exactly `at` and `say`")
    return Persona(
        id=str(raw["id"]),
        opening=_as_text(raw["opening"], f"{where}, opening"),
        answers={
            str(slot): _as_text(said, f"{where}, answers.{slot}")
            for slot, said in (raw.get("answers") or {}).items()
        },
        expect=dict(raw["expect"] or {}),
        given_in_opening=tuple(str(slot) for slot in raw.get("given_in_opening") or ()),
        interrupt=(
            None
            if interrupt is None
            else {
                key: _as_text(value, f"{where}, interrupt.{key}")
                for key, value in interrupt.items()
            }
        ),
        stop_after_interrupt=bool(raw.get("stop_after_interrupt", False)),
    )


def _as_text(value: Any, where: str) -> str:
    """What the visitor types; YAML turns an unquoted yes/no into a bool, so turn it back."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise ValueError(f"{where}: expected text, got {value!r}")


def _matches(name: str, expected: Any, actual: Any) -> bool:
    """Whether one stored value satisfies one expectation, by the rules of compare_field."""
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected == actual
    if isinstance(expected, (int, float)):
        number = _as_number(actual)
        if number is None:
            return False
        if name in MONEY_FIELDS:
            return abs(number - expected) < MONEY_TOLERANCE
        if name == TIMELINE_FIELD:
            allowed = max(TIMELINE_TOLERANCE_MONTHS, TIMELINE_TOLERANCE_SHARE * abs(expected))
            return abs(number - expected) <= allowed + FLOAT_NOISE
        return number == expected
    return bool(expected == actual)


def _as_number(value: Any) -> float | None:
    """A stored number; JSON may carry a decimal amount as a string such as "50000.00"."""
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _show(value: Any) -> str:
    """A value as it reads in a failure sentence: 50000, 1.4, "crm", null, true."""
    if isinstance(value, float):
        rounded = round(value, 4)
        return str(int(rounded)) if rounded.is_integer() else str(rounded)
    return json.dumps(value, default=str, ensure_ascii=False)
