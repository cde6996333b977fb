"""Reading the visitor's part in the buying decision, and their job title when they say it.

What the visitor says they do wins over the title they hold, checked in this order:

1. "I have no say", "I'm not involved"                        -> researcher
2. "I'm not the decision maker", "it's not my call"            -> influencer
3. "I sign off", "I make the final decision", "it's my call"    -> decision_maker
4. "I'd recommend it to my boss", "my manager decides"          -> influencer
5. the speaker's own job title (see the table below)
6. "I'm on the evaluation team", "part of the buying committee" -> influencer
7. "just researching for a class", "just curious"               -> researcher
8. "rather not say", "don't know"                               -> DECLINED; anything else None.

Job titles and the level they imply (the last word of the title decides, after the
two-word exceptions; modifiers such as "senior", "sales" or "regional" do not change it):

| level          | titles                                                                    |
| -------------- | ------------------------------------------------------------------------- |
| decision_maker | CEO, CTO, CFO, COO, CMO, CIO, chief ... officer, founder, co-founder,     |
|                | owner, proprietor, president, vice president, VP, SVP, EVP, director,     |
|                | head of X, managing director, general manager, partner, chairman, boss    |
| influencer     | manager, team lead (any "X lead"), supervisor, senior X, analyst,         |
|                | engineer, developer, specialist, consultant, coordinator, administrator, |
|                | architect, associate, representative, executive, officer, assistant,      |
|                | advisor, designer, accountant, buyer, product owner, chief of staff       |
| researcher     | student, intern, trainee, researcher, PhD student, professor, teacher     |

A title is the speaker's when they introduce themselves with it ("I'm the CEO", "CEO here",
"as the founder") or answer with it alone; "my boss", "our COO" and "the CEO's" are someone else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray

from qualifying.declines import DECLINED, Declined, is_decline
from qualifying.meaning import embed, similarity
from qualifying.spelling import corrected
from qualifying.text import prepare, words
from qualifying.wordlists import alternation, word_list, word_table

AuthorityLevel = Literal["decision_maker", "influencer", "researcher"]


@dataclass(frozen=True)
class Authority:
    """The visitor's part in the buying decision, and their job title when they said it."""

    level: AuthorityLevel
    job_title: str | None
    # True when the visitor said what they do in the decision ("I'll recommend it to my boss"),
    # not only a title or something about their team: enough to read it from any message.
    stated: bool = field(default=False, compare=False)


_CHIEF_OFFICERS: Final = word_list("chief_officers")
_DEPARTMENTS: Final = word_list("departments")
# Job titles (words/job_titles.yml): single words decide by the title's last word, longer
# titles ("general manager") by their last words.
_JOB_TITLES: Final[dict[str, AuthorityLevel]] = {
    **word_table("job_titles"),
    **dict.fromkeys(_CHIEF_OFFICERS, "decision_maker"),
}
_TITLE_WORDS: Final = {title: level for title, level in _JOB_TITLES.items() if " " not in title}
_BETWEEN: Final = word_list("before_title")
_UPPER_WORDS: Final = word_list("upper_case_words") | _CHIEF_OFFICERS
# Typos are corrected into the words that name titles, fields and parts in a decision.
_SPELLING_VOCABULARY: Final = frozenset(
    word
    for entry in (
        *_JOB_TITLES,
        *word_list("title_modifiers"),
        *_DEPARTMENTS,
        *word_list("authority_words"),
    )
    for word in entry.split()
)

_CORE: Final = "|".join(
    [r"chief\s+(?:[a-z]+\s+){0,2}officer", r"chief\s+of\s+staff", r"chief\s+executive"]
    + [re.escape(title) for title in sorted(_TITLE_WORDS, key=len, reverse=True)]
)
_WORD_AFTER: Final = rf"(?!(?:{alternation(word_list('title_stops'))})\b)[a-z][a-z'&-]*"
_MODIFIER: Final = alternation(word_list("title_modifiers") | _DEPARTMENTS)
_TITLE: Final = re.compile(
    rf"\b(?P<modifiers>(?:(?:{_MODIFIER})\s+){{0,3}})(?P<core>{_CORE})(?P<plural>s)?\b"
    rf"(?P<extension>\s+(?:of|for)\s+(?:the\s+)?{_WORD_AFTER}(?:\s+(?:and\s+|&\s+)?{_WORD_AFTER}){{0,2}}"
    rf"|(?:\s+(?:{alternation(_DEPARTMENTS)})\b){{1,2}})?"
)
_LOWER_WORDS: Final = frozenset({"of", "for", "and", "the", "&"})

