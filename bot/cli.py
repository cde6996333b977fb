"""The `leadbot` command: run the bot, train it, migrate the store, read leads."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from bot import launcher, settings, training
from bot.crm_sync import command as crm_sync
from crm_bridge import accounts, leads
from crm_bridge.migrate import upgrade
from crm_bridge.models import ROLES
from crm_bridge.store import make_engine, make_session_factory

EXIT_NOT_FOUND = 1
EXIT_STORE_ERROR = 2
EXIT_USAGE = 3
NEW_USER_PASSWORD_VARIABLE = "LEADBOT_NEW_USER_PASSWORD"

LIST_COLUMNS = (
    "id",
    "temperature",
    "stage",
    "score",
    "need_category",
    "company",
    "source",
    "handoff",
    "updated_at",
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="leadbot", description="Qualify sales leads in a chat.")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("run", help="train if needed, then start the Rasa and action servers")
    train = commands.add_parser("train", help="train a model unless one matches the current data")
    train.add_argument("--force", action="store_true", help="train even when a model matches")

    db = commands.add_parser("db", help="the CRM store").add_subparsers(
        dest="db_command", required=True
    )
    db.add_parser("upgrade", help="create or migrate the store's tables")

    lead_commands = commands.add_parser("leads", help="read qualified leads").add_subparsers(
        dest="leads_command", required=True
    )
    show = lead_commands.add_parser("show", help="the lead of one conversation")
    show.add_argument("--sender-id", required=True, help="the conversation's sender id")
    show.add_argument("--json", action="store_true", help="print JSON")
    listing = lead_commands.add_parser("list", help="every lead, newest first")
    listing.add_argument("--json", action="store_true", help="print JSON")

    user_commands = commands.add_parser(
        "users", help="accounts of the sales reps' review app"
    ).add_subparsers(dest="users_command", required=True)
    add_user = user_commands.add_parser(
        "add",
        help="create an account; the password is asked for (or read from "
        f"{NEW_USER_PASSWORD_VARIABLE})",
    )
    add_user.add_argument("--email", required=True, help="the rep's email, their login")
    add_user.add_argument("--role", choices=ROLES, default="rep", help="rep (default) or admin")
    user_commands.add_parser("list", help="every account with its role")
    crm_sync.add_parser(commands)
    return parser


def _new_password() -> str | None:
    """The new account's password: from the environment for scripts, else asked twice."""
    from_environment = os.environ.get(NEW_USER_PASSWORD_VARIABLE)
    if from_environment:
        return from_environment
    if not sys.stdin.isatty():
        print(
            f"leadbot: no terminal to ask for a password: set {NEW_USER_PASSWORD_VARIABLE}",
            file=sys.stderr,
        )
        return None
    password = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != password:
        print("leadbot: the passwords differ", file=sys.stderr)
        return None
    return password


def _users(args: argparse.Namespace, url: str) -> int:
    upgrade(url)
    sessions = make_session_factory(make_engine(url))
    if args.users_command == "list":
        with sessions() as session:
            for user in accounts.list_users(session):
                state = "" if user.active else "  (disabled)"
                print(f"{user.email}  {user.role}{state}")
        return 0
    password = _new_password()
    if password is None:
        return EXIT_USAGE
    try:
        with sessions.begin() as session:
            user = accounts.add_user(session, args.email, password, args.role)
            print(f"leadbot: {user.role} {user.email} can now log in at /review")
    except accounts.AccountError as error:
        print(f"leadbot: {error}", file=sys.stderr)
        return EXIT_USAGE
    return 0


def _records(args: argparse.Namespace, url: str) -> list[dict[str, Any]] | None:
    with make_session_factory(make_engine(url)).begin() as session:
        if args.leads_command == "show":
            record = leads.record_for_sender(session, args.sender_id)
            return None if record is None else [record]
        return [leads.lead_record(lead) for lead in leads.list_leads(session)]


def _print_table(records: list[dict[str, Any]]) -> None:
    rows = [[("" if r.get(c) is None else str(r.get(c))) for c in LIST_COLUMNS] for r in records]
    widths = [max([len(c), *(len(row[i]) for row in rows)]) for i, c in enumerate(LIST_COLUMNS)]
    for row in [list(LIST_COLUMNS), *rows]:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


def _leads(args: argparse.Namespace, url: str) -> int:
    upgrade(url)  # a store nobody wrote to yet reads as empty, not as an error
    records = _records(args, url)
    if records is None:
        print(f"leadbot: no lead for sender id {args.sender_id!r}", file=sys.stderr)
        return EXIT_NOT_FOUND
    if args.json:
        print(json.dumps(records[0] if args.leads_command == "show" else records, indent=2))
    elif args.leads_command == "show":
        for name, value in records[0].items():
            print(f"{name:>18}: {json.dumps(value) if isinstance(value, (list, dict)) else value}")
    else:
        _print_table(records)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one `leadbot` command and returns its exit code."""
    args = _parser().parse_args(argv)
    config = settings.load()
    try:
        if args.command == "run":
            return launcher.run(config)
        if args.command == "train":
            print(training.ensure_model(config, force=args.force))
            return 0
        if args.command == "db":
            upgrade(config.database_url)
            print("leadbot: the store is up to date")
            return 0
        if args.command == "users":
            return _users(args, config.database_url)
        if args.command == "sync":
            return crm_sync.main(args, config.database_url)
        return _leads(args, config.database_url)
    except SQLAlchemyError as error:
        print(
            f"leadbot: the store at {config.database_url.split('@')[-1]} failed: "
            f"{error.__class__.__name__}: {getattr(error, 'orig', None) or error}",
            file=sys.stderr,
        )
        return EXIT_STORE_ERROR


if __name__ == "__main__":
    sys.exit(main())
