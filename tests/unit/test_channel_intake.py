"""What the public channels do with a visitor's message before Rasa reads it (intake)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.channels import intake

YES_NO = [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]


def _bot(text: str, buttons: list[dict[str, Any]] | None = None, **data: Any) -> dict[str, Any]:
    return {
        "event": "bot",
        "text": text,
        "timestamp": 2.0,
        "data": {"buttons": buttons, **data},
    }


def _user(text: str) -> dict[str, Any]:
    return {"event": "user", "text": text, "timestamp": 1.0, "input_channel": "socketio"}


@pytest.mark.parametrize(
    "sent, offered, expected",
    [
        ("hello", set(), "hello"),
        ("/affirm", {"/affirm", "/deny"}, "/affirm"),
        ("  /affirm ", {"/affirm"}, "  /affirm "),
        ("/affirm", set(), "affirm"),
        ("/deny", {"/affirm"}, "deny"),
        ('/inform{"email": "someone@else.com"}', set(), "inform"),
        ('/inform{"email": "someone@else.com"}', {"/inform"}, "inform"),
        ('/affirm{"email": "x@y.com"}', {"/affirm"}, "affirm"),
        ("/affirm@0.99", set(), "affirm"),
        ("//  /request_human", set(), "request_human"),
        (' / inform{"company": "Evil"} thanks', set(), "inform thanks"),
        ("/ my email is dana@acme.com", set(), "my email is dana@acme.com"),
        ("/", set(), ""),
        ("a/b and /c", set(), "a/b and /c"),
    ],
)
def test_a_typed_message_is_text_unless_it_is_an_offered_button(
    sent: str, offered: set[str], expected: str
) -> None:
    assert intake.visitor_text(sent, offered) == expected


@pytest.mark.parametrize(
    "events, expected",
    [
        ([], set()),
        ([_bot("Shall we?", YES_NO)], {"/affirm", "/deny"}),
        ([_bot("Shall we?", YES_NO), _user("/affirm")], set()),
        ([_bot("Shall we?", YES_NO), _user("yes"), _bot("Great.")], set()),
        (
            [_bot("Shall we?", YES_NO), _bot("Or talk to a person?", [{"payload": "/x"}])],
            {"/affirm", "/deny", "/x"},
        ),
        ([_bot("Odd", [{"title": "no payload"}, "not a button", {"payload": " "}])], set()),
    ],
)
def test_only_the_latest_turns_buttons_are_offered(
    events: list[dict[str, Any]], expected: set[str]
) -> None:
    assert intake.offered_payloads(events) == expected


def test_the_history_is_the_latest_sessions_messages_as_the_page_showed_them() -> None:
    events = [
        _user("an earlier session"),
        {"event": "session_started", "timestamp": 1.5},
        {"event": "action", "name": "action_listen", "timestamp": 1.6},
        _user("hi"),
        _bot("Hello!\n\nShall we start?", YES_NO),
        _user("/affirm"),
        {"event": "slot", "name": "need", "value": "x", "timestamp": 3.0},
        _bot("", image="https://example.com/a.png"),
        _user("   "),
    ]
    assert intake.conversation_history(events) == [
        {"sender": "user", "text": "hi", "timestamp": 1.0},
        {"sender": "bot", "text": "Hello!", "timestamp": 2.0},
        {
            "sender": "bot",
            "text": "Shall we start?",
            "timestamp": 2.0,
            "quick_replies": [
                {"content_type": "text", "title": "Yes", "payload": "/affirm"},
                {"content_type": "text", "title": "No", "payload": "/deny"},
            ],
        },
        {"sender": "user", "text": "Yes", "timestamp": 1.0},
        {
            "sender": "bot",
            "text": "",
            "timestamp": 2.0,
            "attachment": {"type": "image", "payload": {"src": "https://example.com/a.png"}},
        },
    ]


def test_the_history_keeps_only_the_latest_messages() -> None:
    events = [_user(f"message {n}") for n in range(10)]
    history = intake.conversation_history(events, limit=3)
    assert [m["text"] for m in history] == ["message 7", "message 8", "message 9"]


@pytest.mark.parametrize(
    "configured, environment, expected",
    [
        (None, None, None),
        (None, "", None),
        (
            None,
            "http://localhost:8080, https://shop.example.com/ ,",
            ["http://localhost:8080", "https://shop.example.com"],
        ),
        (["https://a.example"], "http://ignored", ["https://a.example"]),
        ("https://a.example,https://b.example", None, ["https://a.example", "https://b.example"]),
        (None, "https://a.example,*", "*"),
    ],
)
def test_allowed_origins_come_from_the_credentials_else_the_environment(
    monkeypatch: pytest.MonkeyPatch, configured: Any, environment: str | None, expected: Any
) -> None:
    if environment is None:
        monkeypatch.delenv(intake.ALLOWED_ORIGINS_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(intake.ALLOWED_ORIGINS_VARIABLE, environment)
    assert intake.allowed_origins(configured) == expected


@pytest.mark.parametrize(
    "configured, environment, expected",
    [(None, None, 2000), (None, "500", 500), (120, "500", 120), ("80", None, 80)],
)
def test_the_message_limit_comes_from_the_credentials_else_the_environment(
    monkeypatch: pytest.MonkeyPatch, configured: Any, environment: str | None, expected: int
) -> None:
    if environment is None:
        monkeypatch.delenv(intake.MAX_MESSAGE_CHARS_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(intake.MAX_MESSAGE_CHARS_VARIABLE, environment)
    assert intake.max_message_chars(configured) == expected


@pytest.mark.parametrize("bad", [0, -5, "many"])
def test_a_message_limit_that_is_not_a_positive_number_is_refused(bad: Any) -> None:
    with pytest.raises(ValueError):
        intake.max_message_chars(bad)


def test_the_refusal_names_the_limit() -> None:
    assert "2000 characters" in intake.too_long_reply(2000)


@pytest.mark.parametrize(
    "said, expected",
    [("hello", "hello"), ("half an emoji \ud83d", "half an emoji \ufffd"), ("👍", "👍")],
)
def test_any_text_a_channel_accepts_can_be_stored(said: str, expected: str) -> None:
    stored = intake.storable(said)
    stored.encode("utf-8")  # raises on a lone surrogate
    assert stored.startswith(expected)


def _rep(text: str) -> dict[str, Any]:
    return {**_bot(text), "metadata": {"rep": "ann@example.com"}}


def test_a_reps_words_are_handed_over_once_with_the_next_answer() -> None:
    events = [
        _user("hi"),
        _bot("Hi! What do you need?"),
        _user("a human please"),
        _rep("Ann here, how can I help?"),
        _rep("We have a demo slot tomorrow."),
        _user("great"),
    ]
    assert intake.reps_words_before_this_message(events) == [
        "Ann here, how can I help?",
        "We have a demo slot tomorrow.",
    ]
    # After the next message they are behind the visitor's previous one: not handed over again.
    assert intake.reps_words_before_this_message([*events, _bot("..."), _user("and?")]) == []


def test_the_bots_own_words_are_not_a_reps() -> None:
    events = [_user("hi"), _bot("Hello!"), _rep(""), _user("hey")]
    assert intake.reps_words_before_this_message(events) == []
    assert intake.reps_words_before_this_message([_rep("too early"), _user("hi")]) == []


def test_a_reminders_trigger_is_not_something_the_visitor_said() -> None:
    nudge = {
        "event": "user",
        "text": "EXTERNAL: EXTERNAL_quiet_visitor",
        "timestamp": 3.0,
        "metadata": {"is_external": True},
    }
    events = [_user("hi"), _bot("What do you need?"), nudge, _bot("Still there?")]
    shown = intake.conversation_history(events)
    assert [m["text"] for m in shown] == ["hi", "What do you need?", "Still there?"]
    assert not intake.said_by_visitor(nudge) and intake.said_by_visitor(_user("hi"))
    # A rep's words around a nudge are still handed over with the visitor's next message.
    assert intake.reps_words_before_this_message([*events, _rep("Ann here"), _user("ok")]) == [
        "Ann here"
    ]
