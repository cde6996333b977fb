"""Reading whether a visitor agrees to be contacted and to have their answers stored."""

from __future__ import annotations

import re
from typing import Final

from qualifying.text import is_question, lowered, prepare

_MAX_CONSENT_CHARS: Final = 300

# Consent: idioms whose words would mislead a word-by-word reading ("no problem" is a yes).
_AGREEING_IDIOM: Final = re.compile(
    r"\b(?:no\s+problems?|no\s+probs?|no\s+worries|not\s+a\s+problem|why\s+not|"
    r"(?:i\s+)?(?:don'?t|do\s+not)\s+mind|no\s+objections?)\b"
)
_REFUSING_IDIOM: Final = re.compile(
    r"\b(?:(?:of\s+course|absolutely|definitely|certainly|sure|hell)\s+not|"
    r"not\s+(?:ok|okay|fine|happy|comfortable|alright|really|good|cool|sure\s+about\s+that)|"
    r"(?:don'?t|do\s+not|please\s+don'?t)\s+(?:agree|consent|accept|want|contact|call|email|"
    r"store|save|keep|share|sell|message|text|spam)|"
    r"(?:can'?t|cannot|won'?t|will\s+not|wouldn'?t)\s+(?:\w+\s+)?(?:agree|consent|accept)|"
    r"(?:rather|prefer(?:red)?)\s+(?:you|that\s+you|if\s+you)\s+(?:didn'?t|did\s+not|don'?t|do\s+not|not|wouldn'?t))\b"
)
_UNDECIDED: Final = re.compile(
    r"\b(?:not\s+sure|unsure|(?:i\s+)?(?:don'?t|do\s+not)\s+know|dunno|idk|no\s+idea|maybe|"
    r"perhaps|not\s+yet|let\s+me\s+think|depends|later)\b"
)
_AGREEING: Final = re.compile(
    r"\b(?:y|ya|ye+s+|yeah+|yea|yep+|yup+|yah|sure|ok+|okay|okey|k|kk|alright|all\s+right|fine|"
    r"go\s+ahead|go\s+for\s+it|go\s+on|sure\s+thing|of\s+course|absolutely|definitely|certainly|agreed?|accept(?:ed)?|consent|"
    r"sounds\s+good|please\s+do|do\s+it|good|great|perfect|cool|correct|affirmative|"
    r"contact\s+me|reach\s+out|by\s+all\s+means|gladly|happy\s+to|works\s+for\s+me)\b"
    r"|\U0001f44d|\U0001f44c|\u2705|\u2714|\U0001f642|\U0001f60a|\U0001f197"
)
_REFUSING: Final = re.compile(
    r"\b(?:n|no|nope|nah|nay|never|don'?t|do\s+not|not|rather\s+not|decline|refuse|stop|"
    r"unsubscribe|leave\s+me\s+alone)\b|\U0001f44e|\u274c|\U0001f6ab|\u26d4"
)


def parse_consent(text: str) -> bool | None:
    """Read whether the visitor agrees to be contacted and to have their answers stored.

    Returns:
        True for a yes ("sure", "go ahead", "👍"), False for a no ("no thanks", "don't contact
        me", "I'd rather not say"), None for anything else: a question, "maybe", a mixed answer.
    """
    said = lowered(prepare(text))
    if not said or len(said) > _MAX_CONSENT_CHARS or is_question(said):
        return None
    agrees = bool(_AGREEING_IDIOM.search(said))
    refuses = bool(_REFUSING_IDIOM.search(said))
    if agrees != refuses:
        # An idiom says it whole: "I'd rather you didn't contact me" is a no.
        return agrees
    rest = _UNDECIDED.sub(" ", _REFUSING_IDIOM.sub(" ", _AGREEING_IDIOM.sub(" ", said)))
    agrees = agrees or bool(_AGREEING.search(rest))
    refuses = refuses or bool(_REFUSING.search(rest))
    if agrees == refuses:
        return None
    return agrees
