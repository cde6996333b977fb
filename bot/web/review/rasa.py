"""The Rasa server's HTTP API, as the review app uses it to let a rep take over a chat.

While a rep holds a chat the conversation is *paused* (Rasa's own ``pause`` event): the
visitor's messages are still received and kept in the tracker, but the bot predicts and says
nothing. A rep's message is appended as a ``bot`` event with ``execute_side_effects`` and
``output_channel=latest``, so Rasa sends it through the channel the visitor last wrote on
(the socket.io widget or Slack; our REST channel hands it over with the answer to the
visitor's next message, since a REST caller only hears answers to its own requests).
Handing back appends ``resume``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Final
from urllib.parse import quote

import requests

from bot.channels.intake import said_by_visitor

TIMEOUT_S: Final = 10.0


class RasaUnavailable(RuntimeError):
    """The Rasa server did not take the request; the message says why, without the token."""


@dataclass(frozen=True)
class ChatLine:
    """One message of a live chat, as the lead page shows it."""

    speaker: str  # "visitor", "bot" or "rep"
    text: str
    at: datetime
    rep: str | None = None


@dataclass(frozen=True)
class RasaApi:
    """The Rasa HTTP API at ``base_url``, guarded by ``token``."""

    base_url: str
    token: str

    def pause(self, sender_id: str) -> None:
        """Keep the bot quiet in this conversation until `resume`."""
        self._append(sender_id, [{"event": "pause"}], side_effects=False)

    def resume(self, sender_id: str) -> None:
        """Let the bot answer this conversation again."""
        self._append(sender_id, [{"event": "resume"}], side_effects=False)

    def say(self, sender_id: str, text: str, rep: str) -> None:
        """Send the rep's words to the visitor, on the channel they last wrote on."""
        event = {"event": "bot", "text": text, "data": {}, "metadata": {"rep": rep}}
        self._append(sender_id, [event], side_effects=True)

    def chat(self, sender_id: str) -> tuple[list[ChatLine], bool]:
        """Every message of the conversation so far, and whether the bot is paused in it."""
        response = self._request("GET", sender_id, "tracker", params={"include_events": "ALL"})
        tracker = response.json()
        lines = []
        for event in tracker.get("events") or []:
            kind, text = event.get("event"), event.get("text")
            if not text or not (kind == "bot" or said_by_visitor(event)):
                continue
            rep = (event.get("metadata") or {}).get("rep") if kind == "bot" else None
            speaker = "visitor" if kind == "user" else ("rep" if rep else "bot")
            at = datetime.fromtimestamp(float(event.get("timestamp") or 0), tz=timezone.utc)
            lines.append(ChatLine(speaker, str(text), at, rep))
        return lines, bool(tracker.get("paused"))

    def _append(self, sender_id: str, events: list[dict[str, Any]], side_effects: bool) -> None:
        params = {"include_events": "NONE"}
        if side_effects:
            params.update(execute_side_effects="true", output_channel="latest")
        self._request("POST", sender_id, "tracker/events", params=params, json=events)

    def _request(self, method: str, sender_id: str, path: str, **options: Any) -> requests.Response:
        url = f"{self.base_url}/conversations/{quote(sender_id, safe='')}/{path}"
        options["params"] = {**options.get("params", {}), "token": self.token}
        try:
            response = requests.request(method, url, timeout=TIMEOUT_S, **options)
        except requests.RequestException as error:
            raise RasaUnavailable(
                f"the bot could not be reached ({type(error).__name__})"
            ) from None
        if not response.ok:
            raise RasaUnavailable(f"the bot answered HTTP {response.status_code}")
        return response
