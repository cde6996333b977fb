"""`python -m bot.crm_sync`: the CRM sync worker, as the launcher starts it."""

from __future__ import annotations

import argparse
import sys

from bot import settings
from bot.crm_sync.command import main

if __name__ == "__main__":
    sys.exit(main(argparse.Namespace(sync_command="run"), settings.load().database_url))