_INTRODUCTIONS: Final = frozenset(["i'm", "am", "as", "is", "was", "being", "here"])
# Words before a title that are not the speaker's field ("I'm her manager", "the new manager").
_NOT_A_FIELD: Final = _BETWEEN | frozenset(
    ["i", "we", "you", "they", "he", "she",
     "my", "our", "your", "his", "her", "their", "its", "not", "no", "new", "former", "ex",
     "future", "next", "previous", "old", "to", "for", "with", "and", "or", "of", "at", "in",
     "on", "by", "from", "than", "like", "about"]
)  # fmt: skip
# After a title, words that show it is someone else's: "the CEO's", "the CEO decides".
_SOMEONE_ELSES: Final = re.compile(
    r"'s\b|\s+(?:decides?|approves?|signs?|makes?|has|have|will|would|needs?|wants?|said|says|"
    r"is|are|does|must|should|holds?|owns?)\b"
)

_BOSS: Final = (
    r"(?:(?:my|our|the|his|her|their)\s+(?:\w+\s+)?(?:boss|bosses|manager|managers|supervisor|"
    rf"{alternation(_CHIEF_OFFICERS)}|founders?|owners?|directors?|vp|head|management|leadership|"
    r"board|team\s+lead|lead|higher[\s-]?ups|execs?|executives?|partners?|president|gm|"
    r"committee|council|trustees?|governors?|clients?|customers?|procurement|purchasing|finance|"
    r"chief\s+\w+(?:\s+officer)?)\b"
    # Groups that decide, named without "the": "trustees sign off", "management decides".
    r"|\b(?:trustees|governors|directors|partners|owners|founders|management|leadership|"
    r"procurement|purchasing|finance)\b(?=\s+(?:\w+\s+)?(?:decide|approve|sign|pay|have|make|handle)))"
)
_DECIDES: Final = (
    r"(?:decides?|will\s+decide|(?:'s|is)\s+the\s+decision[\s-]?maker|approves?|will\s+approve|"
    r"signs?\b(?!\s+up)|will\s+sign|pays?\b|makes?\s+the\s+(?:final\s+)?(?:call|decision)|"
    r"(?:has|have)\s+(?:the\s+)?(?:final|last)\s+(?:say|word|call)|calls?\s+the\s+shots|"
    r"(?:holds?|owns?|controls?)\s+the\s+budget)"
)

