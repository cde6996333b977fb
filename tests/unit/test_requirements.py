"""What `make run` installs is what the bot imports: every package our runtime code imports is
named in requirements/app.txt or model.txt, or pulled in by one that is. (The test tools of
dev.txt are installed beside them in .venv, so a missing runtime requirement would go unseen by
every other test and break only a newcomer's `make run`.)"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_PACKAGES = ("actions", "bot", "crm_bridge", "qualifying")
# Loaded by the Rasa server from .venv-rasa (requirements/rasa.txt), never by .venv's processes.
RASA_SIDE = ROOT / "bot" / "channels"


def _imported_top_levels() -> set[str]:
    names: set[str] = set()
    for package in RUNTIME_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if RASA_SIDE in path.parents:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - set(RUNTIME_PACKAGES)


def _declared(name: str) -> list[Requirement]:
    text = (ROOT / "requirements" / name).read_text(encoding="utf-8")
    lines = [line.split("#")[0].strip() for line in text.splitlines()]
    return [Requirement(line) for line in lines if line]


def _installed_with(requirements: list[Requirement]) -> set[str]:
    """The distributions these requirements install, with everything they depend on."""
    seen: set[str] = set()
    pending = [(requirement, requirement.extras) for requirement in requirements]
    while pending:
        requirement, extras = pending.pop()
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        for dependency in map(Requirement, metadata.requires(requirement.name) or []):
            wanted = not dependency.marker or any(
                dependency.marker.evaluate({"extra": extra}) for extra in (*extras, "")
            )
            if wanted:
                pending.append((dependency, dependency.extras))
    return seen


def _providers() -> dict[str, set[str]]:
    """Each importable top-level name, with the distributions whose files provide it (read from
    their RECORD: Python 3.10's packages_distributions() knows only top_level.txt)."""
    providers: dict[str, set[str]] = defaultdict(set)
    for distribution in metadata.distributions():
        record = distribution.read_text("RECORD") or ""
        tops = {line.split(",")[0].split("/")[0] for line in record.splitlines()}
        for top in tops:
            if not top.startswith("..") and not top.endswith((".dist-info", ".pth")):
                providers[top.split(".")[0]].add(canonicalize_name(distribution.metadata["Name"]))
    return providers


def test_every_package_the_runtime_imports_is_a_runtime_requirement() -> None:
    providers = _providers()
    # model.txt is installed without its dependencies (`--no-deps`, see the file).
    installed = _installed_with(_declared("app.txt")) | {
        canonicalize_name(requirement.name) for requirement in _declared("model.txt")
    }

    missing = {
        module: providers.get(module, {"(not installed)"})
        for module in _imported_top_levels()
        if not providers.get(module, set()) & installed
    }

    assert missing == {}, "imported but not in requirements/app.txt or model.txt"
