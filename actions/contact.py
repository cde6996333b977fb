"""Reading a visitor's contact details: email, name, company, and consent to be contacted."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

from email_validator import EmailNotValidError, validate_email

from actions.declines import DECLINED, Declined, is_decline
from actions.departments import DEPARTMENTS
from actions.need import is_gibberish, is_question, words
from actions.numbers import prepare

# A name or company answer longer than this is a message about something else.
_MAX_FIELD_CHARS: Final = 120
_MAX_NAME_WORDS: Final = 5
_MAX_COMPANY_WORDS: Final = 8
_MAX_CONSENT_CHARS: Final = 300

# An address starts where a word starts, so a long run of text is scanned once, not per letter.
_EMAIL: Final = re.compile(
    r"(?<![\w.!#$%&*+/=?^{|}~-])[\w!#$%&*+/=?^{|}~-][\w.!#$%&'*+/=?^`{|}~-]*@[\w-]+(?:\.[\w-]+)+"
)

# A short "no" to a contact question, in any of its everyday forms.
_REFUSAL: Final = re.compile(
    r"(?:no|nope|nah|nay|no\s+thanks?|no\s+thank\s+you|no\s+way|not\s+now|never|"
    r"(?:i'?d\s+)?rather\s+not|(?:i'?d\s+)?prefer\s+not(?:\s+to)?|not\s+(?:giving|sharing|telling)|"
    r"no\s+(?:email|name|company)|none|anonymous|anon|skip|pass|-+)"
    r"(?:\s+(?:thanks|thank\s+you|sorry|mate|please))*"
)
_ACKNOWLEDGEMENT: Final = re.compile(
    r"^(?:(?:hi|hello|hey|hiya|sure|ok|okay|yes|yeah|yep|of\s+course|certainly|absolutely|"
    r"well|so|um|uh)\b[\s,.!:-]*)+",
    re.IGNORECASE,
)

_NAME_INTRODUCTION: Final = re.compile(
    r"^(?:my\s+(?:full\s+|first\s+)?name\s+is|my\s+name's|(?:the\s+)?name\s+is|(?:the\s+)?name's|"
    r"name\s*:|i'm|i\s+am|im|it's|its|it\s+is|this\s+is|(?:you\s+can\s+|just\s+|please\s+)?call\s+me|"
    r"they\s+call\s+me|people\s+call\s+me|i\s+go\s+by)\s+",
    re.IGNORECASE,
)
# Where a name ends inside a sentence: "Dana here", "Leo from Acme", "Jo, VP of Sales".
_AFTER_NAME: Final = re.compile(
    r"[,;!?()\[\]\"]|\s[-\u2013]\s|\s+(?:from|at|with|and|here|but|btw|thanks|thank\s+you|please|"
    r"speaking)\b",
    re.IGNORECASE,
)
_NAME_WORD: Final = re.compile(r"[^\W\d_]+(?:['\u2019.\-][^\W\d_]+)*\.?")
# Lower-case particles inside a name: "van der Berg", "da Silva".
_NAME_PARTICLES: Final = frozenset(
    [
        "van",
        "der",
        "den",
        "de",
        "da",
        "di",
        "del",
        "della",
        "dos",
        "das",
        "du",
        "la",
        "le",
        "von",
        "zu",
        "bin",
        "ibn",
        "al",
        "el",
        "y",
        "st",
    ]
)
_NOT_NAME_WORDS: Final = frozenset(
    [
        "a",
        "an",
        "the",
        "is",
        "are",
        "was",
        "were",
        "be",
        "am",
        "what",
        "who",
        "how",
        "why",
        "where",
        "when",
        "which",
        "whats",
        "what's",
        "to",
        "for",
        "with",
        "this",
        "that",
        "it",
        "i",
        "me",
        "my",
        "you",
        "your",
        "we",
        "our",
        "they",
        "not",
        "no",
        "yes",
        "yeah",
        "ok",
        "okay",
        "sure",
        "hi",
        "hello",
        "hey",
        "thanks",
        "thank",
        "please",
        "name",
        "email",
        "company",
        "weather",
        "today",
        "tomorrow",
        "rather",
        "say",
        "prefer",
        "nothing",
        "none",
        "nobody",
        "anonymous",
        "unknown",
        "idk",
        "dunno",
        "know",
        "do",
        "does",
        "don't",
        "want",
        "need",
        "would",
        "should",
        "could",
        "just",
        "some",
        "any",
        "all",
        "tell",
        "give",
        "secret",
        "private",
        "here",
        "there",
    ]
)

_COMPANY_INTRODUCTION: Final = re.compile(
    r"^(?:i\s+work\s+(?:at|for|with|in)|i'?m\s+(?:at|with|from|working\s+(?:at|for))|"
    r"i\s+am\s+(?:at|with|from|working\s+(?:at|for))|working\s+(?:at|for)|i\s+represent|"
    r"we'?re\s+called|we\s+are\s+called|we'?re|we\s+are|it'?s\s+called|it\s+is\s+called|it'?s|"
    r"it\s+is|(?:the\s+|our\s+|my\s+)?company(?:'s)?(?:\s+name)?\s+is(?:\s+called)?|"
    r"company\s*:|the\s+name\s+is|called|from|at)\s+",
    re.IGNORECASE,
)
_CALLED: Final = re.compile(r"\b(?:called|named)\s+(?=\S)", re.IGNORECASE)
_AFTER_COMPANY: Final = re.compile(
    r"[,;!?()\[\]]|\s[-\u2013]\s|\s+(?:as\s+(?:a|an|the|our|their|its)|where|and\s+(?:i|we)|but|"
    r"which|who|because|since|so|thanks|thank\s+you|(?:based|located|headquartered)\s+in)\b",
    re.IGNORECASE,
)
_COMPANY_ABBREVIATIONS: Final = frozenset(
    [
        "inc.",
        "ltd.",
        "co.",
        "corp.",
        "llc.",
        "plc.",
        "gmbh.",
        "pty.",
        "ag.",
        "bv.",
        "nv.",
        "sa.",
        "srl.",
        "sarl.",
        "lp.",
        "llp.",
    ]
)
_LOWER_IN_COMPANY: Final = frozenset({"and", "of", "the", "for", "de", "und"})
# Words that make an answer a sentence about something, not the name of a company.
_NOT_COMPANY_WORDS: Final = frozenset(
    [
        "i",
        "i'm",
        "im",
        "i've",
        "i'd",
        "we",
        "we're",
        "you",
        "you're",
        "my",
        "your",
        "is",
        "are",
        "am",
        "was",
        "were",
        "don't",
        "dont",
        "doesn't",
        "not",
        "what",
        "why",
        "how",
        "who",
        "where",
        "when",
        "which",
        "do",
        "does",
        "did",
        "can't",
        "work",
        "working",
        "job",
        "yes",
        "no",
        "ok",
        "okay",
        "sure",
        "hi",
        "hello",
        "hey",
        "thanks",
        "please",
        "maybe",
        "our",
        "a",
        "an",
    ]
)
_NO_COMPANY: Final = re.compile(
    r"^(?:none|no|n/?a|nil|nothing|-+|not\s+applicable|no\s+company(?:\s+\w+)?|just\s+me|myself|"
    r"personal|private\s+person|individual)$|\bno\s+name(?:\s+yet)?\b"
    r"|\b(?:self[\s-]?employed|freelanc\w*|student|unemployed|retired|between\s+jobs|sole\s+trader|"
    r"work\s+for\s+myself|on\s+my\s+own|independent\s+(?:consultant|contractor)|"
    r"(?:don't|do\s+not)\s+(?:work\s+(?:for|at|anywhere)|have\s+(?:one|a\s+company|an?\s+employer|a\s+job))|"
    r"not\s+(?:working|employed)|looking\s+for\s+(?:work|a\s+job))\b",
)

# Consent: idioms whose words would mislead a word-by-word reading ("no problem" is a yes).
_AGREEING_IDIOM: Final = re.compile(
    r"\b(?:no\s+problems?|no\s+probs?|no\s+worries|not\s+a\s+problem|why\s+not|"
    r"(?:i\s+)?(?:don'?t|do\s+not)\s+mind|no\s+objections?)\b"
)
_REFUSING_IDIOM: Final = re.compile(
    r"\b(?:(?:of\s+course|absolutely|definitely|certainly|sure|hell)\s+not|"
    r"not\s+(?:ok|okay|fine|happy|comfortable|alright|really|good|cool|sure\s+about\s+that)|"
    r"(?:don'?t|do\s+not|please\s+don'?t)\s+(?:agree|consent|accept|want|contact|call|email|"
    r"store|save|keep|share|sell|message|text|spam))\b"
)
_UNDECIDED: Final = re.compile(
    r"\b(?:not\s+sure|unsure|(?:i\s+)?(?:don'?t|do\s+not)\s+know|dunno|idk|no\s+idea|maybe|"
    r"perhaps|not\s+yet|let\s+me\s+think|depends|later)\b"
)
_AGREEING: Final = re.compile(
    r"\b(?:y|ya|ye+s+|yeah+|yea|yep+|yup+|yah|sure|ok+|okay|okey|k|kk|alright|all\s+right|fine|"
    r"go\s+ahead|go\s+for\s+it|sure\s+thing|of\s+course|absolutely|definitely|certainly|agreed?|accept(?:ed)?|consent|"
    r"sounds\s+good|please\s+do|do\s+it|good|great|perfect|cool|correct|affirmative|"
    r"contact\s+me|reach\s+out|by\s+all\s+means|gladly|happy\s+to|works\s+for\s+me)\b"
    r"|\U0001f44d|\U0001f44c|\u2705|\u2714|\U0001f642|\U0001f60a|\U0001f197"
)
_REFUSING: Final = re.compile(
    r"\b(?:n|no|nope|nah|nay|never|don'?t|do\s+not|not|rather\s+not|decline|refuse|stop|"
    r"unsubscribe|leave\s+me\s+alone)\b|\U0001f44e|\u274c|\U0001f6ab|\u26d4"
)


@dataclass(frozen=True)
class Email:
    """A visitor's email address, and whether it belongs to a business rather than a free-mail."""

    address: str
    is_business: bool


def parse_email(text: str, free_mail_domains: Collection[str]) -> Email | Declined | None:
    """Find the visitor's email address in their answer ("sure, it's Jo.Baker@Gmail.com").

    The syntax is checked with email-validator, without any network look-up.

    Args:
        text: the visitor's answer or an extracted entity.
        free_mail_domains: personal and throwaway domains; their subdomains count too.

    Returns:
        The first valid address, lower-cased, with `is_business` False for a free-mail domain;
        `DECLINED` for "no thanks" or "rather not"; None when there is no valid address.
    """
    said = prepare(text)
    free = {free_domain.lower() for free_domain in free_mail_domains}
    for candidate in _EMAIL.findall(said):
        try:
            checked = validate_email(candidate, check_deliverability=False)
        except EmailNotValidError:
            continue
        domain = checked.domain.lower()
        is_free = any(
            domain == free_domain or domain.endswith("." + free_domain) for free_domain in free
        )
        return Email(address=checked.normalized.lower(), is_business=not is_free)
    return DECLINED if _refuses(said) or is_decline(said) else None


def parse_person_name(text: str) -> str | Declined | None:
    """Read the visitor's name from their answer ("my name is leo" -> "Leo").

    A name typed all in lower (or upper) case is capitalised ("dana whitfield" -> "Dana Whitfield",
    "o'brien" -> "O'Brien", particles such as "van der" kept lower); any other casing is kept.

    Returns:
        The name; `DECLINED` for "no", "rather not say" or "anonymous"; None when the answer is
        not a name (digits, an email, a question, more than five words).
    """
    said = _without_symbols(prepare(text))
    if _refuses(said):
        return DECLINED
    name = _name_in(said)
    if name is not None:
        return name
    return DECLINED if is_decline(said) else None


