"""The website widget: `widget.js` and its stylesheet, socket.io-client, and the demo page.

A business embeds the widget with one tag, `<script src=".../widget.js" data-bot-url="..."
defer></script>`; every other file the widget needs is fetched from this blueprint by
`widget.js` itself. socket.io-client's browser build is served from `node_modules/` (installed
by `npm ci` from package-lock.json), never copied into the repository.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, render_template, request, send_from_directory

from bot.settings import PROJECT_ROOT, Settings

STATIC_DIR = Path(__file__).resolve().parent / "static"
SOCKET_IO_DIST = PROJECT_ROOT / "node_modules" / "socket.io-client" / "dist"

blueprint = Blueprint("widget", __name__, template_folder="templates")


def _settings() -> Settings:
    config: Settings = current_app.config["LEADBOT_SETTINGS"]
    return config


def _for_any_site(response: Response) -> Response:
    """A widget file that any website may load, also as a cross-origin ES module."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@blueprint.get("/widget.js")
def script() -> Response:
    """The widget: the one file a business embeds."""
    return _for_any_site(send_from_directory(STATIC_DIR, "widget.js"))


@blueprint.get("/widget.css")
def stylesheet() -> Response:
    """The widget's stylesheet, loaded by `widget.js` into the widget's shadow root."""
    return _for_any_site(send_from_directory(STATIC_DIR, "widget.css"))


@blueprint.get("/vendor/socket.io-client/<path:name>")
def socket_io_client(name: str) -> Response:
    """socket.io-client's browser builds, as npm installed them (404 for anything else)."""
    return _for_any_site(send_from_directory(SOCKET_IO_DIST, name))


@blueprint.get("/demo.css")
def demo_stylesheet() -> Response:
    """The demo page's own stylesheet (not the widget's)."""
    return send_from_directory(STATIC_DIR, "demo.css")


@blueprint.get("/")
def demo() -> Response:
    """Acme Software's landing page, with the widget embedded as a business would embed it."""
    bot_url = _bot_url(_settings().rasa_port)
    html = render_template(
        "widget/demo.html",
        widget_src=f"{request.host_url}widget.js",
        bot_url=bot_url,
    )
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = _demo_policy(bot_url)
    return response


def _bot_url(rasa_port: int) -> str:
    """The Rasa server as this page's visitor reaches it: the host they asked for, Rasa's port."""
    host = urlsplit(request.host_url).hostname or "localhost"
    if ":" in host:  # an IPv6 address goes back into brackets
        host = f"[{host}]"
    return f"{request.scheme}://{host}:{rasa_port}"


def _demo_policy(bot_url: str) -> str:
    """A strict Content-Security-Policy: the demo shows the widget needs no inline code."""
    socket_url = "ws" + bot_url.removeprefix("http")
    return "; ".join(
        (
            "default-src 'self'",
            f"connect-src 'self' {bot_url} {socket_url}",
            "img-src 'self' data:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )
