"""The action server: rasa_sdk's app serving `actions`, on loopback, behind the shared secret.

The launcher runs it with `.venv`'s Python: ``python -m bot.action_server --port 5055``. The
secret comes from ``LEADBOT_ACTION_SECRET`` in the environment only (a command line is readable
by every user of the machine); without it the server does not start.

- It listens on 127.0.0.1 unless ``--host`` says otherwise.
- Every route but ``/health`` answers 401 to a call without the secret, presented as
  ``Authorization: Bearer <secret>`` (what the launcher's endpoints file makes Rasa send) or as
  ``?token=<secret>`` (Rasa's ``token:`` endpoint setting), compared in constant time.
- An error response never echoes the request: rasa_sdk's bodies (which quote the tracker or the
  action name asked for) are replaced by a short generic JSON; a rejected action keeps its
  ``action_name``, which Rasa needs. Failures are logged with their kind and place, never their
  message, which can quote a visitor.
- No browser may call it (no CORS origin is allowed).
- Every few seconds (``LEADBOT_SPOOL_RETRY_S``, 5 by default) it writes the final saves the
  store refused and the actions kept on disk (`crm_bridge.spool`), once the store takes them.

The actions package is loaded by name: `bot` never imports `actions`.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import logging
import os
import re
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from rasa_sdk import utils
from rasa_sdk.endpoint import create_app
from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy.orm import Session, sessionmaker

from crm_bridge import spool
from crm_bridge.settings import database_url
from crm_bridge.store import make_engine, make_session_factory

logger = logging.getLogger("bot.action_server")

SECRET_VARIABLE: Final = "LEADBOT_ACTION_SECRET"
ACTIONS_PACKAGE: Final = "actions"
DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 5055
OPEN_PATHS: Final = frozenset({"/health"})
TOKEN_PARAMETER: Final = "token"
SPOOL_RETRY_VARIABLE: Final = "LEADBOT_SPOOL_RETRY_S"
DEFAULT_SPOOL_RETRY_S: Final = 5.0
KEPT_SAVES_TASK: Final = "action_server.kept_saves"
GENERIC_ERRORS: Final = {
    400: "The action server could not run this call.",
    401: "This call needs the action server's secret.",
    404: "Not found.",
    405: "Method not allowed.",
    413: "The call is too large.",
}
GENERIC_FAILURE: Final = "The action server failed to run this call."
_ACTION_NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")


def create(
    secret: str,
    actions_package: str = ACTIONS_PACKAGE,
    spool_retry_s: float = DEFAULT_SPOOL_RETRY_S,
) -> Sanic:
    """rasa_sdk's Sanic app for `actions_package`, guarded by `secret`, writing kept final
    saves every `spool_retry_s` seconds while it runs.

    Raises:
        ValueError: When the secret is empty.
    """
    if not secret:
        raise ValueError(f"{SECRET_VARIABLE} is empty")
    expected = secret.encode("utf-8")
    app = create_app(actions_package, cors_origins=None)

    @app.after_server_start
    async def start_writing_kept_saves(app: Sanic, _: Any) -> None:
        app.add_task(write_kept_saves(spool.spool_folder(), spool_retry_s), name=KEPT_SAVES_TASK)

    @app.before_server_stop
    async def stop_writing_kept_saves(app: Sanic, _: Any) -> None:
        # Cancelled here rather than destroyed pending when the loop closes (asyncio's warning).
        await app.cancel_task(KEPT_SAVES_TASK, raise_exception=False)

    @app.on_request
    async def require_secret(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS:
            return None
        presented = _presented_secret(request)
        if presented is not None and hmac.compare_digest(presented, expected):
            return None
        logger.warning("action_server.refused path=%s from=%s", request.path, request.ip)
        return response.json({"error": GENERIC_ERRORS[401]}, status=401)

    @app.exception(Exception)
    async def failed(request: Request, exception: Exception) -> HTTPResponse:
        if isinstance(exception, SanicException):
            status = int(getattr(exception, "status_code", 500) or 500)
            logger.info("action_server.bad_call status=%d path=%s", status, request.path)
        else:
            status = 500
            logger.error(
                "action_server.failure kind=%s\n%s",
                type(exception).__name__,
                "".join(traceback.format_tb(exception.__traceback__)).rstrip(),
            )
        return response.json({"error": GENERIC_ERRORS.get(status, GENERIC_FAILURE)}, status=status)

    @app.on_response
    async def generic_errors(request: Request, reply: HTTPResponse) -> HTTPResponse | None:
        if reply.status < 400 or request.path in OPEN_PATHS:
            return None
        return response.json(_generic_error(reply), status=reply.status)

    return app


async def write_kept_saves(folder: Path, interval_s: float) -> None:
    """Forever: writes the final saves kept in `folder` (`crm_bridge.spool`) to the store,
    then waits `interval_s` seconds; the store is opened only once something is kept."""
    sessions: sessionmaker[Session] | None = None
    while True:
        if spool.kept(folder):
            sessions = sessions or make_session_factory(make_engine(database_url()))
            try:
                await asyncio.to_thread(spool.write_kept, folder, sessions)
            except Exception as error:
                # Kept saves stay on disk; the next round tries again.
                logger.error("action_server.spool.failure kind=%s", type(error).__name__)
        await asyncio.sleep(interval_s)


def _presented_secret(request: Request) -> bytes | None:
    scheme, _, credentials = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip().encode("utf-8")
    token = request.args.get(TOKEN_PARAMETER)
    return token.encode("utf-8") if token else None


def _generic_error(reply: HTTPResponse) -> dict[str, Any]:
    """A short body for an error response, keeping only a rejected action's registered name."""
    body: dict[str, Any] = {"error": GENERIC_ERRORS.get(reply.status, GENERIC_FAILURE)}
    if reply.status == 400:
        try:
            name = json.loads(reply.body or b"{}").get("action_name")
        except (ValueError, AttributeError):
            name = None
        # Rasa reads a rejection's action_name; it is the name of the action that ran.
        if isinstance(name, str) and _ACTION_NAME.match(name):
            body["action_name"] = name
    return body


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the action server until it is stopped; 2 when it cannot start."""
    parser = argparse.ArgumentParser(
        prog="python -m bot.action_server",
        description=f"The action server. The shared secret is read from {SECRET_VARIABLE}.",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="address (default: %(default)s)")
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("LEADBOT_ACTION_PORT", DEFAULT_PORT)),
        help="port (default: LEADBOT_ACTION_PORT or %(default)s)",
    )
    parser.add_argument("--actions", default=ACTIONS_PACKAGE, help="the actions package")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    secret = os.environ.get(SECRET_VARIABLE, "")
    if not secret:
        print(f"action server: {SECRET_VARIABLE} is not set", file=sys.stderr)
        return 2
    utils.configure_colored_logging(args.log_level)
    utils.update_sanic_log_level()
    app = create(
        secret,
        args.actions,
        float(os.environ.get(SPOOL_RETRY_VARIABLE) or DEFAULT_SPOOL_RETRY_S),
    )
    logger.info("action_server.listening host=%s port=%d", args.host, args.port)
    # No access log: a URL may carry the secret as ?token=.
    app.run(args.host, args.port, workers=1, access_log=False, motd=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
