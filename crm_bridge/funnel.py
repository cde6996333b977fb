"""The sales funnel over a period: leads → prospects → potential customers → customers, split by
channel and by source, and the drop-off per form question (where visitors stop answering)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.models import Conversation, Lead, LeadAnswer, QualificationHistory

LEVELS: Final = ("lead", "prospect", "potential_customer", "customer")
_RANK: Final = {stage: rank for rank, stage in enumerate(LEVELS)}


@dataclass(frozen=True)
class FunnelCounts:
    """How many leads reached each level (a lead that reached a level counts in every earlier
    one), and the conversion from each level to the next."""

    reached: tuple[int, ...]

    @property
    def conversions(self) -> tuple[float | None, ...]:
        """reached[i] / reached[i - 1] for each level after the first; None where 0 / 0."""
        return tuple(
            (self.reached[i] / self.reached[i - 1]) if self.reached[i - 1] else None
            for i in range(1, len(self.reached))
        )

    @property
    def overall(self) -> float | None:
        """Customers out of all leads."""
        return self.reached[-1] / self.reached[0] if self.reached[0] else None


@dataclass(frozen=True)
class Funnel:
    """The funnel of the leads created in a period, in all and split."""

    total: FunnelCounts
    by_channel: dict[str, FunnelCounts] = field(default_factory=dict)
    by_source: dict[str, FunnelCounts] = field(default_factory=dict)


@dataclass(frozen=True)
class QuestionDropOff:
    """Of the conversations started in the period: how many answered a question, and how many
    stopped there (it was the first question of the form they left unanswered)."""

    slot: str
    answered: int
    stopped_here: int


def funnel(session: Session, since: datetime, until: datetime) -> Funnel:
    """The funnel of the leads created in [since, until)."""
    leads = session.execute(
        select(Lead.id, Lead.stage, Lead.source).where(
            Lead.created_at >= since, Lead.created_at < until
        )
    ).all()
    ids = [row.id for row in leads]
    best: dict[int, int] = {row.id: _RANK.get(row.stage, 0) for row in leads}
    channel: dict[int, str] = {}
    for chunk in _chunks(ids):
        for lead_id, stage in session.execute(
            select(QualificationHistory.lead_id, QualificationHistory.stage).where(
                QualificationHistory.lead_id.in_(chunk)
            )
        ):
            best[lead_id] = max(best[lead_id], _RANK.get(stage, 0))
        for lead_id, name in session.execute(
            select(Conversation.lead_id, Conversation.channel)
            .where(Conversation.lead_id.in_(chunk))
            .order_by(Conversation.id.desc())
        ):
            channel[lead_id] = name  # the first conversation's channel wins (read last)
    by_channel: dict[str, list[int]] = defaultdict(list)
    by_source: dict[str, list[int]] = defaultdict(list)
    for row in leads:
        by_channel[channel.get(row.id, "unknown")].append(best[row.id])
        by_source[row.source or "unknown"].append(best[row.id])
    return Funnel(
        total=_counts(list(best.values())),
        by_channel={name: _counts(ranks) for name, ranks in sorted(by_channel.items())},
        by_source={name: _counts(ranks) for name, ranks in sorted(by_source.items())},
    )


def drop_off(
    session: Session, form_slots: Sequence[str], since: datetime, until: datetime
) -> list[QuestionDropOff]:
    """Per question of the form (in the order it asks them), answered and stopped-here counts.

    A conversation whose visitor refused consent ends at the consent question by design: it
    does not count as stopping at the contact questions after it.
    """
    chats = list(
        session.scalars(
            select(Conversation.id).where(
                Conversation.started_at >= since, Conversation.started_at < until
            )
        )
    )
    answered: dict[int, set[str]] = {chat: set() for chat in chats}
    refused: set[int] = set()
    for chunk in _chunks(chats):
        for chat, slot, value in session.execute(
            select(LeadAnswer.conversation_id, LeadAnswer.slot, LeadAnswer.value).where(
                LeadAnswer.conversation_id.in_(chunk)
            )
        ):
            answered[chat].add(slot)
            if slot == "consent" and isinstance(value, dict) and value.get("consent") is False:
                refused.add(chat)
    counts = {slot: 0 for slot in form_slots}
    stopped = {slot: 0 for slot in form_slots}
    for chat, slots in answered.items():
        for slot in slots & counts.keys():
            counts[slot] += 1
        if not slots:
            continue  # never answered anything: not a form visit
        for slot in form_slots:
            if slot not in slots:
                if not (chat in refused and _after(form_slots, slot, "consent")):
                    stopped[slot] += 1
                break
    return [QuestionDropOff(slot, counts[slot], stopped[slot]) for slot in form_slots]


def _after(order: Sequence[str], slot: str, other: str) -> bool:
    return other in order and order.index(slot) > order.index(other)


def _counts(ranks: list[int]) -> FunnelCounts:
    return FunnelCounts(tuple(sum(1 for rank in ranks if rank >= level) for level in range(4)))


def _chunks(ids: list[int], size: int = 500) -> list[list[int]]:
    return [ids[start : start + size] for start in range(0, len(ids), size)] or []
