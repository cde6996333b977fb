"""The web process: the website widget and its demo page, the sales reps' review app and its
JSON API.

`create_app` builds the Flask application; `python -m bot.web` serves it with waitress on
`LEADBOT_WEB_PORT`.
"""

from __future__ import annotations

from flask import Flask, Response

from bot.settings import Settings
from bot.web import api, review, widget

SETTINGS_KEY = "LEADBOT_SETTINGS"


def create_app(config: Settings) -> Flask:
    """The web application for `config`, with the blueprint of every area registered."""
    # No app-wide static route: each blueprint serves its own files.
    app = Flask(__name__, static_folder=None)
    app.config[SETTINGS_KEY] = config
    app.register_blueprint(widget.blueprint)
    # The sales reps' review app and its JSON API.
    review.init_app(app, config)
    api.init_app(app)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.after_request
    def no_sniffing(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    return app
