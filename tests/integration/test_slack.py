"""Slack as a visitor channel, end to end: events signed as Slack signs them go to the real Rasa
server, which answers through a loopback stand-in for Slack's Web API."""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from bot import settings
from bot.channels import intake
from tests.support.bot import RunningBot, running_bot
from tests.support.slack_api import BOT_ID, BOT_USER_ID, SlackApi, SlackEvents, running_slack_api

pytestmark = pytest.mark.rasa

TOKEN = "xoxb-leadbot-test-token"
SIGNING_SECRET = "leadbot-test-signing-secret"


@pytest.fixture(scope="module")
def slack_api() -> Iterator[SlackApi]:
    with running_slack_api(TOKEN) as api:
        yield api


@pytest.fixture(scope="module")
def slack_bot(
    tmp_path_factory: pytest.TempPathFactory, slack_api: SlackApi
) -> Iterator[RunningBot]:
    """The real servers with the Slack channel configured to post to the stand-in."""
    try:
        with running_bot(
            tmp_path_factory.mktemp("slack-bot"),
            slack_token=TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=slack_api.url,
        ) as bot:
            yield bot
    except RuntimeError as error:
        pytest.fail(str(error))


@pytest.fixture
def slack(slack_bot: RunningBot, slack_api: SlackApi) -> Iterator[SlackEvents]:
    slack_api.heal()
    yield SlackEvents(f"{slack_bot.rasa_url}/webhooks/slack/webhook", SIGNING_SECRET)
    slack_api.heal()


def a_visitor() -> tuple[str, str]:
    """A new Slack user and the id of their direct message channel with the app."""
    suffix = uuid.uuid4().hex[:10].upper()
    return f"U{suffix}", f"D{suffix}"


def user_texts(tracker: dict[str, Any]) -> list[str]:
    return [event["text"] for event in tracker["events"] if event["event"] == "user"]


def bot_texts(tracker: dict[str, Any]) -> list[str]:
    return [event["text"] for event in tracker["events"] if event["event"] == "bot"]


def wait_for_turns(
    bot: RunningBot, sender_id: str, turns: int, timeout: float = 60
) -> dict[str, Any]:
    """The tracker once `turns` visitor messages were handled and the bot listens again."""
    deadline = time.monotonic() + timeout
    tracker = bot.tracker(sender_id)
    while time.monotonic() < deadline:
        tracker = bot.tracker(sender_id)
        if (
            len(user_texts(tracker)) >= turns
            and tracker.get("latest_action_name") == "action_listen"
        ):
            return tracker
        time.sleep(0.1)
    raise AssertionError(f"{sender_id}: {user_texts(tracker)} after {timeout} s\n{bot.logs()}")


def say(slack: SlackEvents, payload: dict[str, Any]) -> None:
    answer = slack.deliver(payload)
    assert answer.status_code == 200, answer.text


def test_slack_checks_the_request_url_with_a_challenge(slack: SlackEvents) -> None:
    challenge = {
        "token": "x",
        "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
        "type": "url_verification",
    }

    answer = slack.deliver(challenge)

    assert answer.status_code == 200
    assert answer.json() == {"challenge": challenge["challenge"]}
    assert slack.deliver(challenge, headers={"X-Slack-Signature": None}).status_code == 401


def test_a_direct_message_is_answered_in_the_direct_message(
    slack: SlackEvents, slack_bot: RunningBot, slack_api: SlackApi
) -> None:
    user, channel = a_visitor()

    say(slack, slack.direct_message(user, "hello", channel))

    tracker = wait_for_turns(slack_bot, f"slack_{user}", 1)
    posts = slack_api.wait_for_posts(channel, len(bot_texts(tracker)))
    assert_posts_are_the_replies(posts, tracker)
    assert all("thread_ts" not in post for post in posts)
    assert all(call.authorization == f"Bearer {TOKEN}" for call in slack_api.attempts(channel))
    assert user_texts(tracker) == ["hello"]
    assert tracker["latest_input_channel"] == "slack"