_NO_PART: Final = re.compile(
    r"\b(?:(?:have|got)\s+no\s+say|no\s+say\s+in|not\s+(?:really\s+)?involved|"
    r"not\s+(?:buying|purchasing)\b)"
)
_NOT_DECIDING: Final = re.compile(
    r"\b(?:not\s+(?:really\s+)?(?:the|a|an)?\s*(?:final\s+|main\s+|only\s+)?decision[\s-]?maker|"
    r"not\s+(?:really\s+)?(?:my|entirely\s+my)\s+(?:call|decision)|not\s+(?:really\s+)?up\s+to\s+me|"
    r"i\s+(?:don't|do\s+not|dont|can't|cannot)\s+(?:\w+\s+)?(?:decide|sign|approve|make\s+the)|"
    r"(?:don't|do\s+not|dont)\s+have\s+(?:the\s+)?(?:final\s+)?(?:say|authority|sign[\s-]?off)|"
    r"(?:someone|somebody)\s+else|no\s+(?:final\s+)?(?:authority|decision[\s-]?making)|"
    r"(?:need|needs|get|require)\s+(?:\w+\s+)?(?:approval|sign[\s-]?off|buy[\s-]?in|"
    r"the\s+go[\s-]?ahead|a\s+green\s+light)\s+from)"
)
# What an owner-operator runs: "I run a small dental practice", "it's my shop".
_BUSINESS: Final = (
    r"company|business|shop|store|firm|agency|startup|practice|clinic|restaurant|bakery|cafe|"
    r"café|studio|salon|hotel|farm|gym|pharmacy|garage|brewery|consultancy|charity|nonprofit|"
    r"school|academy|centre|center|surgery|dealership|venue|bar|pub|nursery|workshop"
)
_DECIDING: Final = re.compile(
    r"\bi(?:'ll|'d|\s+will|\s+would|\s+can|\s+do)?\s+"
    r"(?!(?:help|helping|don't|dont|never|can't|cannot|won't|wouldn't|to|need|needs)\s)(?:\w+\s+)?(?:"
    r"sign(?:s|ed)?[\s-]*of+\b|approve|decide|"
    r"make\s+(?:the|all\s+the|all|our|most)\s+(?:final\s+|buying\s+|purchasing\s+)?(?:decisions?|calls?)|"
    r"make\s+(?:the\s+)?(?:buying\s+|purchasing\s+)?decisions|"
    r"(?:have|hold|get|cast)\s+(?:the\s+)?(?:final|last|deciding|casting)\s+(?:say|word|call|vote)|"
    r"call\s+the\s+shots|(?:own|hold|control|manage)\s+the\s+budget|own\s+(?:the|this|a|an|our|my|it|both|all|two|three|several)\b|"
    rf"run\s+(?:the|this|a|an|our|my)\s+(?:[a-z-]+\s+){{0,2}}?(?:{_BUSINESS}|show|place)\b|"
    r"(?:co-?)?founded)"
    r"|\bi'm\s+(?:\w+\s+){0,2}?(?:final\s+|main\s+|sole\s+|only\s+|ultimate\s+)?decision[\s-]?maker"
    r"|^(?:the\s+)?(?:final\s+|main\s+|sole\s+)?decision[\s-]?maker\b"
    r"|\bi'm\s+the\s+one\s+(?:who\s+)?(?:decid|sign|approv|mak|choos|pick|select|buy)\w*"
    r"|^(?:it's\s+|that's\s+)?(?:all\s+)?mine\b"
    r"|\b(?:budget|decision|call|money|purse|say|vote|approval|sign[\s-]?off)(?:\s+is|'s)\s+(?:all\s+)?mine\b"
    r"|(?<!s)\b(?:own|hold|control)\s+the\s+(?:\w+\s+)?(?:budget|purse\s+strings)\b"
    # Owners deciding together: "my co-founder and I decide", "together with my partner we decide".
    r"|\b(?:my|our)\s+(?:co-?founders?|(?:business\s+)?partners?)\s+and\s+i\s+(?:decide|choose|own|run|sign)"
    r"|\btogether\s+with\s+my\s+(?:co-?founders?|(?:business\s+)?partners?)\s+(?:we\s+)?(?:decide|choose)"
    r"|\bi'm\s+(?:\w+\s+)?in\s+charge\b"
    # The deciding voice in the speaker's group: "I chair the panel and hold the final vote".
    r"|\band\s+(?:have|hold|cast)\s+(?:the\s+)?(?:final|last|deciding|casting)\s+(?:say|word|call|vote)"
    rf"|\b(?:it's|its|it\s+is|that's)\s+(?:all\s+)?my\s+(?:own\s+)?(?:call|decision|money|budget|{_BUSINESS})\b"
    rf"|\bmy\s+own\s+(?:{_BUSINESS})\b"
    r"|\b(?:all\s+)?(?:up|down)\s+to\s+me\b|\bbuck\s+stops\s+with\s+me"
    # Formal ownership of the decision: "the final approval rests with me".
    r"|\b(?:final\s+|ultimate\s+)?(?:say|decision|call|approval|sign[\s-]?off|vote|word)\s+"
    r"(?:is|rests|lies|sits|stays)\s+(?:with\s+me|mine)"
    r"|^(?:it's\s+|that's\s+|that\s+would\s+be\s+)?(?:just\s+|only\s+)?me\b"
    r"|\b(?:so|just|only)\s+(?:it's\s+)?me\b"
)
_ANSWERS_TO_BOSS: Final = re.compile(
    rf"\b(?:recommend|suggest|propos|present|pitch|report|escalat|advis|brief|convinc|persuad|"
    rf"research|evaluat|prepar|compil|gather|shortlist|put\w*\s+together|run\s+(?:it|this)|"
    rf"pass\w*\s+(?:it\s+|this\s+)?(?:on|along|up)?|bring\w*\s+(?:it|this)|tak\w*\s+(?:it|this))\w*"
    rf"(?:\s+\S+){{0,6}}?\s+(?:to|for|with|by|past)\s+{_BOSS}"
    rf"|{_BOSS}(?:'s)?\s+(?:\w+\s+){{0,2}}?{_DECIDES}"
    rf"|{_BOSS}'s\s+(?:final\s+)?(?:call|decision|say)"
    rf"|\bup\s+to\s+{_BOSS}"
    rf"|\b(?:decision|call|say|approval|sign[\s-]?off|vote|word)\s+(?:is|rests|lies|sits|stays)\s+with\s+{_BOSS}"
    rf"|\b(?:need|needs|get|getting|require)\s+(?:\w+\s+)?(?:approval|sign[\s-]?off|buy[\s-]?in|"
    rf"the\s+go[\s-]?ahead|a\s+green\s+light)\s+from"
    rf"|{_BOSS}\s+(?:\w+\s+)?(?:asked|told|wants?|wanted|tasked|needs?)\s+me\s+to"
    rf"|\b(?:go(?:es)?|went)\s+with\s+(?:what\s+i\s+(?:suggest|recommend|say|propose)|my\s+(?:advice|recommendation|suggestion|choice))"
    rf"|\b(?:follows?|listens?\s+to|takes?|trusts?)\s+my\s+(?:advice|recommendations?|suggestions?|input|lead|judgement|judgment)"
    rf"|\bgive\s+(?:my\s+)?(?:input|feedback|opinion|recommendation)"
    rf"|\bi\s+(?:\w+\s+)?influence|\binfluencer\b|\bhave\s+(?:a\s+|some\s+)?(?:say|input|influence|voice)\b"
)
_TAKES_PART: Final = re.compile(
    r"\b(?:evaluat\w*|assess\w*|compar\w*|shortlist\w*|recommend\w*|committee|"
    r"(?:buying|selection|evaluation|procurement)\s+(?:group|team|panel)|"
    r"on\s+the\s+(?:\w+\s+)?team|part\s+of\s+(?:the\s+)?(?:\w+\s+)?(?:team|group|process|decision)|"
    r"involved\s+in|present\w*\s+(?:\w+\s+)?(?:options|findings|shortlist|proposals?)|"
    r"i\s+(?:manage|lead|run)\s+(?:the|a|our|my)\s+(?:\w+\s+)?team|requirements|"
    r"(?:joint|shared|group|team)\s+decision|decide\s+(?:together|jointly|as\s+a\s+team)|"
    r"we\s+(?:all\s+)?decide|advis\w*|end[\s-]?users?|(?:who|i)(?:'ll|\s+will)\s+(?:be\s+)?us(?:e|ing)\b|"
    r"(?:it|tech|marketing|sales|support|ops|finance|admin)\s+(?:guy|person|gal|team|department)|"
    r"help\w*\s+(?:to\s+|them\s+|us\s+)?(?:decide|choose|pick|select|evaluate))"
)
# Saying what they are doing instead of buying: wins over the title they hold.
_STUDYING: Final = re.compile(
    r"\b(?:out\s+of\s+(?:interest|curiosity)|just\s+curious|personal\s+interest|for\s+fun|"
    r"blog\s*(?:post)?|article|thesis|dissertation|homework|assignment|lesson|lecture|"
    r"teach(?:ing)?\s+(?:a|an|my|the|business|about)|(?:a|my)\s+(?:class|course)\b|"
    r"writing\s+(?:a|an)\s+(?:\w+\s+)?(?:post|piece|report|review|comparison|paper))"
)
_RESEARCHING: Final = re.compile(
    r"\b(?:research\w*|curious|curiosity|browsing|looking\s+around|just\s+looking|learning|"
    r"exploring|gathering\s+(?:info\w*|data|ideas)|reading\s+up|student|intern|internship|"
    r"class|(?<!of\s)course|school|university|college|homework|thesis|dissertation|assignment|"
    r"academic|for\s+fun|hobby)\b"
)

