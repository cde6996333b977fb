"""The scenario player's rules without a running bot: comparison, loading and turn-taking."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support import scenario_player
from tests.support.scenario_player import (
    CONTRACT_SLOTS,
    DECLINE_ANSWER,
    Persona,
    compare_field,
    compare_lead,
    load_personas,
    play,
)

PERSONAS_DIR = Path(__file__).resolve().parents[1] / "personas"
FORM_ORDER = (
    "need",
    "budget",
    "timeline",
    "authority",
    "consent",
    "person_name",
    "email",
    "company",
)
LEAD_FIELDS = frozenset(
    {
        "need",
        "need_category",
        "budget_min",
        "budget_max",
        "budget_currency",
        "budget_period",
        "budget_annual",
        "timeline_months",
        "authority",
        "job_title",
        "person_name",
        "email",
        "email_is_business",
        "company",
        "consent",
        "consent_at",
        "score",
        "temperature",
        "stage",
        "handoff",
    }
)


@pytest.mark.parametrize(
    "name, expected, stored, failure",
    [
        ("budget_min", 50000, 50000, None),
        ("budget_min", 50000, 50000.0, None),
        ("budget_min", 50000, "50000.00", None),
        ("budget_min", 50000, 5000, "budget_min: expected 50000, got 5000"),
        ("budget_max", 15000, 15000.5, "budget_max: expected 15000, got 15000.5"),
        ("budget_annual", 25920, 24000 * 1.08, None),
        ("budget_annual", 25920, None, "budget_annual: expected 25920, got null"),
        ("budget_min", None, None, None),
        ("budget_min", None, 0, "budget_min: expected null, got 0"),
        ("timeline_months", 2, 2.35, None),
        ("timeline_months", 2, 1.65, None),
        ("timeline_months", 2, 2.4, "timeline_months: expected 2, got 2.4"),
        ("timeline_months", 0, 0.35, None),
        ("timeline_months", 0, 0.4, "timeline_months: expected 0, got 0.4"),
        ("timeline_months", 1.4, 1.38, None),
        ("timeline_months", 12, 13.8, None),
        ("timeline_months", 12, 10.2, None),
        ("timeline_months", 12, 13.9, "timeline_months: expected 12, got 13.9"),
        ("timeline_months", 24, 27.5, None),
        ("timeline_months", None, 1, "timeline_months: expected null, got 1"),
        ("timeline_months", 3, None, "timeline_months: expected 3, got null"),
        ("handoff", "pending", "pending", None),
        ("handoff", "pending", {"status": "pending", "id": 7}, None),
        ("handoff", None, None, None),
        ("handoff", None, "pending", 'handoff: expected null, got "pending"'),
        ("handoff", "pending", None, 'handoff: expected "pending", got null'),
        ("handoff", "pending", {"status": "claimed"}, 'handoff: expected "pending", got "claimed"'),
        ("need_category", "crm", "crm", None),
        ("need_category", "crm", "analytics", 'need_category: expected "crm", got "analytics"'),
        (
            "email",
            "jo.baker@gmail.com",
            "Jo.Baker@Gmail.com",
            'email: expected "jo.baker@gmail.com", got "Jo.Baker@Gmail.com"',
        ),
        ("consent", True, True, None),
        ("consent", False, None, "consent: expected false, got null"),
        ("consent", True, 1, "consent: expected true, got 1"),
        ("score", 100, 100.0, None),
        ("score", 60, 70, "score: expected 60, got 70"),
        ("temperature", "hot", "warm", 'temperature: expected "hot", got "warm"'),
    ],
)
def test_a_field_matches_by_the_rules_of_play(
    name: str, expected: Any, stored: Any, failure: str | None
) -> None:
    assert compare_field(name, expected, {name: stored}) == failure


def test_a_field_the_lead_lacks_fails_even_when_null_is_expected() -> None:
    assert compare_field("handoff", None, {"score": 10}) == (
        "handoff: expected null, but the lead has no such field"
    )


@pytest.mark.parametrize(
    "expect, lead, failures",
    [
        ({"score": 100, "stage": "lead"}, {"score": 100, "stage": "lead"}, []),
        (
            {"score": 100, "stage": "lead"},
            {"score": 90, "stage": "lead"},
            ["score: expected 100, got 90"],
        ),
        (
            {"score": 100, "handoff": None},
            None,
            [
                "score: expected 100, but there is no lead",
                "handoff: expected null, but there is no lead",
            ],
        ),
        ({}, None, []),
    ],
)
def test_a_lead_is_compared_field_by_field(
    expect: dict[str, Any], lead: dict[str, Any] | None, failures: list[str]
) -> None:
    assert compare_lead(expect, lead) == failures


@pytest.mark.parametrize(
    "slot, expected",
    [
        ("budget", "about 5k"),
        ("timeline", DECLINE_ANSWER),
        ("company", DECLINE_ANSWER),
        ("confirm_handoff", "yes"),
    ],
)
def test_a_persona_declines_contract_slots_it_has_no_answer_for(slot: str, expected: str) -> None:
    persona = Persona(id="p", opening="hi", answers={"budget": "about 5k"}, expect={})
    assert persona.answer_for(slot) == expected


def test_personas_load_from_a_file_and_unquoted_yes_stays_text(tmp_path: Path) -> None:
    persona_file = tmp_path / "few.yml"
    persona_file.write_text(
        "- id: one\n"
        "  opening: hi\n"
        "  answers: {consent: yes, budget: 5000}\n"
        "  given_in_opening: [need]\n"
        "  interrupt: {at: budget, say: 'who are you?'}\n"
        "  expect: {consent: true, handoff: null}\n",
        encoding="utf-8",
    )
    [persona] = load_personas(persona_file)
    assert persona == Persona(
        id="one",
        opening="hi",
        answers={"consent": "yes", "budget": "5000"},
        expect={"consent": True, "handoff": None},
        given_in_opening=("need",),
        interrupt={"at": "budget", "say": "who are you?"},
    )


@pytest.mark.parametrize(
    "said, expected",
    [
        (
            "- {id: a, opening: hi, expect: {}}\n- {id: a, opening: yo, expect: {}}\n",
            "more than once",
        ),
        ("- {id: a, opening: hi, expect: {}, mood: grumpy}\n", "unknown keys"),
        ("- {id: a, expect: {}}\n", "needs an opening"),
        ("- {id: a, opening: hi, expect: {}, interrupt: {at: budget}}\n", "interrupt needs"),
        ("{id: a, opening: hi, expect: {}}\n", "expected a list"),
    ],
)
def test_malformed_personas_are_refused(tmp_path: Path, said: str, expected: str) -> None:
    persona_file = tmp_path / "bad.yml"
    persona_file.write_text(said, encoding="utf-8")
    with pytest.raises(ValueError, match=expected):
        load_personas(persona_file)


def test_our_personas_only_expect_what_the_contract_defines() -> None:
    personas = load_personas(PERSONAS_DIR)
    assert len(personas) >= 24
    for persona in personas:
        assert set(persona.expect) <= LEAD_FIELDS, persona.id
        assert set(persona.answers) <= CONTRACT_SLOTS, persona.id
        assert set(persona.given_in_opening) <= CONTRACT_SLOTS, persona.id
        assert persona.interrupt is None or persona.interrupt["at"] in CONTRACT_SLOTS, persona.id


@dataclass
class FakeBot:
    """A scripted stand-in for Rasa: a form asking FORM_ORDER, answering the questions it knows."""

    filled_by_opening: tuple[str, ...] = ()
    off_path: Mapping[str, str] = field(default_factory=dict)
    human_requests: tuple[str, ...] = ()
    stuck: bool = False
    heard: list[str] = field(default_factory=list)
    tokens: list[str | None] = field(default_factory=list)
    _open_slots: list[str] = field(default_factory=list)

    def post(self, url: str, json: dict[str, str], timeout: float) -> FakeResponse:
        assert url == "http://bot:5005/webhooks/rest/webhook" and timeout == 30
        text = json["message"]
        opening = not self.heard
        self.heard.append(text)
        if opening:
            self._open_slots = [s for s in FORM_ORDER if s not in self.filled_by_opening]
        elif text in self.human_requests:
            self._open_slots = []
            return FakeResponse([{"text": "Someone from sales will reach out."}])
        elif text in self.off_path:
            return FakeResponse([{"text": self.off_path[text]}])
        elif not self.stuck:
            self._open_slots.pop(0)
        return FakeResponse([{"text": "next question"}])

    def get(self, url: str, params: dict[str, str], timeout: float) -> FakeResponse:
        assert url.startswith("http://bot:5005/conversations/") and timeout == 30
        self.tokens.append(params.get("token"))
        slot = self._open_slots[0] if self._open_slots else None
        loop = {"name": "qualification_form"} if slot else {}
        return FakeResponse({"slots": {"requested_slot": slot}, "active_loop": loop})


@dataclass
class FakeResponse:
    body: Any

    def raise_for_status(self) -> None:
        """A scripted reply never fails."""

    def json(self) -> Any:
        return self.body


def play_against(bot: FakeBot, persona: Persona, **options: Any) -> scenario_player.Outcome:
    """Play `persona` against the fake bot, with a lead that always matches nothing expected."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(requests, "post", bot.post)
        patch.setattr(requests, "get", bot.get)
        return play(persona, "http://bot:5005/", "s3cret", lambda sender: {"score": 80}, **options)


ANSWERS = {"need": "a CRM", "budget": "5-10k", "timeline": "next month", "consent": "yes"}


def test_every_requested_slot_is_answered_or_declined_in_order() -> None:
    bot = FakeBot()
    outcome = play_against(
        bot, Persona(id="p", opening="hi", answers=ANSWERS, expect={"score": 80})
    )
    assert (
        bot.heard
        == ["hi", "a CRM", "5-10k", "next month", DECLINE_ANSWER, "yes"] + [DECLINE_ANSWER] * 3
    )
    assert (outcome.passed, outcome.turns, len(outcome.latencies)) == (True, 9, 9)
    assert (outcome.fields_checked, outcome.fields_correct, outcome.interruption_resumed) == (
        1,
        1,
        None,
    )
    assert set(bot.tokens) == {"s3cret"}


@pytest.mark.parametrize(
    "filled_by_opening, asked_again",
    [(("need", "budget"), []), (("need",), ["budget"]), ((), ["need", "budget"])],
)
def test_a_slot_given_in_the_opening_must_not_be_asked(
    filled_by_opening: tuple[str, ...], asked_again: list[str]
) -> None:
    persona = Persona(
        id="p",
        opening="a CRM for 5-10k",
        answers=ANSWERS,
        expect={},
        given_in_opening=("need", "budget"),
    )
    outcome = play_against(FakeBot(filled_by_opening=filled_by_opening), persona)
    assert outcome.asked_again == asked_again
    assert outcome.passed is not asked_again


