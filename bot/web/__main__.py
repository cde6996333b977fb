"""`python -m bot.web`: the web process, served by waitress on `LEADBOT_WEB_PORT`."""

from __future__ import annotations

import logging

from waitress import serve

from bot import settings
from bot.web import create_app

# Enough for a page of widget assets per visitor and, later, the review app's requests.
THREADS = 8


def main() -> None:
    """Serves the web application on every interface until the process is stopped."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    config = settings.load()
    serve(create_app(config), listen=f"*:{config.web_port}", threads=THREADS, ident="leadbot")


if __name__ == "__main__":
    main()
