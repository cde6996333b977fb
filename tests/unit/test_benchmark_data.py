"""The held-out benchmark data: sizes, names, well-formed rows, no sentence shared with training.

The benchmark is only honest while the model never saw its sentences, so the last test reads the
training data under ``data/`` and fails on any holdout utterance that also appears there.
"""

from __future__ import annotations

import json
import re
import subprocess
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
HOLDOUT_FILE = PROJECT_ROOT / "tests" / "benchmark_data" / "nlu_holdout.yml"
NORMALISATION_FILE = PROJECT_ROOT / "tests" / "benchmark_data" / "normalisation.yml"
TRAINING_DIR = PROJECT_ROOT / "data"
EVAL_DIR = PROJECT_ROOT / "tests" / "eval"
RULES_FILE = PROJECT_ROOT / "qualification_rules.yml"
RASA_PYTHON = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"

INTENTS = frozenset(
    {
        "greet",
        "goodbye",
        "thank",
        "affirm",
        "deny",
        "inform",
        "decline",
        "ask_price",
        "ask_product",
        "ask_bot",
        "ask_who",
        "ask_why",
        "request_human",
        "out_of_scope",
    }
)
ENTITIES = frozenset({"budget", "timeline", "authority", "need", "person_name", "company", "email"})
DECLINED = "declined"
SLOT_FIELDS = {
    "budget": frozenset({"budget_min", "budget_max", "budget_currency", "budget_period"}),
    "timeline": frozenset({"timeline_months"}),
    "authority": frozenset({"authority"}),
    "need": frozenset({"need_category"}),
}
BUDGET_PERIODS = frozenset({"one_off", "monthly", "yearly"})
AUTHORITIES = frozenset({"decision_maker", "influencer", "researcher"})
NEED_CATEGORIES = frozenset(
    {"crm", "marketing_automation", "customer_support", "analytics", "other"}
)
# Rasa marks an entity as [span](name), [span](name:value) or [span]{"entity": ...}.
ENTITY_MARKUP = re.compile(r"\[(?P<span>[^\]]*)\](?:\((?P<name>[^)]*)\)|\{(?P<attrs>[^}]*)\})")
# Punctuation, emoji and invisible joiners do not make a sentence new.
IGNORED_CATEGORIES = ("P", "So", "Sk", "Cf", "Mn")


def _example_texts(document: Any) -> list[tuple[str, str]]:
    """(intent, annotated example) pairs of a Rasa NLU YAML document; other sections are skipped."""
    if not isinstance(document, dict):
        return []
    pairs: list[tuple[str, str]] = []
    for block in document.get("nlu") or []:
        if not isinstance(block, dict) or "intent" not in block:
            continue
        examples = block.get("examples") or ""
        if isinstance(examples, str):
            texts = [
                line.strip()[2:] for line in examples.splitlines() if line.strip().startswith("- ")
            ]
        else:
            texts = [str(item["text"]) for item in examples]
        pairs.extend((str(block["intent"]), text) for text in texts)
    return pairs


def _plain_text(annotated: str) -> str:
    """The example as the visitor typed it: entity markup replaced by its span."""
    return ENTITY_MARKUP.sub(lambda match: match.group("span"), annotated)


def _sentence_key(annotated: str) -> str:
    """Case-, whitespace- and punctuation-insensitive form used to spot one sentence in two sets."""
    text = unicodedata.normalize("NFKC", _plain_text(annotated)).casefold()
    kept = "".join(
        char for char in text if not unicodedata.category(char).startswith(IGNORED_CATEGORIES)
    )
    # An emoji-only message ("👍") would otherwise collapse to nothing and match every other one.
    return " ".join(kept.split()) or "".join(text.split())


def _load_holdout() -> list[tuple[str, str]]:
    return _example_texts(yaml.safe_load(HOLDOUT_FILE.read_text(encoding="utf-8")))


