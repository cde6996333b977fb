"""The sales reps' review app (``/review``, ``/login``): the queue of handoffs, each lead's
page, follow-ups, the funnel, CSV export and accounts; and the Slack alert worker.

`init_app` adds all of it to the web process's Flask application.
"""

from __future__ import annotations

import os
import secrets
from typing import Any, Final

from flask import Flask, Response, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect

from bot.settings import Settings
from bot.web.review import auth, store, views
from bot.web.review.slack_alerts import AlertWorker

WORKER_KEY: Final = "leadbot-slack-alerts"
# Pages of the review app allow nothing from elsewhere and no inline code.
REVIEW_POLICY: Final = "; ".join(
    (
        "default-src 'self'",
        "img-src 'self' data:",
        "style-src 'self'",
        "script-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
csrf = CSRFProtect()


def secret_key(config: Settings) -> str:
    """LEADBOT_SECRET_KEY, else a key kept in var/web-secret-key (made once, owner-only), so
    reps stay logged in across restarts."""
    if config.web_secret_key:
        return config.web_secret_key
    path = config.var_dir / "web-secret-key"
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(key)
    return key


def init_app(app: Flask, config: Settings, *, start_worker: bool = True) -> None:
    """Add the review app to ``app``: store, logins, CSRF, pages, and (when a Slack webhook is
    set and ``start_worker``) the thread that delivers Slack alerts."""
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key(config)
    app.config["WTF_CSRF_TIME_LIMIT"] = None  # valid for the session: a lead page stays open
    store.init_app(app, config.database_url)
    https_only = bool(config.public_url and config.public_url.startswith("https://"))
    auth.init_app(app, https_only)
    csrf.init_app(app)
    app.register_blueprint(views.blueprint)

    @app.errorhandler(CSRFError)
    def refused_form(error: CSRFError) -> Any:
        return render_template("review/error.html", message=error.description), 400

    @app.errorhandler(403)
    def forbidden(error: Any) -> Any:
        message = "Your role does not allow this."
        return render_template("review/error.html", message=message), 403

    @app.after_request
    def review_headers(response: Response) -> Response:
        if request.blueprint in ("review", "auth"):
            response.headers.setdefault("Content-Security-Policy", REVIEW_POLICY)
            response.headers.setdefault("Referrer-Policy", "same-origin")
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    if start_worker and config.slack_webhook_url:
        base = config.public_url or f"http://localhost:{config.web_port}"
        worker = AlertWorker(
            store.sessions(app), config.slack_webhook_url, f"{base}/review/leads/{{lead_id}}"
        )
        app.extensions[WORKER_KEY] = worker
        worker.start()
