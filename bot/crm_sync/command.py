"""`leadbot sync`: run the CRM sync worker, show where deliveries stand, replay dead letters."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from typing import Any

from bot.crm_sync import config
from bot.crm_sync.worker import SyncWorker
from crm_bridge import outbox
from crm_bridge.migrate import upgrade
from crm_bridge.store import make_engine, make_read_session_factory, make_session_factory

EXIT_USAGE = 3
STATUSES = ("pending", "sending", "sent", "failed")
# Every destination, configured or not: deliveries to one configured before stay visible
# and replayable.
KNOWN_DESTINATIONS = config.DESTINATIONS


def add_parser(commands: Any) -> None:
    """Add `sync` and its subcommands to the `leadbot` command's subparsers."""
    sync = commands.add_parser(
        "sync", help="deliver leads to the configured CRMs (HubSpot, Salesforce, a webhook)"
    )
    actions = sync.add_subparsers(dest="sync_command")
    actions.add_parser("run", help="deliver until Ctrl-C (the default)")
    status = actions.add_parser("status", help="deliveries per destination and dead letters")
    status.add_argument("--json", action="store_true", help="print JSON")
    replay = actions.add_parser("replay", help="send the dead letters again")
    replay.add_argument("--destination", choices=KNOWN_DESTINATIONS, help="only this destination's")


def main(args: argparse.Namespace, database_url: str) -> int:
    """Run one `leadbot sync` subcommand and return its exit code."""
    upgrade(database_url)
    if args.sync_command == "status":
        return _status(database_url, args.json)
    if args.sync_command == "replay":
        return _replay(database_url, args.destination)
    try:
        sync_config = config.load()
    except config.ConfigError as error:
        print(f"leadbot: {error}", file=sys.stderr)
        return EXIT_USAGE
    return _run(database_url, sync_config)


def _run(database_url: str, sync_config: config.SyncConfig) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if not sync_config.destinations:
        print(
            "leadbot: no CRM is configured (LEADBOT_HUBSPOT_TOKEN, LEADBOT_SALESFORCE_*, "
            "LEADBOT_CRM_WEBHOOK_*): nothing to deliver; lead changes wait in the outbox",
            file=sys.stderr,
        )
    engine = make_engine(database_url)
    worker = SyncWorker(
        make_session_factory(engine),
        sync_config.destinations,
        sync_config.policy,
        sync_config.timeout_s,
    )

    def stop(_signum: int, _frame: object) -> None:
        worker.stop(timeout=0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    names = ", ".join(d.name for d in sync_config.destinations) or "none"
    print(f"leadbot: CRM sync running, delivering to {names}", flush=True)
    try:
        worker.run()
    finally:
        engine.dispose()
    return 0


def _status(database_url: str, as_json: bool) -> int:
    engine = make_engine(database_url)
    try:
        with make_read_session_factory(engine)() as session:
            counts = outbox.counts(session, KNOWN_DESTINATIONS)
            pending_changes = outbox.counts(session, [outbox.LEAD_CHANGED]).get(
                (outbox.LEAD_CHANGED, "pending"), 0
            )
            dead = [
                {
                    # Ids, counts and error codes only: never who the lead is.
                    "message_id": message.id,
                    "destination": message.kind,
                    "lead_id": message.lead_id,
                    "attempts": message.attempts,
                    "error": message.last_error,
                    "failed_at": message.next_attempt_at.isoformat(),
                }
                for message in outbox.dead_letters(session, KNOWN_DESTINATIONS)
            ]
    finally:
        engine.dispose()
    destinations = {
        name: {status: counts.get((name, status), 0) for status in STATUSES}
        for name in KNOWN_DESTINATIONS
    }
    if as_json:
        report = {
            "destinations": destinations,
            "changes_not_fanned_out": pending_changes,
            "dead_letters": dead,
        }
        print(json.dumps(report, indent=2))
        return 0
    print(f"{'destination':<12}" + "".join(f"{status:>9}" for status in STATUSES))
    for name, by_status in destinations.items():
        print(f"{name:<12}" + "".join(f"{by_status[status]:>9}" for status in STATUSES))
    print(f"lead changes not yet handed to a destination: {pending_changes}")
    if dead:
        print("dead letters (replay with: leadbot sync replay):")
        for letter in dead:
            print(
                f"  #{letter['message_id']} {letter['destination']} lead {letter['lead_id']} "
                f"after {letter['attempts']} attempts: {letter['error']}"
            )
    return 0


def _replay(database_url: str, destination: str | None) -> int:
    kinds = [destination] if destination else list(KNOWN_DESTINATIONS)
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine).begin() as session:
            replayed = outbox.replay(session, kinds)
    finally:
        engine.dispose()
    print(f"leadbot: {replayed} dead letter(s) will be sent again")
    return 0
