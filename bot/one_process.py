"""One of the bot's processes in the foreground, for containers (see deploy/):

    python -m bot.one_process rasa|actions|web

`leadbot run` starts every process on one machine and restarts the one that stops; in a
container the orchestrator (Docker Compose, Kubernetes) does both, one process per container.
This runs the process with the command line and environment `leadbot run` would give it, from
the same LEADBOT_* settings, by replacing itself with it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot import launcher, settings, training

# Made at start when unset, which holds only when one launcher starts every process: in
# separate containers each would make its own, and the Rasa server could not reach the action
# server, nor the web process the Rasa server.
SHARED_SECRETS = {
    "rasa": ("LEADBOT_ACTION_SECRET", "LEADBOT_API_TOKEN"),
    "actions": ("LEADBOT_ACTION_SECRET",),
    "web": ("LEADBOT_API_TOKEN", "LEADBOT_SECRET_KEY"),
}


def process(name: str, config: settings.Settings) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of process `name` ("rasa", "actions" or "web").

    The Rasa server's model is trained first when none matches the data (an image normally
    holds one); its endpoints file is written under var/ as `leadbot run` writes it.
    """
    if name == "web":
        return launcher.web_command(config), launcher.web_environment(config)
    model = training.ensure_model(config) if name == "rasa" else training.model_path(config)
    actions, rasa = launcher.server_commands(config, model)
    if name == "rasa":
        return rasa, launcher.rasa_environment(config)
    return actions, launcher.action_environment(config)


def main(argv: Sequence[str] | None = None) -> int:
    """Replaces this process with the one asked for; returns 2 when a shared secret is unset."""
    parser = argparse.ArgumentParser(prog="python -m bot.one_process", description=__doc__)
    parser.add_argument("name", choices=sorted(SHARED_SECRETS), help="the process to run")
    args = parser.parse_args(argv)
    config = settings.load()  # reads .env into the environment too
    missing = [name for name in SHARED_SECRETS[args.name] if not os.environ.get(name)]
    if missing:
        print(f"leadbot: set {', '.join(missing)} for every container", file=sys.stderr)
        return 2
    command, environment = process(args.name, config)
    os.chdir(settings.PROJECT_ROOT)  # as the launcher starts it
    os.execve(Path(command[0]), command, environment)


if __name__ == "__main__":
    raise SystemExit(main())