def test_a_message_in_a_thread_is_answered_in_that_thread(
    slack: SlackEvents, slack_bot: RunningBot, slack_api: SlackApi
) -> None:
    user, channel = a_visitor()
    thread = "1700000000.000100"

    say(slack, slack.direct_message(user, "hi there", channel, thread_ts=thread))

    tracker = wait_for_turns(slack_bot, f"slack_{user}", 1)
    posts = slack_api.wait_for_posts(channel, len(bot_texts(tracker)))
    assert posts and all(post["thread_ts"] == thread for post in posts)


def test_a_mention_in_a_channel_is_answered_in_a_thread_under_it(
    slack: SlackEvents, slack_bot: RunningBot, slack_api: SlackApi
) -> None:
    user, _ = a_visitor()
    channel = f"C{uuid.uuid4().hex[:10].upper()}"
    mention = slack.mention(user, "hello, what do you sell?", channel)

    say(slack, mention)

    sender = f"slack_{user}_{channel}"
    tracker = wait_for_turns(slack_bot, sender, 1)
    posts = slack_api.wait_for_posts(channel, len(bot_texts(tracker)))
    assert posts and all(post["thread_ts"] == mention["event"]["ts"] for post in posts)
    # The app's mention is not part of what the visitor said.
    assert user_texts(tracker) == ["hello, what do you sell?"]


def _bad_signatures(slack: SlackEvents, body: bytes) -> list[dict[str, Any]]:
    now = int(time.time())
    stale = now - 6 * 60
    return [
        {"headers": {"X-Slack-Signature": "v0=" + "0" * 64}},
        {"headers": {"X-Slack-Signature": slack.sign(b"{}", now)}},  # another body's
        {"headers": {"X-Slack-Signature": None}},
        {"headers": {"X-Slack-Request-Timestamp": None}},
        {"headers": {"X-Slack-Signature": None, "X-Slack-Request-Timestamp": None}},
        {"headers": {"X-Slack-Request-Timestamp": "yesterday"}},
        {"timestamp": stale},  # correctly signed, six minutes ago
        {"timestamp": now + 6 * 60},
    ]


def test_requests_not_signed_by_slack_are_refused_and_not_read(
    slack: SlackEvents, slack_bot: RunningBot, slack_api: SlackApi
) -> None:
    user, channel = a_visitor()
    forged = slack.direct_message(user, "I am not Slack", channel)
    forged_challenge = {"type": "url_verification", "challenge": "forged"}

    for options in _bad_signatures(slack, b""):
        assert slack.deliver(forged, **options).status_code in (401, 403), options
        assert slack.deliver(forged_challenge, **options).status_code in (401, 403), options

    # A signed message after them: turns run in order, so the forged one would come first.
    say(slack, slack.direct_message(user, "hello", channel))
    tracker = wait_for_turns(slack_bot, f"slack_{user}", 1)
    assert user_texts(tracker) == ["hello"]


