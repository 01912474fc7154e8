"""People who may use the service, each with a role and a token of their own; only the token's sha256 is kept.

Roles, each with the rights of the ones before it: ``viewer`` (look, search, download), ``editor`` (upload,
describe, run pipelines), ``admin`` (withdraw items). Managed from the CLI (`patina archive user ...`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from patina.archive.context import ArchiveContext
from patina.archive.schema import User, as_utc
from patina.core.errors import ParameterError

ROLES = ("viewer", "editor", "admin")


@dataclass(frozen=True)
class UserRecord:
    """A user as callers see it (never the token)."""

    name: str
    role: str
    created_at: datetime

    def may(self, role: str) -> bool:
        """Whether this user has the rights of ``role``."""
        return has_rights_of(self.role, role)


def has_rights_of(role: str, needed: str) -> bool:
    """Whether ``role`` has the rights of ``needed`` (each role has those of the ones before it in ROLES)."""
    return ROLES.index(role) >= ROLES.index(needed)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check(name: str, role: str) -> str:
    name = name.strip()
    if not name or len(name) > 100:
        raise ParameterError("a user's name is 1 to 100 characters")
    if role not in ROLES:
        raise ParameterError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    return name


def add_user(context: ArchiveContext, name: str, role: str) -> tuple[UserRecord, str]:
    """A new user and their token (shown once: only its sha256 is stored)."""
    name = _check(name, role)
    token = secrets.token_urlsafe(24)
    try:
        with context.session() as session:
            user = User(name=name, role=role, token_sha256=token_digest(token))
            session.add(user)
            session.flush()
            return _record(user), token
    except IntegrityError:
        raise ParameterError(f"there is a user called {name!r} already") from None


def new_token(context: ArchiveContext, name: str) -> str:
    """A new token for ``name`` (the old one stops working)."""
    token = secrets.token_urlsafe(24)
    with context.session() as session:
        user = _find(session, name)
        user.token_sha256 = token_digest(token)
    return token


def remove_user(context: ArchiveContext, name: str) -> None:
    with context.session() as session:
        session.delete(_find(session, name))


def users(context: ArchiveContext) -> list[UserRecord]:
    with context.session() as session:
        return [_record(user) for user in session.scalars(select(User).order_by(User.name))]


def user_with_token(context: ArchiveContext, token: str) -> UserRecord | None:
    """The user whose token this is, or None."""
    with context.session() as session:
        user = session.scalar(select(User).where(User.token_sha256 == token_digest(token)))
        return None if user is None else _record(user)


def _find(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name.strip()))
    if user is None:
        raise ParameterError(f"no user called {name!r}")
    return user


def _record(user: User) -> UserRecord:
    return UserRecord(name=user.name, role=user.role, created_at=as_utc(user.created_at))


__all__ = ["ROLES", "UserRecord", "add_user", "has_rights_of", "new_token", "remove_user", "token_digest",
           "user_with_token", "users"]
