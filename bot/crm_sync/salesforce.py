"""Salesforce: one Lead record per lead, upserted by an external id field holding our lead id.

Requests carry an OAuth access token. With a connected app's refresh token configured, a
token is obtained when none is set, and renewed when Salesforce answers that it expired (401
``INVALID_SESSION_ID``): that request is then sent once more. A refresh Salesforce refuses
(400 ``invalid_grant``: the refresh token was revoked) fails the delivery for good, as a
refused request does; a token endpoint that is down or busy is tried again later.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field, replace
from typing import Any, Final
from urllib.parse import quote, urlsplit, urlunsplit

import requests

from bot.crm_sync.delivery import Call, Outcome, Unsent, error_code, refusal
from bot.crm_sync.people import first_and_last_name
from crm_bridge.models import Lead

log = logging.getLogger(__name__)

# Salesforce requires both on a Lead; the placeholder says the visitor did not give it.
NOT_GIVEN: Final = "[not given]"
RATINGS: Final = {"hot": "Hot", "warm": "Warm", "cold": "Cold"}
LOGIN_URL: Final = "https://login.salesforce.com"
TOKEN_PATH: Final = "/services/oauth2/token"
# Salesforce's errorCode for an access token that expired or was revoked.
EXPIRED_SESSION: Final = "INVALID_SESSION_ID"
# Names the token request in a delivery's error, which otherwise reads as the Lead's answer.
TOKEN_REFRESH: Final = "token refresh: "


@dataclass(frozen=True)
class RefreshGrant:
    """A connected app's consumer key and secret, and a refresh token a user of the org gave
    it; exchanged at ``login_url`` for access tokens."""

    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)
    login_url: str = LOGIN_URL


class OrgAccess(requests.auth.AuthBase):
    """Signs each request to a Salesforce org with the current access token and sends it to
    the org's current address, both as the last token answer gave them.

    Without a grant, the token given is used as it is. With one, a token is obtained before
    the first request when none was given, and renewed once when a request is refused for an
    expired session; the request is then sent again with the new token. Thread-safe.
    """

    def __init__(
        self,
        instance_url: str,
        token: str | None = None,
        grant: RefreshGrant | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        if token is None and grant is None:
            raise ValueError("an access token or a refresh grant is needed")
        self._instance_url = instance_url.rstrip("/")
        self._token = token
        self._grant = grant
        self._timeout_s = timeout_s
        self._http = requests.Session()
        self._lock = threading.Lock()

    @property
    def instance_url(self) -> str:
        """Where the org's REST API is, e.g. ``https://mydomain.my.salesforce.com``."""
        return self._instance_url

    def __repr__(self) -> str:
        return f"OrgAccess({self._instance_url!r})"  # never the tokens

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        with self._lock:
            token = self._token or self._renew()
            self._sign(request, token)
        if self._grant is not None:
            request.register_hook("response", self._renew_once_when_expired)
        return request

    def _renew_once_when_expired(
        self, response: requests.Response, **send_options: Any
    ) -> requests.Response:
        if response.status_code != 401 or error_code(response) != EXPIRED_SESSION:
            return response
        response.close()
        again = response.request.copy()
        with self._lock:
            # Unless another request renewed it meanwhile, the token is void: should renewing
            # it fail now, the next attempt renews it before sending anything.
            if again.headers.get("Authorization") == f"Bearer {self._token}":
                self._token = None
            token = self._token or self._renew()
            self._sign(again, token)
        # Sent by the adapter, not the session, so no hook runs again: its answer is final.
        retried = response.connection.send(again, **send_options)
        retried.history.append(response)
        retried.request = again
        return retried

    def _sign(self, request: requests.PreparedRequest, token: str) -> None:
        request.headers["Authorization"] = f"Bearer {token}"
        # Salesforce names the org's address with each token (it moves with a My Domain change).
        url, home = urlsplit(request.url or ""), urlsplit(self._instance_url)
        request.url = urlunsplit(url._replace(scheme=home.scheme, netloc=home.netloc))

    def _renew(self) -> str:
        """Exchange the refresh token for an access token and return it; the caller holds the
        lock.

        Raises:
            Unsent: Salesforce refused the grant (failed for good) or could not answer (retry).
        """
        grant = self._grant
        assert grant is not None, "without a grant, the token given is never voided"
        try:
            response = self._http.post(
                grant.login_url.rstrip("/") + TOKEN_PATH,
                data={
                    "grant_type": "refresh_token",
                    "client_id": grant.client_id,
                    "client_secret": grant.client_secret,
                    "refresh_token": grant.refresh_token,
                },
                headers={"Accept": "application/json"},
                timeout=self._timeout_s,
            )
        except requests.RequestException as error:
            raise Unsent(Outcome("retry", TOKEN_REFRESH + type(error).__name__)) from None
        if response.status_code != 200:
            raise Unsent(refusal(response, TOKEN_REFRESH))
        answer = _json_object(response)
        token, instance_url = answer.get("access_token"), answer.get("instance_url")
        if not isinstance(token, str) or not isinstance(instance_url, str):
            raise Unsent(Outcome("failed", f"{TOKEN_REFRESH}HTTP 200 without a token"))
        self._token, self._instance_url = token, instance_url.rstrip("/")
        rotated = answer.get("refresh_token")
        if isinstance(rotated, str):
            # With refresh token rotation on, the one just used is void from now on.
            self._grant = replace(grant, refresh_token=rotated)
        log.info("crm.sync.salesforce_token_renewed rotated=%s", isinstance(rotated, str))
        return token


@dataclass(frozen=True)
class Salesforce:
    """A Salesforce org, reached through its OAuth access."""

    access: OrgAccess
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
            self.access.instance_url + path,
            json.dumps(body).encode(),
            {"Content-Type": "application/json"},
            auth=self.access,
        )


def _json_object(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