# An answer means a level when it is this alike to one of its examples, and clearly more
# alike than to any other level's.
_CLEARLY_MEANT: Final = 0.45
# Read from meaning alone, a level is taken unasked only when this alike to an example: "I'm
# doing a market survey for a report" is, "I head customer support" is too vague to say.
_MEANT_UNASKED: Final = 0.55
_MARGIN: Final = 0.05
_LEVELS: Final[tuple[AuthorityLevel, ...]] = ("decision_maker", "influencer", "researcher")
_PLACES_OF_STUDY: Final = frozenset({"school", "class", "course", "university", "college"})
_SPEAKS_OF_DECISION: Final = re.compile(
    r"\b(?:decid\w*|decision\w*|approv\w*|sign\w*|buy\w*|purchas\w*|budget|call|say|choos\w*|"
    r"pick\w*|recommend\w*|suggest\w*|advi[cs]\w*|input|influence|research\w*|evaluat\w*|"
    r"compar\w*|options|shortlist\w*|propos\w*|present\w*|boss|manager|board|committee|"
    r"in\s+charge|up\s+to|mine|me)\b"
)
_ONE_OF: Final = re.compile(r"\bone\s+of\s+(?:the|our|two|three|several)\b")
_I_AM: Final = re.compile(r"\bi\s*'?\s*m\b|\bi\s+am\b|\biam\b")
_I_WOULD: Final = re.compile(r"\bi\s*'?\s*d\b(?=\s+(?:recommend|suggest|say|present|pitch|need))")