def _load_normalisation_rows() -> list[dict[str, Any]]:
    rows = yaml.safe_load(NORMALISATION_FILE.read_text(encoding="utf-8"))
    assert isinstance(rows, list), "normalisation.yml must be a YAML list of rows"
    return rows


def _load_training_examples() -> list[str]:
    examples: list[str] = []
    for path in sorted([*TRAINING_DIR.rglob("*.yml"), *TRAINING_DIR.rglob("*.yaml")]):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            examples.extend(text for _, text in _example_texts(document))
    return examples


HOLDOUT = _load_holdout()
NORMALISATION_ROWS = _load_normalisation_rows()


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def test_holdout_has_at_least_330_utterances() -> None:
    assert len(HOLDOUT) >= 330


@pytest.mark.parametrize(
    "intent, minimum, maximum",
    [("inform", 120, 160)] + [(intent, 12, 25) for intent in sorted(INTENTS - {"inform"})],
)
def test_holdout_intent_sizes(intent: str, minimum: int, maximum: int) -> None:
    count = Counter(name for name, _ in HOLDOUT)[intent]
    assert minimum <= count <= maximum


def test_holdout_uses_only_contract_intents() -> None:
    assert {intent for intent, _ in HOLDOUT} <= INTENTS


def test_holdout_entities_are_contract_names_with_clean_spans() -> None:
    for _, text in HOLDOUT:
        for match in ENTITY_MARKUP.finditer(text):
            span, name = match.group("span"), match.group("name")
            assert name in ENTITIES, text
            assert span and span == span.strip(), text
        assert not re.search(r"[\[\]]", _plain_text(text)), f"stray bracket in: {text}"


@pytest.mark.parametrize("entity", sorted(ENTITIES))
def test_holdout_annotates_every_entity(entity: str) -> None:
    names = Counter(
        match.group("name") for _, text in HOLDOUT for match in ENTITY_MARKUP.finditer(text)
    )
    assert names[entity] >= 10


def test_holdout_has_many_multi_entity_messages() -> None:
    multi = [text for _, text in HOLDOUT if len(ENTITY_MARKUP.findall(text)) >= 2]
    assert len(multi) >= 40


def test_holdout_has_no_repeated_sentence() -> None:
    repeated = Counter(_sentence_key(text) for _, text in HOLDOUT)
    assert [key for key, count in repeated.items() if count > 1] == []


@pytest.mark.skipif(not RASA_PYTHON.exists(), reason="the Rasa environment is not installed")
def test_rasa_reads_the_holdout_as_we_do() -> None:
    script = (
        "import json, sys\n"
        "from rasa.shared.nlu.training_data.loading import load_data\n"
        "data = load_data(sys.argv[1])\n"
        "print(json.dumps([[m.get('intent'), sorted(e['entity'] for e in m.get('entities') or [])]"
        " for m in data.training_examples]))\n"
    )
    loaded = subprocess.run(
        [str(RASA_PYTHON), "-c", script, str(HOLDOUT_FILE)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    rasa_view = Counter(
        (intent, tuple(entities)) for intent, entities in json.loads(loaded.stdout.splitlines()[-1])
    )
    our_view = Counter(
        (intent, tuple(sorted(m.group("name") for m in ENTITY_MARKUP.finditer(text))))
        for intent, text in HOLDOUT
    )
    assert rasa_view == our_view


@pytest.mark.parametrize(
    "slot, minimum",
    [("budget", 70), ("timeline", 60), ("authority", 45), ("need", 45)],
)
def test_normalisation_slot_sizes(slot: str, minimum: int) -> None:
    assert Counter(row["slot"] for row in NORMALISATION_ROWS)[slot] >= minimum


def test_normalisation_has_at_least_220_rows() -> None:
    assert len(NORMALISATION_ROWS) >= 220


@pytest.mark.parametrize("row", NORMALISATION_ROWS, ids=lambda row: f"{row['slot']}:{row['said']}")
def test_normalisation_row_is_well_formed(row: dict[str, Any]) -> None:
    assert set(row) == {"slot", "said", "expect"}
    assert row["slot"] in SLOT_FIELDS
    assert isinstance(row["said"], str) and row["said"].strip()
    expect = row["expect"]
    if expect == DECLINED:
        return
    assert isinstance(expect, dict) and set(expect) == SLOT_FIELDS[row["slot"]]
    if row["slot"] == "budget":
        known_currencies = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))["currency_rates"]
        assert _is_number(expect["budget_min"]) and _is_number(expect["budget_max"])
        assert 0 < expect["budget_min"] <= expect["budget_max"]
        assert expect["budget_currency"] is None or expect["budget_currency"] in known_currencies
        assert expect["budget_period"] in BUDGET_PERIODS
    elif row["slot"] == "timeline":
        assert _is_number(expect["timeline_months"]) and expect["timeline_months"] >= 0
    elif row["slot"] == "authority":
        assert expect["authority"] in AUTHORITIES
    else:
        assert expect["need_category"] in NEED_CATEGORIES


