"""Final saves the store refused, kept on disk until it takes them.

When the database refuses a conversation's final save (its answers, score, history row and any
handoff), the action server keeps the save here, one JSON file per conversation in the spool
folder (``LEADBOT_SPOOL_DIR``, else ``var/spool/`` of the project), and tells the visitor their
answers are kept. A background retry (`write_kept`) writes every kept save as soon as the store
takes writes again and then removes its file, so a save survives a restart of the action server
and is written without the visitor's help.

- A file is written atomically (a private temporary file, flushed to disk, then renamed over
  the conversation's file) and readable by its owner only: it holds the visitor's answers.
- A later save of the same conversation replaces the earlier one: it holds everything.
- Writing a save twice is harmless: the lead service upserts (one lead, one history row per
  change, one open handoff and its one alert), so a save written but not yet removed when the
  process stopped is simply written again.
- The retry claims a file by renaming it before writing it, so a save kept meanwhile for the
  same conversation is never removed unwritten.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from crm_bridge import leads
from crm_bridge.retry import with_retries
from crm_bridge.submission import Answer, ConversationRef, LeadFields, Scoring, TranscriptLine

logger = logging.getLogger(__name__)

SPOOL_DIR_VARIABLE: Final = "LEADBOT_SPOOL_DIR"
DEFAULT_SPOOL_DIR: Final = Path(__file__).resolve().parents[1] / "var" / "spool"
KEPT: Final = ".json"
CLAIMED: Final = ".writing"
# A file that cannot be read as a save is set aside under this suffix for a person to look at.
UNREADABLE: Final = ".unreadable"


@dataclass(frozen=True)
class FinalSave:
    """Everything a conversation's final save writes, in the lead service's terms."""

    conversation: ConversationRef
    fields: LeadFields
    answers: tuple[Answer, ...]
    transcript: tuple[TranscriptLine, ...]
    scoring: Scoring
    handoff_reason: str | None  # "visitor_request", "hot_lead" or None


def write(session: Session, save: FinalSave) -> None:
    """The final save's unit of work: answers, score and history, and the handoff when asked.

    Safe to run again: the lead service upserts. The caller owns the transaction.
    """
    leads.record_qualification(
        session,
        save.conversation,
        save.fields,
        save.answers,
        save.transcript,
        save.scoring,
    )
    if save.handoff_reason:
        leads.request_handoff(
            session,
            save.conversation,
            save.handoff_reason,
            save.fields,
            save.answers,
            save.transcript,
        )


def spool_folder() -> Path:
    """Where kept saves live: LEADBOT_SPOOL_DIR, else var/spool/ of the project."""
    return Path(os.environ.get(SPOOL_DIR_VARIABLE) or DEFAULT_SPOOL_DIR)


def keep(save: FinalSave, folder: Path) -> Path:
    """Writes the save durably into `folder`, replacing an earlier one of its conversation.

    Returns:
        The file that holds it.

    Raises:
        OSError: When the file could not be written (the save is then not kept).
    """
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"{_file_stem(save.conversation.sender_id)}{KEPT}"
    draft = folder / f".{path.name}.{os.getpid()}.tmp"
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(_to_json(save).encode("utf-8"))
            file.flush()
            os.fsync(file.fileno())
        os.replace(draft, path)
    except BaseException:
        draft.unlink(missing_ok=True)
        raise
    _sync_folder(folder)
    return path


def kept(folder: Path) -> list[Path]:
    """The files of saves not written yet: claimed ones (left by a stopped retry) first,
    then the others, each group oldest first."""
    if not folder.is_dir():
        return []

    def oldest_first(suffix: str) -> list[Path]:
        return sorted(folder.glob(f"*{suffix}"), key=_modified)

    return oldest_first(CLAIMED) + oldest_first(KEPT)


def write_kept(folder: Path, session_factory: sessionmaker[Session]) -> int:
    """Writes every kept save to the store, removing each file once its save committed.

    Stops at the first save the store refuses (it is kept for the next try).

    Returns:
        How many saves were written.
    """
    written = 0
    for path in kept(folder):
        claimed = path if path.suffix == CLAIMED else path.with_suffix(CLAIMED)
        if path != claimed:
            try:
                os.replace(path, claimed)
            except FileNotFoundError:
                continue  # written meanwhile by another retry
        try:
            save = _from_json(claimed.read_text(encoding="utf-8"))
        except (ValueError, KeyError, TypeError) as error:
            logger.error("spool.unreadable file=%s error=%s", claimed.name, type(error).__name__)
            os.replace(claimed, claimed.with_suffix(UNREADABLE))
            continue
        try:
            # One retry: the background loop itself tries again a few seconds later.
            with_retries(functools.partial(write, save=save), session_factory, attempts=2)
        except SQLAlchemyError as error:
            _unclaim(claimed)
            # The error text can quote an email or a name; log only its kind.
            logger.warning(
                "spool.write.refused sender_id=%s error=%s",
                save.conversation.sender_id,
                type(error).__name__,
            )
            break
        claimed.unlink(missing_ok=True)
        _sync_folder(folder)
        written += 1
        logger.info("spool.written sender_id=%s", save.conversation.sender_id)
    return written


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0  # claimed or removed meanwhile: skipped when it is reached


def _unclaim(claimed: Path) -> None:
    """Puts a claimed save back, unless a newer save of its conversation was kept meanwhile."""
    # When a newer save exists, it holds everything this one did.
    with contextlib.suppress(FileExistsError):
        os.link(claimed, claimed.with_suffix(KEPT))
    claimed.unlink(missing_ok=True)


def _file_stem(sender_id: str) -> str:
    # A conversation id may hold any character; its digest is a safe, fixed-length name.
    return hashlib.sha256(sender_id.encode("utf-8", "surrogatepass")).hexdigest()


def _sync_folder(folder: Path) -> None:
    """Makes a rename or removal in `folder` durable."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _to_json(save: FinalSave) -> str:
    return json.dumps(asdict(save), default=_json_default, ensure_ascii=False)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def _from_json(text: str) -> FinalSave:
    raw = json.loads(text)
    fields = dict(raw["fields"])
    if fields.get("consent_at"):
        fields["consent_at"] = datetime.fromisoformat(fields["consent_at"])
    return FinalSave(
        conversation=ConversationRef(**raw["conversation"]),
        fields=LeadFields(**fields),
        answers=tuple(Answer(**answer) for answer in raw["answers"]),
        transcript=tuple(
            TranscriptLine(line["speaker"], line["text"], datetime.fromisoformat(line["at"]))
            for line in raw["transcript"]
        ),
        scoring=Scoring(**raw["scoring"]),
        handoff_reason=raw["handoff_reason"],
    )