def test_six_deliveries_of_one_event_are_answered_once(
    slack: SlackEvents, slack_bot: RunningBot, slack_api: SlackApi
) -> None:
    user, channel = a_visitor()
    sender = f"slack_{user}"
    event = slack.direct_message(user, "hello", channel)

    first = slack.deliver(event)
    # Slack's retries come while the first is handled: at once on a timeout, and later.
    redeliveries: list[dict[str, Any]] = [
        {"retry": (1, "http_timeout")},
        {"retry": (2, "http_error")},
        {"retry": (3, "connection_failed")},
        {},  # the same event id again, without retry headers
        {"retry": (1, "unknown_error")},
    ]
    answers: list[requests.Response] = []
    threads = [
        threading.Thread(target=lambda o=options: answers.append(slack.deliver(event, **o)))
        for options in redeliveries
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert first.status_code == 200
    assert [answer.status_code for answer in answers] == [200] * 5
    say(slack, slack.direct_message(user, "we need a better way to track deals", channel))
    tracker = wait_for_turns(slack_bot, sender, 2)
    assert user_texts(tracker) == ["hello", "we need a better way to track deals"]
    posts = slack_api.wait_for_posts(channel, len(bot_texts(tracker)))
    time.sleep(1)
    assert [post["text"] for post in slack_api.posts(channel)] == bot_texts(tracker)
    assert len(posts) == len(bot_texts(tracker))


def test_messages_sent_before_the_answer_are_handled_in_order(
    slack: SlackEvents, slack_bot: RunningBot, slack_api: SlackApi
) -> None:
    user, channel = a_visitor()
    texts = ["hello", "we need a better way to track deals", "about 20k a year", "next quarter"]

    for text in texts:
        say(slack, slack.direct_message(user, text, channel))

    tracker = wait_for_turns(slack_bot, f"slack_{user}", len(texts))
    assert user_texts(tracker) == texts
    assert tracker["slots"]["budget"] and tracker["slots"]["timeline"]
    posts = slack_api.wait_for_posts(channel, len(bot_texts(tracker)))
    assert_posts_are_the_replies(posts, tracker)


def test_the_apps_own_messages_edits_and_deletions_are_ignored(
    slack: SlackEvents, slack_bot: RunningBot, slack_api: SlackApi
) -> None:
    user, channel = a_visitor()
    ignored = [
        slack.direct_message(BOT_USER_ID, "Hi! I'm the bot", channel, bot_id=BOT_ID),
        slack.direct_message(BOT_USER_ID, "Hi! I'm the bot", channel),
        slack.direct_message(
            "", "Hi! I'm the bot", channel, subtype="bot_message", bot_id=BOT_ID, username="Ava"
        ),
        slack.direct_message(
            user,
            "",
            channel,
            subtype="message_changed",
            message={"type": "message", "user": user, "text": "hello again", "ts": "1.1"},
        ),
        slack.direct_message(user, "", channel, subtype="message_deleted", deleted_ts="1.1"),
    ]
    for payload in ignored:
        say(slack, payload)

    say(slack, slack.direct_message(user, "hello", channel))
    tracker = wait_for_turns(slack_bot, f"slack_{user}", 1)
    assert user_texts(tracker) == ["hello"]
    assert user_texts(slack_bot.tracker(f"slack_{BOT_USER_ID}")) == []


def test_a_reply_slack_refuses_costs_the_visitor_nothing(
    slack: SlackEvents, slack_bot: RunningBot, slack_api: SlackApi
) -> None:
    user, channel = a_visitor()
    sender = f"slack_{user}"
    slack_api.fail(times=1000, status=500)

    say(slack, slack.direct_message(user, "hello", channel))

    tracker = wait_for_turns(slack_bot, sender, 1)
    assert user_texts(tracker) == ["hello"] and bot_texts(tracker)
    replies = len(bot_texts(tracker))
    # Each reply is tried 4 times (0.5, 1 and 2 s apart), then given up.
    deadline = time.monotonic() + 30
    while len(slack_api.attempts(channel)) < 4 * replies and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1)
    assert len(slack_api.attempts(channel)) == 4 * replies
    assert slack_api.posts(channel) == []

    slack_api.heal()
    say(slack, slack.direct_message(user, "we need a better way to track deals", channel))

    tracker = wait_for_turns(slack_bot, sender, 2)
    assert user_texts(tracker) == ["hello", "we need a better way to track deals"]
    assert tracker["slots"]["need"], "the second message did not continue the conversation"
    later = bot_texts(tracker)[replies:]
    posts = slack_api.wait_for_posts(channel, len(later))
    assert [post["text"] for post in posts] == later
    log = (slack_bot.workdir / "rasa.log").read_text(errors="replace")
    failures = [line for line in log.splitlines() if "slack.reply" in line and sender in line]
    assert any("slack.reply.dropped" in line and "error=http_500" in line for line in failures)
    assert not any(text[:20] in line for line in failures for text in bot_texts(tracker))


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param({"status": 429, "retry_after": 2}, id="rate-limited"),
        pytest.param({"status": 200, "error": "service_unavailable"}, id="ok-false"),
        pytest.param({"status": 503}, id="http-503"),
    ],
)
def test_a_reply_that_fails_once_is_posted_on_a_later_try(
    slack: SlackEvents, slack_bot: RunningBot, slack_api: SlackApi, failure: dict[str, Any]
) -> None:
    user, channel = a_visitor()
    slack_api.fail(times=1, **failure)

    say(slack, slack.direct_message(user, "hello", channel))

    tracker = wait_for_turns(slack_bot, f"slack_{user}", 1)
    posts = slack_api.wait_for_posts(channel, len(bot_texts(tracker)))
    assert_posts_are_the_replies(posts, tracker)
    attempts = slack_api.attempts(channel)
    assert len(attempts) == len(posts) + 1
    if failure.get("retry_after"):
        assert attempts[1].at - attempts[0].at >= failure["retry_after"] - 0.05


