"""Accounts of the review app: sales reps and admins, with argon2 password hashes.

A wrong password and an unknown email cost the same: `authenticate` checks a password against
a dummy hash when there is no such account, so neither the answer nor its timing tells them apart.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_bridge.models import ROLES, User
from crm_bridge.timestamps import utc_now

MIN_PASSWORD_CHARS: Final = 10
_HASHER: Final = PasswordHasher()


class AccountError(ValueError):
    """An account that cannot be created as asked; the message says why."""


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _HASHER.hash("no such account: this only makes unknown emails cost a verification")


def canonical_email(email: str) -> str:
    """The email as accounts are keyed: trimmed and lower-cased."""
    return email.strip().lower()


def add_user(session: Session, email: str, password: str, role: str) -> User:
    """Create an account.

    Raises:
        AccountError: the email is taken or not an address, the role is unknown, or the
            password is shorter than `MIN_PASSWORD_CHARS`.
    """
    address = canonical_email(email)
    if "@" not in address or address.startswith("@") or address.endswith("@"):
        raise AccountError(f"{email!r} is not an email address")
    if role not in ROLES:
        raise AccountError(f"the role must be one of {', '.join(ROLES)}, not {role!r}")
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(f"the password must be at least {MIN_PASSWORD_CHARS} characters long")
    if session.scalars(select(User.id).where(User.email == address)).first() is not None:
        raise AccountError(f"there is already an account for {address}")
    user = User(email=address, password_hash=_HASHER.hash(password), role=role, active=True)
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active account with this email and password, else None (in the same time)."""
    user = session.scalars(select(User).where(User.email == canonical_email(email))).first()
    stored = user.password_hash if user is not None else _dummy_hash()
    try:
        _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = _HASHER.hash(password)
    user.last_login_at = utc_now()
    return user


def get_user(session: Session, user_id: int) -> User | None:
    """The active account with this id, else None."""
    user = session.get(User, user_id)
    return user if user is not None and user.active else None


def list_users(session: Session) -> list[User]:
    """Every account, by email."""
    return list(session.scalars(select(User).order_by(User.email)))


def set_active(session: Session, user_id: int, active: bool) -> User | None:
    """Let an account log in again, or stop it from logging in; None when there is none."""
    user = session.get(User, user_id)
    if user is not None:
        user.active = active
    return user


def has_admin(session: Session) -> bool:
    """True when at least one active admin account exists."""
    count = session.scalar(
        select(func.count(User.id)).where(User.role == "admin", User.active.is_(True))
    )
    return bool(count)