def parse_authority(text: str) -> Authority | Declined | None:
    """Read the visitor's part in the buying decision from their answer.

    Args:
        text: the visitor's answer ("I'm the VP of Sales, I sign off on this") or an entity.

    Returns:
        An `Authority` with the level and the speaker's own job title (None when not said);
        `DECLINED` for "rather not say" or "don't know"; None when the text says nothing about
        the decision ("what's the weather?", "blue").
    """
    said = _normalise(text)
    if not said:
        return None
    job_title = _speakers_title(said)
    title_level = _level_of(job_title) if job_title else None
    level: AuthorityLevel | None
    stated = True
    if _NO_PART.search(said):
        level = "researcher"
    elif _NOT_DECIDING.search(said):
        level = "influencer"
    elif _DECIDING.search(said):
        level = "decision_maker"
    elif _ANSWERS_TO_BOSS.search(said):
        level = "influencer"
    elif _STUDYING.search(said):
        level = "researcher"
    elif job_title and _ONE_OF.search(said):
        level = _level_of(job_title)  # "one of the directors": a director all the same
    elif job_title and (meant := _level_meant(said, job_title)) is not None:
        level = meant[0]  # what they say they do wins over the title they hold
    elif title_level is not None:
        level, stated = title_level, False
    elif _TAKES_PART.search(said):
        level, stated = "influencer", False
    elif researching := _RESEARCHING.search(said):
        # "school" or "course" alone may be the business itself, not what the visitor does.
        level, stated = "researcher", researching.group() not in _PLACES_OF_STUDY
    elif is_decline(said):
        return DECLINED
    elif (meant := _level_meant(said, None)) is not None:
        level, stated = meant[0], meant[1] >= _MEANT_UNASKED
    else:
        return None
    title = _format_title(job_title) if job_title else None
    return Authority(level=level, job_title=title, stated=stated)


