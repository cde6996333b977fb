"""Loopback stand-ins for the CRMs leadbot syncs to, checking each request as the real API does.

One server answers for every service, each on its own paths:

- HubSpot CRM v3: ``POST /crm/v3/objects/contacts/batch/upsert`` with ``Authorization: Bearer
  <private app token>`` and ``{"inputs": [{"idProperty": "email", "id": <email>, "properties":
  {<name>: <string>}}]}``; unknown properties are a 400 ``VALIDATION_ERROR``, as in an account
  that has not defined them. Contacts are kept by email; 200 with the batch result.
- Salesforce REST: ``PATCH /services/data/v60.0/sobjects/Lead/Leadbot_Lead_Id__c/<id>`` with a
  Bearer token and a JSON object of Lead fields; unknown fields are a 400 ``INVALID_FIELD``,
  a new Lead without LastName or Company a 400 ``REQUIRED_FIELD_MISSING``. 201 created, 200
  updated. A token that expired (``expire_salesforce_sessions``), or is used at another host
  than its org's, is a 401 ``INVALID_SESSION_ID``.
- Salesforce OAuth (service ``salesforce_login``): ``POST /services/oauth2/token``, a form with
  ``grant_type=refresh_token``, the connected app's ``client_id`` and ``client_secret`` and the
  ``refresh_token``; issues a new access token with the org's ``instance_url`` (and a new
  refresh token, voiding the one used, with ``sf_rotates_refresh_tokens``), or answers 400
  ``unsupported_grant_type``, ``invalid_client_id``, ``invalid_client`` or ``invalid_grant``.
- A webhook: ``POST /hooks/leads`` whose ``X-Leadbot-Signature`` must be the HMAC-SHA256 of
  ``<X-Leadbot-Timestamp>.<body>`` under the shared secret, the timestamp within 5 minutes.

A test scripts the answers each service gives first (a 500, a 429 with ``Retry-After``, a 409,
or a timeout: the change is applied and the answer comes too late); after those it accepts.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

HUBSPOT_PATH = "/crm/v3/objects/contacts/batch/upsert"
SALESFORCE_PREFIX = "/services/data/v60.0/sobjects/Lead/Leadbot_Lead_Id__c/"
SALESFORCE_TOKEN_PATH = "/services/oauth2/token"
EXPIRED_SESSION = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
WEBHOOK_PATH = "/hooks/leads"
HUBSPOT_PROPERTIES = {
    "email",
    "firstname",
    "lastname",
    "company",
    "jobtitle",
    "leadbot_lead_id",
    "leadbot_score",
    "leadbot_temperature",
    "leadbot_stage",
    "leadbot_need",
    "leadbot_need_category",
}
SALESFORCE_FIELDS = {
    "FirstName",
    "LastName",
    "Company",
    "Email",
    "Title",
    "Rating",
    "Description",
    "Leadbot_Score__c",
    "Leadbot_Stage__c",
}
SIGNATURE_TOLERANCE_S = 300


@dataclass
class Answer:
    """A scripted answer; ``timeout_s`` > 0 applies the change and answers that much later."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    timeout_s: float = 0.0


@dataclass
class Received:
    service: str  # hubspot, salesforce, salesforce_login, webhook
    at: float
    status: int  # what the service answered
    key: str | None  # the record it was about: email, external id, lead id
    late: bool = False  # answered after the client's timeout


