"""Corrections of an earlier answer, read from the words alone (qualifying/revisions.py)."""

from __future__ import annotations

import pytest

from qualifying.revisions import Correction, correction


@pytest.mark.parametrize(
    "said, expected",
    [
        ("sorry, make that 80k not 50k", Correction("80k", takes_back=True)),
        ("scratch that, my manager decides", Correction("my manager decides", takes_back=True)),
        ("sorry, I meant I'm the founder", Correction("I'm the founder", takes_back=True)),
        ("actually make it 30k", Correction("30k", takes_back=True)),
        ("sorry, that was wrong", Correction("", takes_back=True)),
        (
            "actually we'd need it by March, not next year",
            Correction("we'd need it by March", takes_back=False),
        ),
        ("actually it's more like 6 months", Correction("it's more like 6 months", False)),
        ("not 50k but 80k", Correction("80k", takes_back=False)),
        ("80k instead of 50k", Correction("80k", takes_back=False)),
        ("a help desk rather than a CRM", Correction("a help desk", takes_back=False)),
        ("my manager decides, not me", Correction("my manager decides", takes_back=False)),
        # A first answer is no correction: "not" inside it is part of the answer.
        ("about 50k a year", None),
        ("I'm not the one who decides", None),
        ("we need it next month", None),
        ("I'd rather not say", None),
    ],
)
def test_a_correction_is_read_without_its_marks_and_the_answer_it_takes_back(
    said: str, expected: Correction | None
) -> None:
    assert correction(said) == expected