def test_a_message_over_the_limit_is_refused_before_understanding(
    slack: SlackEvents, slack_bot: RunningBot, slack_api: SlackApi
) -> None:
    user, channel = a_visitor()

    say(slack, slack.direct_message(user, "budget " * 300, channel))

    (refusal,) = slack_api.wait_for_posts(channel, 1)
    assert refusal["text"] == intake.too_long_reply(2000)
    say(slack, slack.direct_message(user, "hello", channel))
    tracker = wait_for_turns(slack_bot, f"slack_{user}", 1)
    assert user_texts(tracker) == ["hello"]


def test_typed_intent_syntax_is_read_as_words(
    slack: SlackEvents, slack_bot: RunningBot, slack_api: SlackApi
) -> None:
    user, channel = a_visitor()

    say(slack, slack.direct_message(user, '/request_human{"email": "x@evil.test"}', channel))

    tracker = wait_for_turns(slack_bot, f"slack_{user}", 1)
    (message,) = [event for event in tracker["events"] if event["event"] == "user"]
    assert message["text"] == "request_human"
    # Understood by the NLU pipeline (a ranking of intents), not taken as given (one intent).
    assert len(message["parse_data"]["intent_ranking"]) > 1


def test_a_rep_reply_through_the_http_api_reaches_the_visitor(
    slack: SlackEvents, slack_bot: RunningBot, slack_api: SlackApi
) -> None:
    user, channel = a_visitor()
    say(slack, slack.direct_message(user, "hello", channel))
    wait_for_turns(slack_bot, f"slack_{user}", 1)

    answer = requests.post(
        f"{slack_bot.rasa_url}/conversations/slack_{user}/execute",
        params={"token": slack_bot.token, "output_channel": "latest"},
        json={"name": "utter_answer_ask_bot"},
        timeout=30,
    )

    assert answer.status_code == 200, answer.text
    # Posting to a user id writes in the app's direct messages with them.
    (post,) = slack_api.wait_for_posts(user, 1)
    assert "bot" in post["text"]


