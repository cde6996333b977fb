"""A generic webhook: the lead's record, POSTed as JSON and signed with HMAC-SHA256.

The signature covers the timestamp and the body, ``sha256=hex(HMAC(secret, f"{t}.{body}"))``,
so a receiver can check that the message is ours, untouched and recent (README: CRM sync).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Final

from bot.crm_sync.delivery import SUCCESS, Call
from crm_bridge.models import Lead
from crm_bridge.record import lead_record

SIGNATURE_HEADER: Final = "X-Leadbot-Signature"
TIMESTAMP_HEADER: Final = "X-Leadbot-Timestamp"
EVENT: Final = "lead.changed"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The value of the signature header for this timestamp and body."""
    signed = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Webhook:
    """An HTTPS endpoint of the business that takes lead changes."""

    url: str
    secret: str = field(repr=False)
    name: str = "webhook"

    def call(self, lead: Lead) -> Call:
        """POST ``{"event": "lead.changed", "lead": <the lead record>}``; the receiver keeps one
        record per ``lead.id``. A 409 means it already has this change: delivered."""
        body = json.dumps({"event": EVENT, "lead": lead_record(lead)}).encode()
        timestamp = str(int(time.time()))
        return Call(
            "POST",
            self.url,
            body,
            {
                "Content-Type": "application/json",
                TIMESTAMP_HEADER: timestamp,
                SIGNATURE_HEADER: signature(self.secret, timestamp, body),
            },
            accepted=SUCCESS | {409},
        )