@dataclass
class CrmApis:
    """What the stand-ins received and keep, and the answers they will give next."""

    hubspot_token: str = "pat-na1-test-token"
    salesforce_token: str = "00Dxx0000000001!AQ4AQ.test"
    # The connected app's consumer key and secret, and the refresh token a user gave it.
    sf_client_id: str = "3MVG9test.consumer-key"
    sf_client_secret: str = "sf-consumer-secret-test"
    sf_refresh_token: str = "5Aep861test.refresh-token"
    # The connected app's refresh token rotation: each refresh voids the token it used.
    sf_rotates_refresh_tokens: bool = False
    webhook_secret: str = "whsec-test-secret"
    url: str = ""
    scripts: dict[str, list[Answer]] = field(
        default_factory=lambda: {
            "hubspot": [],
            "salesforce": [],
            "salesforce_login": [],
            "webhook": [],
        }
    )
    # The Salesforce access tokens that open a session now, and every one issued.
    sf_sessions: set[str] = field(default_factory=set)
    sf_tokens_issued: list[str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    contacts: dict[str, dict[str, str]] = field(default_factory=dict)
    sf_leads: dict[str, dict[str, Any]] = field(default_factory=dict)
    hooked: dict[int, dict[str, Any]] = field(default_factory=dict)
    created: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.sf_sessions.add(self.salesforce_token)

    def accepted(self, service: str) -> Counter[str | None]:
        """How many requests about each record the service accepted and answered in time."""
        return Counter(
            r.key
            for r in self.received
            if r.service == service and 200 <= r.status < 300 and not r.late
        )

    def statuses(self, service: str) -> list[int]:
        return [r.status for r in self.received if r.service == service]

    def expire_salesforce_sessions(self) -> None:
        """Every access token issued so far stops working, as when the org's session timeout
        passes."""
        self.sf_sessions.clear()

    def salesforce_grant_env(self) -> dict[str, str]:
        """The environment that lets leadbot renew Salesforce tokens at this stand-in."""
        return {
            "LEADBOT_SALESFORCE_CLIENT_ID": self.sf_client_id,
            "LEADBOT_SALESFORCE_CLIENT_SECRET": self.sf_client_secret,
            "LEADBOT_SALESFORCE_REFRESH_TOKEN": self.sf_refresh_token,
            "LEADBOT_SALESFORCE_LOGIN_URL": self.url,
        }

    def env(self) -> dict[str, str]:
        """The environment that points leadbot's sync at these stand-ins."""
        return {
            "LEADBOT_HUBSPOT_TOKEN": self.hubspot_token,
            "LEADBOT_HUBSPOT_API_URL": self.url,
            "LEADBOT_SALESFORCE_INSTANCE_URL": self.url,
            "LEADBOT_SALESFORCE_TOKEN": self.salesforce_token,
            "LEADBOT_CRM_WEBHOOK_URL": self.url + WEBHOOK_PATH,
            "LEADBOT_CRM_WEBHOOK_SECRET": self.webhook_secret,
        }

    # Each check returns (status, body, record key) as the real service would answer.
    def hubspot(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, Any, Any]:
        if method != "POST" or path != HUBSPOT_PATH:
            return 404, {"category": "OBJECT_NOT_FOUND"}, None
        if headers.get("Authorization") != f"Bearer {self.hubspot_token}":
            return 401, {"category": "INVALID_AUTHENTICATION"}, None
        payload = _json(headers, body)
        inputs = payload.get("inputs") if isinstance(payload, dict) else None
        if not isinstance(inputs, list) or not 1 <= len(inputs) <= 100:
            return 400, {"category": "VALIDATION_ERROR"}, None
        for item in inputs:
            properties = item.get("properties") if isinstance(item, dict) else None
            if (
                item.get("idProperty") != "email"
                or "@" not in str(item.get("id"))
                or not isinstance(properties, dict)
                or not set(properties) <= HUBSPOT_PROPERTIES
                or not all(isinstance(value, str) for value in properties.values())
            ):
                return 400, {"category": "VALIDATION_ERROR"}, None
        results = []
        for item in inputs:
            email = item["id"].lower()
            new = email not in self.contacts
            self.created["hubspot"] += new
            self.contacts.setdefault(email, {}).update(item["properties"], email=email)
            results.append({"id": email, "new": new, "properties": self.contacts[email]})
        return 200, {"status": "COMPLETE", "results": results}, inputs[0]["id"].lower()

    def salesforce(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, Any, Any]:
        if not path.startswith(SALESFORCE_PREFIX):
            return 404, [{"errorCode": "NOT_FOUND"}], None
        if method != "PATCH":
            return 405, [{"errorCode": "METHOD_NOT_ALLOWED"}], None
        token = str(headers.get("Authorization") or "").removeprefix("Bearer ")
        # A token opens a session at its org's host only.
        if token not in self.sf_sessions or headers.get("Host") != urlsplit(self.url).netloc:
            return 401, EXPIRED_SESSION, None
        external_id = path.removeprefix(SALESFORCE_PREFIX)
        record = _json(headers, body)
        if not isinstance(record, dict) or not set(record) <= SALESFORCE_FIELDS:
            return 400, [{"errorCode": "INVALID_FIELD"}], None
        created = external_id not in self.sf_leads
        if created and not (record.get("LastName") and record.get("Company")):
            return 400, [{"errorCode": "REQUIRED_FIELD_MISSING"}], None
        self.created["salesforce"] += created
        self.sf_leads.setdefault(external_id, {}).update(record)
        answer = {"id": f"00Q{external_id:0>15}", "success": True, "errors": [], "created": created}
        return (201 if created else 200), answer, external_id

    def salesforce_login(
        self, method: str, path: str, headers: Any, body: bytes
    ) -> tuple[int, Any, Any]:
        if method != "POST" or path != SALESFORCE_TOKEN_PATH:
            return 404, {"error": "not_found"}, None
        form = {name: values[-1] for name, values in parse_qs(body.decode()).items()}
        if headers.get("Content-Type") != "application/x-www-form-urlencoded":
            return 400, {"error": "invalid_request", "error_description": "bad content"}, None
        if form.get("grant_type") != "refresh_token":
            return 400, {"error": "unsupported_grant_type"}, None
        if form.get("client_id") != self.sf_client_id:
            return 400, {"error": "invalid_client_id"}, None
        if form.get("client_secret") != self.sf_client_secret:
            return 400, {"error": "invalid_client"}, None
        if form.get("refresh_token") != self.sf_refresh_token:
            error = {"error": "invalid_grant", "error_description": "expired access/refresh token"}
            return 400, error, None
        token = f"00Dxx0000000001!AQ4AQ.issued{len(self.sf_tokens_issued) + 1}"
        self.sf_tokens_issued.append(token)
        self.sf_sessions.add(token)
        rotated = {}
        if self.sf_rotates_refresh_tokens:
            self.sf_refresh_token = f"5Aep861test.rotated{len(self.sf_tokens_issued)}"
            rotated = {"refresh_token": self.sf_refresh_token}
        answer = {
            "access_token": token,
            "instance_url": self.url,
            "id": f"{self.url}/id/00Dxx0000000001EAA/005xx000001SwiUAAS",
            "token_type": "Bearer",
            "issued_at": str(int(time.time() * 1000)),
            "scope": "api refresh_token",
            "signature": "c2lnbmF0dXJlLW9mLWlkLWFuZC1pc3N1ZWRfYXQ=",
            **rotated,
        }
        return 200, answer, form["client_id"]

    def webhook(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, Any, Any]:
        if method != "POST" or path != WEBHOOK_PATH:
            return 404, {"error": "not_found"}, None
        timestamp = headers.get("X-Leadbot-Timestamp") or ""
        expected = (
            "sha256="
            + hmac.new(
                self.webhook_secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
            ).hexdigest()
        )
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > SIGNATURE_TOLERANCE_S:
            return 401, {"error": "stale_timestamp"}, None
        if not hmac.compare_digest(expected, headers.get("X-Leadbot-Signature") or ""):
            return 401, {"error": "bad_signature"}, None
        payload = _json(headers, body)
        lead = payload.get("lead") if isinstance(payload, dict) else None
        if (
            payload.get("event") != "lead.changed"
            or not isinstance(lead, dict)
            or not isinstance(lead.get("id"), int)
        ):
            return 400, {"error": "bad_payload"}, None
        self.created["webhook"] += lead["id"] not in self.hooked
        self.hooked[lead["id"]] = lead
        return 200, {"ok": True}, str(lead["id"])


def _json(headers: Any, body: bytes) -> Any:
    if not str(headers.get("Content-Type", "")).startswith("application/json"):
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def _service(path: str) -> str:
    if path.startswith("/crm/"):
        return "hubspot"
    if path.startswith("/services/oauth2/"):
        return "salesforce_login"
    if path.startswith("/services/"):
        return "salesforce"
    return "webhook"


@contextmanager
def crm_apis() -> Iterator[CrmApis]:
    """Serve the stand-ins on a free loopback port for the block."""
    apis = CrmApis()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            service = _service(self.path)
            with apis.lock:
                scripted = apis.scripts[service].pop(0) if apis.scripts[service] else Answer()
                if scripted.status == 200 or scripted.timeout_s:
                    check = getattr(apis, service)
                    status, answer, key = check(self.command, self.path, self.headers, body)
                else:
                    status, answer, key = scripted.status, {}, None
                apis.received.append(
                    Received(service, time.monotonic(), status, key, bool(scripted.timeout_s))
                )
            if scripted.timeout_s:
                time.sleep(scripted.timeout_s)  # the change is made; the answer comes too late
            data = json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in scripted.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client gave up waiting

        do_POST = do_PATCH = do_PUT = do_GET = _handle  # noqa: N815 (http.server's names)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    apis.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield apis
    finally:
        server.shutdown()
        server.server_close()
