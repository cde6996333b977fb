"""Which CRMs to keep in sync, and how patiently, from the environment (a `.env` too)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from bot.crm_sync.delivery import Destination
from bot.crm_sync.hubspot import HubSpot
from bot.crm_sync.salesforce import Salesforce
from bot.crm_sync.webhook import Webhook
from crm_bridge.retry import RetryPolicy

# Every destination this version delivers to, by the outbox kind of its messages.
DESTINATIONS: Final = ("hubspot", "salesforce", "webhook")
# Setting any of these asks for the sync worker (a half-set pair is an error it reports).
SWITCHES: Final = (
    "LEADBOT_HUBSPOT_TOKEN",
    "LEADBOT_SALESFORCE_INSTANCE_URL",
    "LEADBOT_SALESFORCE_TOKEN",
    "LEADBOT_CRM_WEBHOOK_URL",
    "LEADBOT_CRM_WEBHOOK_SECRET",
)


def wanted(environ: Mapping[str, str] | None = None) -> bool:
    """True when some CRM is configured, fully or not: the launcher then starts the worker."""
    env = os.environ if environ is None else environ
    return any((env.get(name) or "").strip() for name in SWITCHES)


class ConfigError(ValueError):
    """A destination is half configured; the message names what is missing."""


@dataclass(frozen=True)
class SyncConfig:
    """The destinations to deliver to (none: sync is off) and the delivery limits."""

    destinations: tuple[Destination, ...]
    policy: RetryPolicy
    timeout_s: float


def load(environ: Mapping[str, str] | None = None) -> SyncConfig:
    """The sync configuration of this process.

    HubSpot is on with LEADBOT_HUBSPOT_TOKEN; Salesforce with LEADBOT_SALESFORCE_INSTANCE_URL
    and LEADBOT_SALESFORCE_TOKEN; the webhook with LEADBOT_CRM_WEBHOOK_URL and
    LEADBOT_CRM_WEBHOOK_SECRET.

    Raises:
        ConfigError: one of a pair is set without the other (a webhook would go unsigned).
    """
    env = os.environ if environ is None else environ

    def value(name: str) -> str | None:
        return (env.get(name) or "").strip() or None

    destinations: list[Destination] = []
    if token := value("LEADBOT_HUBSPOT_TOKEN"):
        destinations.append(
            HubSpot(token, value("LEADBOT_HUBSPOT_API_URL") or "https://api.hubapi.com")
        )
    instance, sf_token = value("LEADBOT_SALESFORCE_INSTANCE_URL"), value("LEADBOT_SALESFORCE_TOKEN")
    _pair("LEADBOT_SALESFORCE_INSTANCE_URL", instance, "LEADBOT_SALESFORCE_TOKEN", sf_token)
    if instance and sf_token:
        destinations.append(
            Salesforce(
                instance,
                sf_token,
                value("LEADBOT_SALESFORCE_API_VERSION") or "60.0",
                value("LEADBOT_SALESFORCE_EXTERNAL_ID_FIELD") or "Leadbot_Lead_Id__c",
            )
        )
    url, secret = value("LEADBOT_CRM_WEBHOOK_URL"), value("LEADBOT_CRM_WEBHOOK_SECRET")
    _pair("LEADBOT_CRM_WEBHOOK_URL", url, "LEADBOT_CRM_WEBHOOK_SECRET", secret)
    if url and secret:
        destinations.append(Webhook(url, secret))
    policy = RetryPolicy(
        max_attempts=int(value("LEADBOT_CRM_MAX_ATTEMPTS") or 10),
        base_delay_s=float(value("LEADBOT_CRM_RETRY_BASE_S") or 2.0),
        max_delay_s=float(value("LEADBOT_CRM_RETRY_MAX_S") or 600.0),
    )
    return SyncConfig(tuple(destinations), policy, float(value("LEADBOT_CRM_TIMEOUT_S") or 10.0))


def _pair(name: str, first: str | None, other: str, second: str | None) -> None:
    if bool(first) != bool(second):
        missing = other if first else name
        raise ConfigError(f"{missing} is not set: set both {name} and {other}, or neither")