@pytest.mark.parametrize(
    "off_path, resumed",
    [({"who are you?": "I'm the sales assistant."}, True), ({}, False)],
)
def test_an_interruption_must_be_answered_and_the_question_asked_again(
    off_path: dict[str, str], resumed: bool
) -> None:
    bot = FakeBot(off_path=off_path)
    persona = Persona(
        id="p",
        opening="hi",
        answers=ANSWERS,
        expect={},
        interrupt={"at": "budget", "say": "who are you?"},
    )
    outcome = play_against(bot, persona)
    assert bot.heard[:4] == ["hi", "a CRM", "who are you?", "5-10k" if resumed else "next month"]
    assert (outcome.interruption_resumed, outcome.passed) == (resumed, resumed)


def test_a_visitor_asking_for_a_human_stops_right_after_asking() -> None:
    bot = FakeBot(human_requests=("a human please",))
    persona = Persona(
        id="p",
        opening="hi",
        answers=ANSWERS,
        expect={"score": 80},
        interrupt={"at": "timeline", "say": "a human please"},
        stop_after_interrupt=True,
    )
    outcome = play_against(bot, persona)
    assert bot.heard == ["hi", "a CRM", "5-10k", "a human please"]
    assert (outcome.turns, outcome.interruption_resumed, outcome.passed) == (4, True, True)


def test_an_interruption_never_reached_is_a_failure() -> None:
    persona = Persona(
        id="p", opening="hi", answers=ANSWERS, expect={}, interrupt={"at": "budget", "say": "why?"}
    )
    outcome = play_against(FakeBot(filled_by_opening=("budget",)), persona)
    assert outcome.failures == [
        "the bot never asked for budget, so the interruption was not played"
    ]
    assert outcome.interruption_resumed is False


def test_a_form_that_never_ends_stops_after_max_turns() -> None:
    outcome = play_against(
        FakeBot(stuck=True), Persona(id="p", opening="hi", answers=ANSWERS, expect={}), max_turns=5
    )
    assert (outcome.turns, outcome.failures) == (
        5,
        ["the form was still asking for need after 5 turns"],
    )
