"""Our channels load in the Rasa server's environment from credentials.yml, importing nothing of
ours outside `bot.channels`, and keep Rasa's channel names (so their URLs)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from bot import settings

ROOT = Path(__file__).resolve().parents[2]
OURS = ("bot", "actions", "crm_bridge", "qualifying", "benchmarks", "tests")

LOAD_CHANNELS = """
import json, sys, yaml
from rasa.core.run import _create_single_channel
channels = yaml.safe_load(open("credentials.yml"))
loaded = {
    key: _create_single_channel(key, value).name()
    for key, value in channels.items() if key.startswith("bot.channels.")
}
ours = sorted(
    m for m in sys.modules
    if m.split(".")[0] in %r and not m.startswith("bot.channels") and m != "bot"
)
print(json.dumps({"names": loaded, "ours": ours}))
"""


@pytest.mark.rasa
def test_the_channels_load_as_rasa_loads_them_and_import_nothing_else_of_ours() -> None:
    rasa_python = settings.load().rasa_executable.parent / "python"
    result = subprocess.run(
        [str(rasa_python), "-W", "ignore", "-c", LOAD_CHANNELS % (OURS,)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["ours"] == []
    assert loaded["names"]["bot.channels.rest.RestChannel"] == "rest"
    assert loaded["names"]["bot.channels.socketio.WebsiteChannel"] == "socketio"


def test_the_bot_package_imports_nothing() -> None:
    source = (ROOT / "bot" / "__init__.py").read_text(encoding="utf-8")
    assert "import" not in source
