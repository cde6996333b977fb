"""HubSpot: one contact per lead, upserted by email through the CRM v3 batch upsert endpoint."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Final

from bot.crm_sync.delivery import Call
from bot.crm_sync.people import first_and_last_name
from crm_bridge.models import Lead

UPSERT_PATH: Final = "/crm/v3/objects/contacts/batch/upsert"
# Custom contact properties the HubSpot account must define (single-line text or number).
CUSTOM_PROPERTIES: Final = (
    "leadbot_lead_id",
    "leadbot_score",
    "leadbot_temperature",
    "leadbot_stage",
    "leadbot_need",
    "leadbot_need_category",
)


@dataclass(frozen=True)
class HubSpot:
    """A HubSpot account reached with a private app's access token."""

    token: str = field(repr=False)
    api_url: str = "https://api.hubapi.com"
    name: str = "hubspot"

    def call(self, lead: Lead) -> Call:
        """Create or update the contact whose email is the lead's (HubSpot's unique key);
        delivered on 200 or 201."""
        email = lead.email or ""
        first, last = first_and_last_name(lead.person_name)
        values: dict[str, object | None] = {
            "email": email,
            "firstname": first,
            "lastname": last,
            "company": lead.company,
            "jobtitle": lead.job_title,
            "leadbot_lead_id": lead.id,
            "leadbot_score": lead.score,
            "leadbot_temperature": lead.temperature,
            "leadbot_stage": lead.stage,
            "leadbot_need": lead.need,
            "leadbot_need_category": lead.need_category,
        }
        # HubSpot takes every value as a string; an unknown one is left out, not erased there.
        properties = {key: str(value) for key, value in values.items() if value is not None}
        body = {"inputs": [{"idProperty": "email", "id": email, "properties": properties}]}
        return Call(
            "POST",
            self.api_url.rstrip("/") + UPSERT_PATH,
            json.dumps(body).encode(),
            {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            # A 207 (multi-status) says the one input failed: not delivered.
            accepted=frozenset({200, 201}),
        )
