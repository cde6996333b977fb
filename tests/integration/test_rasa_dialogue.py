"""Rasa's own checks: the training data is consistent, and the dialogue test stories pass."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bot import settings, training

ROOT = settings.PROJECT_ROOT


def _rasa(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(settings.load().rasa_executable), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_training_data_is_valid() -> None:
    result = _rasa(
        "data",
        "validate",
        "--data",
        "data",
        "--domain",
        "domain.yml",
        "--config",
        "config.yml",
        "--fail-on-warnings",
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]


def test_dialogue_stories_predict_every_action(tmp_path: Path) -> None:
    model = training.ensure_model(settings.load())
    result = _rasa(
        "test",
        "core",
        "--model",
        str(model),
        "--stories",
        "tests/stories",
        "--fail-on-prediction-errors",
        "--out",
        str(tmp_path),
    )
    failed = tmp_path / "failed_test_stories.yml"
    details = failed.read_text() if failed.exists() else ""
    assert result.returncode == 0, details[-5000:] + result.stdout[-3000:] + result.stderr[-3000:]