def parse_company(text: str) -> str | Declined | None:
    """Read the visitor's company from their answer ("I work at Acme Inc." -> "Acme Inc.").

    The company is kept as typed, only capitalised when typed all in lower case
    ("northwind labs" -> "Northwind Labs"); the words around it are dropped.

    Returns:
        The company; `DECLINED` when there is none to give ("none", "n/a", "self-employed",
        "I'm a student") or the visitor will not say; None when the answer is not a company.
    """
    said = _without_symbols(prepare(text))
    if not said:
        return None
    lowered = _lowered(said)
    if _NO_COMPANY.search(lowered) or _refuses(said):
        return DECLINED
    company = _company_in(said)
    # "Private Label Co" names a company even though "private" is a refusal word.
    if is_decline(said) and not (company and _has_proper_noun(company, said)):
        return DECLINED
    return company


def parse_consent(text: str) -> bool | None:
    """Read whether the visitor agrees to be contacted and to have their answers stored.

    Returns:
        True for a yes ("sure", "go ahead", "👍"), False for a no ("no thanks", "don't contact
        me", "I'd rather not say"), None for anything else: a question, "maybe", a mixed answer.
    """
    said = _lowered(prepare(text))
    if not said or len(said) > _MAX_CONSENT_CHARS or is_question(said):
        return None
    agrees = bool(_AGREEING_IDIOM.search(said))
    refuses = bool(_REFUSING_IDIOM.search(said))
    rest = _UNDECIDED.sub(" ", _REFUSING_IDIOM.sub(" ", _AGREEING_IDIOM.sub(" ", said)))
    agrees = agrees or bool(_AGREEING.search(rest))
    refuses = refuses or bool(_REFUSING.search(rest))
    if agrees == refuses:
        return None
    return agrees


def _without_symbols(text: str) -> str:
    """The text without emoji and pictographs, which are never part of a name or company."""
    kept = "".join(
        " " if unicodedata.category(char) in ("So", "Sk", "Cs") else char for char in text
    )
    return " ".join(kept.split())


