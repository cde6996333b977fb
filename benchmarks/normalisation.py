"""How well the parsers normalise free-form answers: accuracy per slot on a held-out table.

Each row of tests/benchmark_data/normalisation.yml names a slot, what the visitor said and
the lead fields the contract makes of it (or ``declined``). A row counts as correct when every
expected field matches: budgets exactly, timelines within max(0.35, 15 %) of a month.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from benchmarks.report import Section, Target
from bot.settings import PROJECT_ROOT
from qualifying.answers import understand
from qualifying.declines import Declined
from qualifying.money import Budget, parse_budget
from qualifying.rules import load_rules

TABLE: Final = PROJECT_ROOT / "tests" / "benchmark_data" / "normalisation.yml"
# Written by someone who read only the contract, never the parsers or the training data.
INDEPENDENT_TABLE: Final = PROJECT_ROOT / "tests" / "eval" / "normalisation.yml"
RULES: Final = PROJECT_ROOT / "qualification_rules.yml"
GOAL: Final = 0.99
# The table's word for a refusal; a parser that reads nothing at all is shown apart from it.
DECLINED_WORD: Final = "declined"
NOTHING: Final = "nothing understood"

Fields = Mapping[str, Any]
Reading = Fields | str  # lead fields, DECLINED_WORD or NOTHING


@dataclass(frozen=True)
class Row:
    """One line of the table: what a visitor said for a slot and what it must become."""

    slot: str
    said: str
    expect: Reading


@dataclass(frozen=True)
class Verdict:
    """One row read by the parsers, and whether the reading holds."""

    row: Row
    got: Reading
    correct: bool


def load_table(path: Path = TABLE) -> list[Row]:
    """The rows of a normalisation table, in file order."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [Row(slot=item["slot"], said=str(item["said"]), expect=item["expect"]) for item in raw]


def readers() -> dict[str, Callable[[str], Reading]]:
    """Slot -> a function reading a visitor's answer into lead fields, as the actions do."""
    rules = load_rules(RULES)

    def reader(slot: str) -> Callable[[str], Reading]:
        def read(said: str) -> Reading:
            found = understand(slot, said, rules)
            if not isinstance(found, dict):
                return _absent(found)
            fields = {name: value for name, value in found.items() if name != "said"}
            if slot == "budget":
                # The table names the currency the visitor said; the lead gets the base one.
                named = parse_budget(said)
                fields["budget_currency"] = named.currency if isinstance(named, Budget) else None
            return fields

        return read

    return {slot: reader(slot) for slot in ("budget", "timeline", "authority", "need")}


def judge(rows: list[Row]) -> list[Verdict]:
    """Read every row with its slot's parser and compare with what the row expects."""
    read = readers()
    verdicts = []
    for row in rows:
        got = read[row.slot](row.said)
        verdicts.append(Verdict(row=row, got=got, correct=_matches(row.expect, got)))
    return verdicts


def run(size: str, workdir: Path) -> Section:
    """The normalisation section; pure Python and fast, so smoke reads every row too."""
    verdicts = judge([*load_table(TABLE), *load_table(INDEPENDENT_TABLE)])
    per_slot = _accuracy_per_slot(verdicts)
    overall = sum(v.correct for v in verdicts) / len(verdicts)
    misses = [v for v in verdicts if not v.correct]
    target = Target(
        name="normalisation accuracy",
        goal=f">= {GOAL:.0%}",
        measured=f"{overall:.1%} ({len(verdicts) - len(misses)} of {len(verdicts)})",
        met=overall >= GOAL,
        why_not=None if overall >= GOAL else _why_not(misses),
    )
    return Section(
        title="Normalisation",
        markdown=_markdown(per_slot, overall, len(verdicts), misses),
        targets=[target],
        data={
            "rows": len(verdicts),
            "overall": overall,
            "per_slot": {slot: {"rows": n, "accuracy": acc} for slot, (n, acc) in per_slot.items()},
            "misses": [
                {"slot": v.row.slot, "said": v.row.said, "expected": v.row.expect, "got": v.got}
                for v in misses
            ],
        },
    )


def _absent(found: Declined | None) -> str:
    return DECLINED_WORD if isinstance(found, Declined) else NOTHING


def _matches(expect: Reading, got: Reading) -> bool:
    if isinstance(expect, str) or isinstance(got, str):
        return expect == got
    return all(_field_matches(name, want, got.get(name)) for name, want in expect.items())


def _field_matches(name: str, want: Any, got: Any) -> bool:
    if name == "timeline_months" and want is not None and got is not None:
        # A timeline is an estimate: the contract scores it within max(0.35, 15 %) of a month.
        return abs(float(got) - float(want)) <= max(0.35, 0.15 * float(want))
    if isinstance(want, (int, float)) and isinstance(got, (int, float)):
        return float(want) == float(got)
    return bool(want == got)


def _accuracy_per_slot(verdicts: list[Verdict]) -> dict[str, tuple[int, float]]:
    slots = dict.fromkeys(v.row.slot for v in verdicts)
    result = {}
    for slot in slots:
        mine = [v for v in verdicts if v.row.slot == slot]
        result[slot] = (len(mine), sum(v.correct for v in mine) / len(mine))
    return result


def _why_not(misses: list[Verdict]) -> str:
    slots = sorted({v.row.slot for v in misses})
    return f"{len(misses)} answers misread ({', '.join(slots)}); see the table of misses"


def _shown(reading: Reading) -> str:
    if isinstance(reading, str):
        return reading
    return ", ".join(f"{name}={value}" for name, value in reading.items())


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _markdown(
    per_slot: dict[str, tuple[int, float]], overall: float, rows: int, misses: list[Verdict]
) -> str:
    lines = [
        "Every row of `tests/benchmark_data/normalisation.yml` (written apart from the parser "
        "unit tests) read by the same pure parsers the actions call. A row is right when every "
        "expected field matches: budgets exactly, timelines within max(0.35, 15 %) of a month, "
        "`declined` when the parser recognises a refusal.",
        "",
        "| slot | rows | accuracy |",
        "| --- | ---: | ---: |",
    ]
    lines += [f"| {slot} | {n} | {acc:.1%} |" for slot, (n, acc) in per_slot.items()]
    lines += [f"| **all** | **{rows}** | **{overall:.1%}** |", ""]
    if not misses:
        lines.append("No misses.")
        return "\n".join(lines)
    lines += ["Misses:", "", "| slot | said | expected | got |", "| --- | --- | --- | --- |"]
    lines += [
        f"| {v.row.slot} | {_cell(v.row.said)} | {_cell(_shown(v.row.expect))} "
        f"| {_cell(_shown(v.got))} |"
        for v in misses
    ]
    return "\n".join(lines)
