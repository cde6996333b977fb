"""One HTTP call to a CRM and what its answer means for the outbox: sent, retry, or failed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol

import requests

from crm_bridge.models import Lead
from crm_bridge.retry import retry_after_seconds

# Answers that may change on their own: the service is busy, down, or saw a concurrent write.
RETRYABLE_STATUSES: Final = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S: Final = 3600.0
SUCCESS: Final = frozenset(range(200, 300))


@dataclass(frozen=True)
class Call:
    """An HTTP request to a destination, ready to send; ``accepted`` answers mean delivered."""

    method: str
    url: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    accepted: frozenset[int] = SUCCESS
    # Signs the request as it goes out (requests' auth protocol), e.g. with an OAuth token.
    auth: requests.auth.AuthBase | None = None


@dataclass(frozen=True)
class Outcome:
    """What one attempt achieved. ``wait_s`` is the wait the service asked for (Retry-After),
    None when it asked for none; ``problem`` never holds personal data."""

    result: Literal["sent", "retry", "failed"]
    problem: str = ""
    wait_s: float | None = None


class Destination(Protocol):
    """A system outside that keeps one record per lead."""

    @property
    def name(self) -> str:
        """The outbox kind of this destination's messages: hubspot, salesforce, webhook."""
        ...

    def call(self, lead: Lead) -> Call:
        """The request that creates or updates the lead's one record there."""
        ...


def send(http: requests.Session, call: Call, timeout_s: float) -> Outcome:
    """Send one call with a timeout and classify the answer.

    Delivered when the status is one the call accepts; a timeout, a lost connection and the
    statuses `refusal` retries are worth retrying; anything else (a bad request, a refused
    token) fails for good; when the call's auth cannot sign it, the auth says which (`Unsent`).
    """
    try:
        response = http.request(
            call.method,
            call.url,
            data=call.body,
            headers=call.headers,
            timeout=timeout_s,
            auth=call.auth,
        )
    except Unsent as unsent:
        return unsent.outcome
    except requests.RequestException as error:
        return Outcome("retry", type(error).__name__)
    if response.status_code in call.accepted:
        return Outcome("sent")
    return refusal(response)


class Unsent(Exception):
    """Raised while a call goes out (by its auth) when it cannot be sent; ``outcome`` says
    whether to try again, and its problem never holds a secret."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.problem)
        self.outcome = outcome


def refusal(response: requests.Response, asked: str = "") -> Outcome:
    """What an answer that delivered nothing means: 408, 409, 425, 429 and 5xx are retried
    (after the Retry-After of a 429 or 503, capped at an hour), anything else failed for good.
    ``asked`` names the request in the problem when it was not the call itself."""
    problem = f"{asked}HTTP {response.status_code} {error_code(response)}".strip()
    if response.status_code not in RETRYABLE_STATUSES:
        return Outcome("failed", problem)
    wait = retry_after_seconds(response.headers.get("Retry-After"))
    return Outcome("retry", problem, None if wait is None else min(MAX_RETRY_AFTER_S, wait))


def error_code(response: requests.Response) -> str:
    """The service's error code (HubSpot's category, Salesforce's errorCode, OAuth's error),
    never its message: messages can quote the email or name that was sent."""
    try:
        body: Any = response.json()
    except ValueError:
        return ""
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = body[0]
    if not isinstance(body, dict):
        return ""
    code = body.get("category") or body.get("errorCode") or body.get("error")
    return str(code)[:80] if isinstance(code, str) else ""
