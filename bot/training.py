"""Training the Rasa model only when its data, domain or configuration changed."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from bot.settings import NO_TELEMETRY, PROJECT_ROOT, Settings

# What a trained model is made of; a change to any of these needs a new model.
TRAINING_INPUTS = ("config.yml", "domain.yml", "data")


def fingerprint(root: Path = PROJECT_ROOT) -> str:
    """A short hash of every training input's path and content."""
    digest = hashlib.sha256()
    for name in TRAINING_INPUTS:
        path = root / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(root)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def model_path(settings: Settings) -> Path:
    """Where the model for the current training inputs is, or will be, stored."""
    return settings.models_dir / f"leadbot-{fingerprint()}.tar.gz"


def ensure_model(settings: Settings, force: bool = False) -> Path:
    """The model matching the current inputs, trained first when there is none (or when forced)."""
    model = model_path(settings)
    if model.exists() and not force:
        return model
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            str(settings.rasa_executable),
            "train",
            # `make test` validates the data and domain strictly (test_rasa_dialogue.py); doing
            # it again here would add seconds to every training.
            "--skip-validation",
            "--config",
            "config.yml",
            "--domain",
            "domain.yml",
            "--data",
            "data",
            "--out",
            str(settings.models_dir),
            "--fixed-model-name",
            model.name.removesuffix(".tar.gz"),
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, **NO_TELEMETRY},
        check=True,
    )
    return model