def test_a_whole_qualifying_conversation_over_slack_writes_a_slack_lead(
    slack: SlackEvents, slack_bot: RunningBot, slack_api: SlackApi
) -> None:
    user, channel = a_visitor()
    sender = f"slack_{user}"
    conversation = [
        "I'm Dana, VP Sales at Acme, we have about 50k this year",
        "we need a better way to track deals",
        "next month",
        "yes",
        # Slack sends an email the visitor typed as a mailto link.
        "<mailto:dana@acme.com|dana@acme.com>",
    ]
    for turn, text in enumerate(conversation, start=1):
        say(slack, slack.direct_message(user, text, channel))
        tracker = wait_for_turns(slack_bot, sender, turn)

    posts = slack_api.wait_for_posts(channel, len(bot_texts(tracker)))
    assert_posts_are_the_replies(posts, tracker)
    assert user_texts(tracker)[-1] == "dana@acme.com"
    lead = slack_bot.lead(sender)
    assert lead is not None, slack_bot.logs()
    assert lead["conversations"] == [{"sender_id": sender, "channel": "slack"}]
    assert lead["email"] == "dana@acme.com"
    assert lead["need_category"] == "crm"
    assert lead["temperature"] == "hot"


def test_the_app_manifest_subscribes_to_what_the_channel_answers() -> None:
    path = settings.PROJECT_ROOT / "deploy" / "slack-app-manifest.yml"
    manifest = yaml.safe_load(path.read_text(encoding="utf-8"))

    events = manifest["settings"]["event_subscriptions"]
    assert events["request_url"] == "https://YOUR-HOST/webhooks/slack/webhook"
    assert set(events["bot_events"]) == {"message.im", "app_mention"}
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"chat:write", "im:history", "app_mentions:read"} <= scopes
    # Without the Messages tab, nobody can write to the app directly.
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True
    assert manifest["features"]["app_home"]["messages_tab_read_only_enabled"] is False


def test_with_two_workers_and_redis_an_event_delivered_six_times_is_answered_once(
    tmp_path: Path, slack_api: SlackApi
) -> None:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    from benchmarks.load import redis_server

    with (
        redis_server(tmp_path / "redis") as redis_url,
        running_bot(
            tmp_path / "bot",
            slack_token=TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=slack_api.url,
            rasa_workers=2,
            redis_url=redis_url,
        ) as bot,
    ):
        _wait_for_workers(bot, 2)
        slack = SlackEvents(f"{bot.rasa_url}/webhooks/slack/webhook", SIGNING_SECRET)
        visitors = [a_visitor() for _ in range(4)]
        # Each event six times at once, without retry headers: only the memory of seen events
        # that both workers share keeps the worker that did not take it from answering it.
        with ThreadPoolExecutor(max_workers=6) as pool:
            for user, channel in visitors:
                event = slack.direct_message(user, "hello", channel)
                answers = list(pool.map(lambda _, e=event: slack.deliver(e), range(6)))
                assert [answer.status_code for answer in answers] == [200] * 6

        for user, channel in visitors:
            say(slack, slack.direct_message(user, "we need a better way to track deals", channel))
        for user, channel in visitors:
            tracker = wait_for_turns(bot, f"slack_{user}", 2)
            assert user_texts(tracker) == ["hello", "we need a better way to track deals"]
            slack_api.wait_for_posts(channel, len(bot_texts(tracker)))
        time.sleep(1)
        for user, channel in visitors:
            tracker = bot.tracker(f"slack_{user}")
            assert [post["text"] for post in slack_api.posts(channel)] == bot_texts(tracker)


def _wait_for_workers(bot: RunningBot, workers: int, timeout: float = 300) -> None:
    """Waits until every Rasa worker has loaded the model (the launcher waits for the first)."""
    deadline = time.monotonic() + timeout
    log = bot.workdir / "rasa.log"
    while time.monotonic() < deadline:
        if log.read_text(errors="replace").count("Rasa server is up and running") >= workers:
            return
        time.sleep(0.5)
    raise AssertionError(f"{workers} Rasa workers did not start\n{bot.logs()}")


def assert_posts_are_the_replies(posts: list[dict[str, Any]], tracker: dict[str, Any]) -> None:
    """Each post is one of the bot's replies, in order; offered buttons are listed under it."""
    texts = bot_texts(tracker)
    assert len(posts) == len(texts)
    assert all(post["text"].startswith(text) for post, text in zip(posts, texts, strict=True))
