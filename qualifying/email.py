"""Reading a visitor's email address, and whether it belongs to a business."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

from email_validator import EmailNotValidError, validate_email

from qualifying.declines import DECLINED, Declined, is_decline, is_refusal
from qualifying.text import prepare

# An address starts where a word starts, so a long run of text is scanned once, not per letter.
_EMAIL: Final = re.compile(
    r"(?<![\w.!#$%&*+/=?^{|}~-])[\w!#$%&*+/=?^{|}~-][\w.!#$%&'*+/=?^`{|}~-]*@[\w-]+(?:\.[\w-]+)+"
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
    return DECLINED if is_refusal(said) or is_decline(said) else None
