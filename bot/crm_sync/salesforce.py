"""Salesforce: one Lead record per lead, upserted by an external id field holding our lead id."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import quote

from bot.crm_sync.delivery import Call
from bot.crm_sync.people import first_and_last_name
from crm_bridge.models import Lead

# Salesforce requires both on a Lead; the placeholder says the visitor did not give it.
NOT_GIVEN: Final = "[not given]"
RATINGS: Final = {"hot": "Hot", "warm": "Warm", "cold": "Cold"}


@dataclass(frozen=True)
class Salesforce:
    """A Salesforce org reached with an OAuth access token at its instance URL."""

    instance_url: str
    token: str = field(repr=False)
    api_version: str = "60.0"
    # A Text field of Lead marked "External ID" and "Unique" in the org.
    external_id_field: str = "Leadbot_Lead_Id__c"
    name: str = "salesforce"

    def call(self, lead: Lead) -> Call:
        """Create (201) or update (200, or 204 before API 46.0) the Lead whose external id is
        our lead id; a 300 (several Leads share the id) fails for good."""
        first, last = first_and_last_name(lead.person_name)
        values: dict[str, object | None] = {
            "FirstName": first,
            "LastName": last or NOT_GIVEN,
            "Company": lead.company or NOT_GIVEN,
            "Email": lead.email,
            "Title": lead.job_title,
            "Rating": RATINGS.get(lead.temperature or ""),
            "Description": lead.need,
            "Leadbot_Score__c": lead.score,
            "Leadbot_Stage__c": lead.stage,
        }
        body = {key: value for key, value in values.items() if value is not None}
        path = (
            f"/services/data/v{self.api_version}/sobjects/Lead/"
            f"{quote(self.external_id_field)}/{lead.id}"
        )
        return Call(
            "PATCH",
            self.instance_url.rstrip("/") + path,
            json.dumps(body).encode(),
            {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