@pytest.mark.parametrize(
    "field, expected",
    [
        ("budget_currency", {"USD", "EUR", "GBP", "CAD", "AUD", "INR", "JPY", None}),
        ("budget_period", set(BUDGET_PERIODS)),
        ("authority", set(AUTHORITIES)),
        ("need_category", set(NEED_CATEGORIES)),
    ],
)
def test_normalisation_covers_every_value(field: str, expected: set[str | None]) -> None:
    seen = {
        row["expect"][field]
        for row in NORMALISATION_ROWS
        if isinstance(row["expect"], dict) and field in row["expect"]
    }
    assert expected <= seen


@pytest.mark.parametrize("slot", sorted(SLOT_FIELDS))
def test_normalisation_has_declines_and_no_repeats(slot: str) -> None:
    rows = [row for row in NORMALISATION_ROWS if row["slot"] == slot]
    assert any(row["expect"] == DECLINED for row in rows)
    repeated = Counter(_sentence_key(row["said"]) for row in rows)
    assert [said for said, count in repeated.items() if count > 1] == []


@pytest.mark.parametrize(
    "said, expected",
    [
        ("Hi, I'm [Dana](person_name)!", "hi im dana"),
        ('[5k]{"entity": "budget"}  a   MONTH.', "5k a month"),
        ("thanks 🙏", "thanks"),
        ("👍", "👍"),
    ],
)
def test_sentence_key_ignores_case_spacing_punctuation_and_markup(said: str, expected: str) -> None:
    assert _sentence_key(said) == expected


def test_no_holdout_sentence_is_in_the_training_data() -> None:
    training = {_sentence_key(text) for text in _load_training_examples()}
    assert training, f"no NLU training examples found under {TRAINING_DIR}"
    shared = sorted(text for _, text in HOLDOUT if _sentence_key(text) in training)
    assert shared == []


def _independent_sentences() -> list[str]:
    """What the independent evaluation's visitors say: openings, answers, off-path questions."""
    personas = yaml.safe_load((EVAL_DIR / "personas.yml").read_text(encoding="utf-8"))
    said = [str(p["opening"]) for p in personas if p.get("opening")]
    for persona in personas:
        said += [str(answer) for answer in (persona.get("answers") or {}).values() if answer]
    said += yaml.safe_load((EVAL_DIR / "offpath_questions.yml").read_text(encoding="utf-8"))
    return said


def test_no_sentence_of_the_independent_evaluation_is_in_the_training_data() -> None:
    # Short stock phrases ("yes please", "in 3 months") are said by everybody and may be shared;
    # a sentence of five words or more shared with the training data would be a leak.
    training = {_sentence_key(text) for text in _load_training_examples()}
    shared = sorted(
        text
        for text in _independent_sentences()
        if len(text.split()) >= 5 and _sentence_key(text) in training
    )
    assert shared == []