def _level_meant(said: str, job_title: str | None) -> tuple[AuthorityLevel, float] | None:
    """The level whose example statements the answer means most alike, when it clearly does,
    and how alike (cosine) it is to that level's closest example.

    An answer that is only a job title is left to the title: "sales manager" says a role,
    not what the visitor does in the decision.
    """
    statement = said.replace(job_title, " ") if job_title else said
    if job_title and not _SPEAKS_OF_DECISION.search(statement):
        return None  # "partner at a consultancy": the rest says where, not what they do
    if len([word for word in words(statement) if word not in word_list("no_content")]) < 2:
        return None
    unrelated = float(similarity(said, _example_vectors("unrelated")).max())
    closeness = sorted(
        (float(similarity(said, _example_vectors(level)).max()), level) for level in _LEVELS
    )
    (second, _), (best, level) = closeness[-2], closeness[-1]
    if best < _CLEARLY_MEANT or best - second < _MARGIN or best <= unrelated:
        return None
    return level, best


@cache
def _example_vectors(meaning: str) -> NDArray[np.float32]:
    return embed(word_table("authority_examples")[meaning])


def _normalise(text: str) -> str:
    lowered = " ".join(prepare(text).lower().split())
    lowered = _I_WOULD.sub("i'd", _I_AM.sub("i'm", lowered))
    return corrected(lowered, _SPELLING_VOCABULARY)


def _speakers_title(said: str) -> str | None:
    """The first job title in the text that the speaker holds, as written (lower-case)."""
    for match in _TITLE.finditer(said):
        core = match.group("core")
        has_modifier = bool(match.group("modifiers"))
        has_extension = bool(match.group("extension"))
        # "lead" and "head" are titles only as "team lead" or "head of support".
        if core == "lead" and not has_modifier:
            continue
        if core == "head" and not (has_modifier or has_extension):
            continue
        if _SOMEONE_ELSES.match(said, match.end()):
            continue
        # "pet owners call all day": people in plural are the speaker only as "one of the owners".
        if match.group("plural") and not _ONE_OF.search(said[: match.start()]):
            continue
        before = said[: match.start()]
        field = None
        if not _introduces_speaker(before):
            field = _field_before(before)
            if field is None:
                continue
        return (
            " ".join(
                part
                for part in (field, match.group("modifiers"), core, match.group("extension"))
                if part and part.strip()
            )
            .replace("  ", " ")
            .strip()
        )
    return None


def _field_before(before: str) -> str | None:
    """The one word of the speaker's own field before a title: "practice" in "I'm the practice
    manager", "nurse" in "nurse manager here"; None unless the words before it introduce the
    speaker."""
    words = before.split()
    if not words or not words[-1].isalpha() or words[-1] in _NOT_A_FIELD:
        return None
    word = words[-1]
    return word if _introduces_speaker(before.rstrip()[: -len(word)]) else None


def _introduces_speaker(before: str) -> bool:
    """True when the words before a title make it the speaker's own."""
    if not before.strip() or before.rstrip()[-1] in ",.;:-(!":
        return True
    previous = [word.strip(",.;:!()") for word in before.split()]
    # "I'm the CEO's assistant": a possessive before the title belongs to the title.
    while previous and (previous[-1] in _BETWEEN or previous[-1].endswith("'s")):
        previous.pop()
    if not previous:
        return True
    return previous[-1] in _INTRODUCTIONS


def _level_of(title: str) -> AuthorityLevel:
    title_words = title.split()
    for size in (3, 2):
        tail = " ".join(title_words[-size:])
        if tail in _JOB_TITLES:
            return _JOB_TITLES[tail]
    match = _TITLE.search(title)
    core = match.group("core") if match else title_words[-1]
    if core.startswith("chief"):
        return _JOB_TITLES.get(core, "decision_maker")
    return _TITLE_WORDS[core.split()[-1]]


def _format_title(title: str) -> str:
    formatted = []
    for position, word in enumerate(title.split()):
        if word in _UPPER_WORDS:
            formatted.append(word.upper())
        elif word in _LOWER_WORDS and position > 0:
            formatted.append(word)
        else:
            formatted.append(word[:1].upper() + word[1:])
    return " ".join(formatted)
