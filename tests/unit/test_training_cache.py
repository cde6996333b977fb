"""A model is retrained only when its data, domain or configuration changed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.training import TRAINING_INPUTS, fingerprint

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in TRAINING_INPUTS:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name)
        else:
            shutil.copy(source, tmp_path / name)
    return tmp_path


def test_the_same_inputs_give_the_same_fingerprint(project: Path) -> None:
    assert fingerprint(project) == fingerprint(project) == fingerprint(ROOT)


@pytest.mark.parametrize("changed", ["config.yml", "domain.yml", "data/rules.yml"])
def test_any_changed_input_changes_the_fingerprint(project: Path, changed: str) -> None:
    before = fingerprint(project)
    with (project / changed).open("a") as file:
        file.write("\n# edited\n")
    assert fingerprint(project) != before


def test_a_new_training_file_changes_the_fingerprint(project: Path) -> None:
    before = fingerprint(project)
    (project / "data" / "extra.yml").write_text('version: "3.1"\n')
    assert fingerprint(project) != before
