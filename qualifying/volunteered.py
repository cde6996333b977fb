"""Answers a visitor gives before they are asked: "I'm Dana, VP Sales at Acme, about 50k a year".

The NLU model marks the words that may answer another question (an entity). Those words are
taken only when the parser understands them and they make sense beside the rest of the
message; a wrong guess would stop the bot from ever asking that question.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from qualifying import answers
from qualifying.authority import Authority, parse_authority
from qualifying.company import employer_named_in
from qualifying.need import names_offering_clearly
from qualifying.rules import Rules
from qualifying.spelling import is_everyday_word
from qualifying.text import words
from qualifying.wordlists import word_list

# Slots whose parsers read a whole sentence well: the whole message is read first, because
# the model often marks only part of the answer ("own" in "I own a small bakery").
READ_WHOLE_MESSAGE: Final = frozenset({"need", "authority", "person_name"})

# An amount with how often it is paid: "500/month", "$2k a year", "30k this year".
_PRICED_PERIOD: Final = (
    r"(?:[$€£¥₹]\s*)?\d[\d,.]*\s*(?:k|m|grand|thousand|million)?\s*"
    r"(?:usd|eur|gbp|dollars?|euros?|pounds?|bucks)?\s*"
    r"(?:/|\bper\b|\ba\b|\ban\b|\bevery\b|\bthis\b|\bfor\s+th[ei]s?\b)\s*"
    r"(?:months?|mo|mth|years?|yr|annum|quarter|week|wk)\b"
)
_MONEY_WORDS: Final = (
    r"[$€£¥₹]|\b(?:usd|eur|gbp|cad|aud|dollars?|euros?|pounds?|bucks|grand|budget\w*|spend\w*"
    r"|afford|invest\w*|allocat\w*|have|got)\b"
    # A figure paid per period is money even in a terse note: "500/month", "2k a year".
    rf"|{_PRICED_PERIOD}"
)
# An amount of money right before other words: "50k ", "$2,000 ", "30 thousand euros ".
_AMOUNT: Final = (
    r"\d[\d,.]*\s*(?:k|m|grand|thousand|million)?\s*"
    r"(?:usd|eur|gbp|dollars?|euros?|pounds?|bucks)?\s*"
)
# One or two capitalised words: "Dana" in "I'm Dana, VP Sales at Acme".
_CAPITALISED_NAME: Final = r"(?P<name>(?-i:[A-Z][\w'\-]+)(?:\s+(?-i:[A-Z][\w'\-]+))?)\b"
# "from" counts only after the visitor's own name ("I'm Dana, from Northwind", "Ollie from
# Kestrel here"): "Greetings from Lisbon" and "exporters from Surat" name places.
_EMPLOYMENT: Final = (
    r"\b(?:work(?:ing)?\s+(?:at|for|with)|(?:i'?m|i\s+am|we'?re|we\s+are)\s+(?:at|with)"
    r"|team\b[^.,;]*\bat"
    r"|(?:i'?m|i\s+am|this\s+is|my\s+name\s+is|name's)\s+[^\W\d_]+(?:\s+[^\W\d_]+)?\s*,?\s+from"
    r"|^(?:hi|hello|hey)?[\s,!]*[^\W\d_]+\s+from\s+[^.,;!?]+\s+here)\b"
)
# A need said as one: "we need ...", "I'm looking for ...", "we'd like ...".
_STATES_NEED: Final = re.compile(
    r"\b(?:(?:i|we)(?:'re|'m|\s+are|\s+am)?\s+(?:really\s+|just\s+|urgently\s+)?"
    r"(?:need|want|looking\s+for|after|searching\s+for|in\s+the\s+market\s+for)"
    r"|(?:i|we)(?:'d|\s+would)\s+(?:like|love)|(?:and|also|so)\s+need|in\s+need\s+of|looking\s+for)\b",
    re.IGNORECASE,
)
# Words that name a thing to buy, in a need that matches no offering.
_A_PRODUCT: Final = re.compile(
    r"\b(?:software|system|tool|platform|app|solution|program|service|package|database)s?\b",
    re.IGNORECASE,
)
# A time said as when to buy: "in 3 months", "by June", "next quarter", "ASAP", "6 weeks to ...".
_LOOKS_AHEAD: Final = re.compile(
    r"\b(?:within|by|before|until|next|asap|urgently|immediately|right\s+away)\b"
    r"|\bin\s+(?:about\s+|around\s+|roughly\s+)?(?:\d|an?\b|one|two|three|four|five|six|nine|twelve"
    r"|eighteen|a\s+few|a\s+couple)"
    r"|\b(?:weeks?|months?|quarters?|years?)\s+(?:left\s+)?to\s+[a-z]+",
    re.IGNORECASE,
)
_SPEAKS_OF_SELF: Final = re.compile(r"\b(?:i|i'm|i'd|i'll|im|me|my|myself)\b", re.IGNORECASE)
# Up to three words right before marked words, in the same clause.
_WORDS_BEFORE: Final = r"(?:[^\W\d_][\w']*\s+){1,3}"
# A sentence without a subject that says what the speaker is doing: "hey, writing an article".
_DOING_WITHOUT_SUBJECT: Final = re.compile(
    r"^\W*(?:(?:hi|hey|hello|morning)\b\W*)?(?:just\s+|only\s+|currently\s+)?[a-z]+ing\b",
    re.IGNORECASE,
)
_SELF_INTRODUCTION: Final = r"\b(?:i'?m|i am|my name is|my name's|name's|this is|call me)\s*,?\s*"
# After a name, words that show it is the speaker's: "Ollie from Kestrel here", "Dana here".
_NAME_THEN_ROLE: Final = r"\s*(?:,|\s)\s*(?:here\b|from\s|at\s|speaking\b)"


def volunteered_answer(
    slot: str, said: str, message: str, known: Mapping[str, Any], rules: Rules
) -> answers.Fields | None:
    """The normalised answer to `slot` that the visitor gave unasked, or None.

    Args:
        slot: the question the words may answer.
        said: the words the NLU model marked for it (or the whole message).
        message: the visitor's whole message.
        known: the conversation's slots (other answers already given).
        rules: the scoring rules (offerings, free-mail domains).
    """
    readings = []
    for text in _readings(slot, said, message):
        understood = answers.understand(slot, text, rules)
        if isinstance(understood, dict) and _plausible(
            slot, understood, said, message, known, rules, whole_message=text == message
        ):
            readings.append(understood)
    if slot == "budget" and len(readings) == 2 and _same_amount(*readings):
        # "about 50k" was marked, but "about 50k this year" says how often: keep the period.
        return max(readings, key=lambda reading: reading["budget_period"] != "one_off")
    return readings[0] if readings else None


def _same_amount(first: answers.Fields, second: answers.Fields) -> bool:
    return all(first.get(k) == second.get(k) for k in ("budget_min", "budget_max"))


def unmarked_answer(slot: str, message: str, known: Mapping[str, Any], rules: Rules) -> str | None:
    """Words of a message that answer `slot` although the NLU model marked nothing for it.

    Only what is clear without the model counts: a need naming an offering, a job title or a
    decision ("I own a small bakery"), a company after a job title ("CEO of Copperline"), an
    amount said as money ("we have roughly 30k a year", not "we send 10k emails a month").
    """
    if slot == "company":
        return employer_named_in(message) if _speaks_of_employer(message, rules) else None
    if slot == "person_name":
        introduced = re.search(_SELF_INTRODUCTION + _CAPITALISED_NAME, message, re.IGNORECASE)
        name = introduced.group("name") if introduced else None
        return name if name and volunteered_answer(slot, name, message, known, rules) else None
    if slot == "timeline":
        return _unmarked_timeline(message, known, rules)
    if slot == "budget" and not re.search(_MONEY_WORDS, message, re.IGNORECASE):
        return None
    if slot in ("need", "authority", "budget") and volunteered_answer(
        slot, message, message, known, rules
    ):
        return message
    return None


def _unmarked_timeline(message: str, known: Mapping[str, Any], rules: Rules) -> str | None:
    """The words of a message that say when, without its money ("500/month" is no date), and
    only when they look ahead to a purchase ("three months to get it live", "next month"), not
    at the business ("our team grew this year")."""
    without_money = re.sub(_PRICED_PERIOD, " ", message, flags=re.IGNORECASE)
    if not _LOOKS_AHEAD.search(without_money):
        return None
    understood = volunteered_answer("timeline", without_money, message, known, rules)
    return without_money if understood else None


def _readings(slot: str, said: str, message: str) -> list[str]:
    """The texts to read for a slot, in order: the marked words, the whole message, or both."""
    if said == message:
        return [said]
    if slot == "timeline":
        # The model may leave out the words that make it a time to buy: "not [for 18 months]".
        before = re.search(_WORDS_BEFORE + re.escape(said), message, re.IGNORECASE)
        return [said, before.group()] if before else [said]
    if slot in READ_WHOLE_MESSAGE:
        return [message, said]
    if slot == "budget" and re.search(_MONEY_WORDS, message, re.IGNORECASE):
        return [said, message]  # the model may mark "it" in "30k per year for it"
    if slot == "budget" and re.search(_AMOUNT + r"\s*" + re.escape(said), message, re.IGNORECASE):
        return [said, message]
    return [said]


def _speaks_of_employer(message: str, rules: Rules) -> bool:
    """True for "I work at ...", "I'm from ..." or a job title ("CEO of ..."), not "kind of BI"."""
    if re.search(_EMPLOYMENT, message, re.IGNORECASE):
        return True
    role = answers.understand("authority", message, rules)
    return isinstance(role, dict) and bool(role.get("job_title"))


def _plausible(
    slot: str,
    answer: answers.Fields,
    said: str,
    message: str,
    known: Mapping[str, Any],
    rules: Rules,
    whole_message: bool,
) -> bool:
    if slot == "need":
        return _plausible_need(answer, said, message, rules, whole_message)
    if slot == "timeline" and not whole_message:
        # "50k this year" is a yearly budget, not a purchase date.
        return not re.search(_AMOUNT + re.escape(said), message, re.IGNORECASE)
    if slot == "authority" and not whole_message and answer.get("job_title"):
        # "the owner handles money": a title the whole sentence gives to someone else.
        whole = parse_authority(message)
        return isinstance(whole, Authority) and bool(whole.job_title)
    if slot == "authority" and not answer.get("job_title"):
        # A sentence about the team ("our support team drowns in email") is no role; what the
        # visitor says they do ("I'm comparing options for my boss", or with no subject at all:
        # "writing an article on help desks") is, when the whole message says it.
        stated = parse_authority(message)
        return (
            isinstance(stated, Authority)
            and stated.stated
            and bool(_SPEAKS_OF_SELF.search(message) or _DOING_WITHOUT_SUBJECT.search(message))
        )
    if slot == "company":
        # Unasked, a company counts only beside "I work at" or a job title, and never when it
        # is a tool, a language or a month the visitor mentions ("do you integrate with Jira?").
        company = str(answer.get("company") or "")
        introduced = re.search(_SELF_INTRODUCTION + re.escape(said), message, re.IGNORECASE)
        return (
            not introduced
            and _speaks_of_employer(message, rules)
            and not set(words(company)) & word_list("not_companies")
            # One everyday word ("Agency founder here", "Looking for…") is how the sentence
            # starts, not a company's name.
            and not (len(words(company)) == 1 and is_everyday_word(company))
            and not _same(company, known.get("person_name"))
        )
    if slot == "person_name":
        # Unasked, a name counts only where the visitor introduces themselves with it.
        name = str(answer.get("person_name") or "")
        if set(words(name)) & word_list("greetings"):
            return False
        introduced = re.search(
            _SELF_INTRODUCTION + re.escape(name), message, re.IGNORECASE
        ) or re.search(re.escape(name) + _NAME_THEN_ROLE, message, re.IGNORECASE)
        return bool(introduced) and not _same(name, known.get("company"))
    return True


def _plausible_need(
    answer: answers.Fields, said: str, message: str, rules: Rules, whole_message: bool
) -> bool:
    """True when a need read unasked is one the visitor stated, not a misread.

    Said as a need ("we need ...", "looking for ..."), the need is taken as the answer would
    be; otherwise only a need naming an offering clearly counts, and a job title's words
    ("marketing manager", "sales lead") name no need.
    """
    stated = _STATES_NEED.search(message)
    if stated and not whole_message and answer.get("need_category") == "other":
        # "need candidate tracking software": the model marked a thing the visitor wants.
        return bool(_A_PRODUCT.search(said))
    if answer.get("need_category") == "other":
        return False
    if stated:
        return True
    text = str(answer.get("need") or said)
    role = parse_authority(message)
    if isinstance(role, Authority) and role.job_title:
        text = re.sub(re.escape(role.job_title), " ", text, flags=re.IGNORECASE)
    return names_offering_clearly(text, rules.offerings, rules.offering_examples)


def _same(value: Any, other_slot_value: Any) -> bool:
    """True when a value equals another slot's answer (its normalised value or its words)."""
    if not value or not other_slot_value:
        return False
    others = other_slot_value.values() if isinstance(other_slot_value, dict) else [other_slot_value]
    return any(str(value).strip().lower() == str(o).strip().lower() for o in others if o)
