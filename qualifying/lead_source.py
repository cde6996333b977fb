"""Where a lead came from: the page, referrer and UTM values a widget sends, and their source.

The website widget sends, with every message, the page the visitor is on and the referrer and
UTM parameters of the first page it saw. That is what the visitor's browser says, so it is
read as untrusted text: only strings, only http(s) addresses, cut to a sane length.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from qualifying.wordlists import word_list

UTM_FIELDS: Final = ("source", "medium", "campaign", "term", "content")
MAX_URL_CHARS: Final = 2000
MAX_UTM_CHARS: Final = 200
# The values a lead's source takes (crm_bridge.models.LEAD_SOURCES holds the same words).
DIRECT: Final = "direct"
SEARCH: Final = "search"
REFERRAL: Final = "referral"
SOCIAL: Final = "social"
CAMPAIGN: Final = "campaign"
SLACK: Final = "slack"


@dataclass(frozen=True)
class Visit:
    """The first page a visitor saw in a conversation, where they came from and its UTM values.

    ``utm`` holds only the parameters that were given, keyed without the ``utm_`` prefix.
    """

    page_url: str | None
    referrer: str | None
    utm: Mapping[str, str]


def visit_from_metadata(metadata: Mapping[str, Any] | None) -> Visit | None:
    """The visit a message's metadata describes (``page_url``, ``referrer``, ``utm``), or None
    when it describes none. Anything that is not an http(s) address or a string is dropped."""
    if not isinstance(metadata, Mapping):
        return None
    raw_utm = metadata.get("utm")
    utm = {
        field: value.strip()[:MAX_UTM_CHARS]
        for field in UTM_FIELDS
        if isinstance(raw_utm, Mapping)
        and isinstance(value := raw_utm.get(field), str)
        and value.strip()
    }
    visit = Visit(
        _web_address(metadata.get("page_url")), _web_address(metadata.get("referrer")), utm
    )
    return visit if visit.page_url or visit.referrer or visit.utm else None


def lead_source(channel: str, visit: Visit | None) -> str | None:
    """Where the lead came from, or None when the channel says nothing about it.

    Slack for the Slack channel; for a visit: ``campaign`` when it carries UTM parameters,
    else by the referrer's site: ``search`` (a search engine), ``social`` (a social network),
    ``referral`` (any other site), ``direct`` (no referrer, or the visitor's own site).
    """
    if channel == SLACK:
        return SLACK
    if visit is None:
        return None
    if visit.utm:
        return CAMPAIGN
    referrer_host = _host(visit.referrer)
    if not referrer_host or referrer_host == _host(visit.page_url):
        return DIRECT
    if _listed(referrer_host, word_list("search_engines")):
        return SEARCH
    if _listed(referrer_host, word_list("social_networks")):
        return SOCIAL
    return REFERRAL


def _web_address(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    address = value.strip()[:MAX_URL_CHARS]
    scheme = address.partition(":")[0].lower()
    return address if scheme in ("http", "https") and _host(address) else None


def _host(address: str | None) -> str:
    try:
        return (urlsplit(address or "").hostname or "").removeprefix("www.")
    except ValueError:  # a malformed address (e.g. an unclosed IPv6 bracket) has no host
        return ""


def _listed(host: str, sites: frozenset[str]) -> bool:
    """True when a site of the list names the host: a dotted name as the domain or one of its
    parents, a plain name as any label but the last (google: www.google.co.uk)."""
    labels = host.split(".")
    return any(
        host == site or host.endswith(f".{site}") if "." in site else site in labels[:-1]
        for site in sites
    )