def _lowered(text: str) -> str:
    return " ".join(text.replace("\u2019", "'").lower().split())


def _refuses(said: str) -> bool:
    """True when the whole answer is a short "no" ("no thanks", "rather not", "anonymous")."""
    core = re.sub(r"[^\w\s'/-]", " ", _lowered(said))
    return bool(_REFUSAL.fullmatch(" ".join(core.split())))


def _name_in(said: str) -> str | None:
    if len(said) > _MAX_FIELD_CHARS or "@" in said or any(char.isdigit() for char in said):
        return None
    if is_question(said):
        return None
    candidate = _ACKNOWLEDGEMENT.sub("", said)
    candidate = _NAME_INTRODUCTION.sub("", candidate, count=1)
    candidate = _AFTER_NAME.split(candidate, maxsplit=1)[0].strip(" .!:")
    name_words = candidate.split()
    if not 1 <= len(name_words) <= _MAX_NAME_WORDS:
        return None
    if not all(_NAME_WORD.fullmatch(word) for word in name_words):
        return None
    if any(word.lower() in _NOT_NAME_WORDS for word in name_words) or is_gibberish(candidate):
        return None
    if candidate.islower() or candidate.isupper():
        return " ".join(_capitalised(word, position) for position, word in enumerate(name_words))
    return candidate


def _capitalised(word: str, position: int) -> str:
    lowered = word.lower()
    if position > 0 and lowered in _NAME_PARTICLES:
        return lowered
    # Every part after a hyphen or apostrophe starts a name too: "Anne-Marie", "O'Brien".
    parts = re.split(r"(['\u2019-])", lowered)
    capitalised = "".join(part[:1].upper() + part[1:] for part in parts)
    if capitalised.startswith("Mc") and len(capitalised) > 3:
        capitalised = "Mc" + capitalised[2].upper() + capitalised[3:]
    return capitalised


def _company_in(said: str) -> str | None:
    if len(said) > _MAX_FIELD_CHARS or "@" in said or is_question(said):
        return None
    candidate = _ACKNOWLEDGEMENT.sub("", said)
    called = _CALLED.search(candidate)
    if called:
        candidate = candidate[called.end() :]
    else:
        candidate = _COMPANY_INTRODUCTION.sub("", candidate, count=1)
    candidate = _AFTER_COMPANY.split(candidate, maxsplit=1)[0].strip(" !:\"'")
    if candidate.endswith(".") and not _ends_with_abbreviation(candidate):
        candidate = candidate.rstrip(".")
    company_words = candidate.split()
    if not 1 <= len(company_words) <= _MAX_COMPANY_WORDS:
        return None
    if not any(char.isalnum() for char in candidate) or is_gibberish(candidate):
        return None
    if any(word in _NOT_COMPANY_WORDS for word in words(candidate)):
        return None
    if not candidate.islower():
        return candidate
    return " ".join(
        word if position > 0 and word in _LOWER_IN_COMPANY else word[:1].upper() + word[1:]
        for position, word in enumerate(company_words)
    )


def _ends_with_abbreviation(candidate: str) -> bool:
    last = candidate.split()[-1].lower()
    return last in _COMPANY_ABBREVIATIONS or "." in last[:-1]


def _has_proper_noun(company: str, said: str) -> bool:
    """True when a capitalised word of the company is not merely the answer's first word."""
    first_word = said.split()[0]
    return any(
        word[:1].isupper() and word != first_word and not word.lower().startswith("i'")
        for word in company.split()
    )


# Words after "at" / "of" that are not the start of a company's name ("Head of Sales").
_NOT_AN_EMPLOYER: Final = DEPARTMENTS | {"the", "my", "our", "a", "an", "i"}
_EMPLOYER: Final = re.compile(
    r"\b(?:at|of|from|with|for)\s+"
    r"(?P<name>[A-Z][\w&'.\-]*(?:\s+(?:&|and|of|[A-Z0-9][\w&'.\-]*))*)"
)
_TRAILING_JOINERS: Final = re.compile(r"(?:\s+(?:&|and|of))+$")


def employer_named_in(text: str) -> str | None:
    """The company that a job title or an introduction names: "CEO of Copperline" -> "Copperline".

    Only a capitalised name after "at", "of", "from", "with" or "for" counts, and not a
    department ("Head of Sales"); None when there is no such name.
    """
    for match in _EMPLOYER.finditer(prepare(text)):
        name = _TRAILING_JOINERS.sub("", match.group("name").rstrip(" .,"))
        if not name or name.split()[0].lower() in _NOT_AN_EMPLOYER:
            continue
        company = parse_company(name)
        if isinstance(company, str):
            return company
    return None
