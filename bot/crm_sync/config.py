"""Which CRMs to keep in sync, and how patiently, from the environment (a `.env` too)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from bot.crm_sync.delivery import Destination
from bot.crm_sync.hubspot import HubSpot
from bot.crm_sync.salesforce import LOGIN_URL, OrgAccess, RefreshGrant, Salesforce
from bot.crm_sync.webhook import Webhook
from crm_bridge.retry import RetryPolicy

# Every destination this version delivers to, by the outbox kind of its messages.
DESTINATIONS: Final = ("hubspot", "salesforce", "webhook")
# A Salesforce connected app's refresh grant: all three, or none.
SALESFORCE_GRANT: Final = (
    "LEADBOT_SALESFORCE_CLIENT_ID",
    "LEADBOT_SALESFORCE_CLIENT_SECRET",
    "LEADBOT_SALESFORCE_REFRESH_TOKEN",
)
# Setting any of these asks for the sync worker (a half-set pair is an error it reports).
SWITCHES: Final = (
    "LEADBOT_HUBSPOT_TOKEN",
    "LEADBOT_SALESFORCE_INSTANCE_URL",
    "LEADBOT_SALESFORCE_TOKEN",
    *SALESFORCE_GRANT,
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
    and an access token (LEADBOT_SALESFORCE_TOKEN), a refresh grant that renews it
    (LEADBOT_SALESFORCE_CLIENT_ID, _CLIENT_SECRET and _REFRESH_TOKEN), or both; the webhook
    with LEADBOT_CRM_WEBHOOK_URL and LEADBOT_CRM_WEBHOOK_SECRET.

    Raises:
        ConfigError: one of a pair or of the grant is set without the others (a webhook would
            go unsigned).
    """
    env = os.environ if environ is None else environ

    def value(name: str) -> str | None:
        return (env.get(name) or "").strip() or None

    destinations: list[Destination] = []
    if token := value("LEADBOT_HUBSPOT_TOKEN"):
        destinations.append(
            HubSpot(token, value("LEADBOT_HUBSPOT_API_URL") or "https://api.hubapi.com")
        )
    timeout_s = float(value("LEADBOT_CRM_TIMEOUT_S") or 10.0)
    instance, sf_token = value("LEADBOT_SALESFORCE_INSTANCE_URL"), value("LEADBOT_SALESFORCE_TOKEN")
    grant = _salesforce_grant(value)
    credentials = "LEADBOT_SALESFORCE_TOKEN or _REFRESH_TOKEN"
    _pair("LEADBOT_SALESFORCE_INSTANCE_URL", instance, credentials, sf_token or grant)
    if instance and (sf_token or grant):
        destinations.append(
            Salesforce(
                OrgAccess(instance, sf_token, grant, timeout_s),
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
    return SyncConfig(tuple(destinations), policy, timeout_s)


def _salesforce_grant(value: Callable[[str], str | None]) -> RefreshGrant | None:
    """The connected app's refresh grant, None when not configured."""
    client_id, secret, refresh_token = (value(name) for name in SALESFORCE_GRANT)
    if not (client_id or secret or refresh_token):
        return None
    if not (client_id and secret and refresh_token):
        missing = [name for name in SALESFORCE_GRANT if not value(name)]
        raise ConfigError(
            f"{', '.join(missing)} not set: set all of {', '.join(SALESFORCE_GRANT)}, or none"
        )
    login_url = value("LEADBOT_SALESFORCE_LOGIN_URL") or LOGIN_URL
    return RefreshGrant(client_id, secret, refresh_token, login_url)


def _pair(name: str, first: object, other: str, second: object) -> None:
    if bool(first) != bool(second):
        missing = other if first else name
        raise ConfigError(f"{missing} is not set: set both {name} and {other}, or neither")
