"""People who may use the service, each with a role and a token of their own; only the token's sha256 is kept.
Also the web UI's login sessions (:func:`start_session`): kept in the catalogue, so a restart of the service
logs nobody out, and tied to the token that opened them, so a user removed or given a new token is logged out.

Roles, each with the rights of the ones before it: ``viewer`` (look, search, download), ``editor`` (upload,
describe, run pipelines), ``admin`` (withdraw items). Managed from the CLI (`patina archive user ...`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from patina.archive.context import ArchiveContext
from patina.archive.schema import LoginSession, User, as_utc, utcnow
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
    """A new token for ``name`` (the old one, and every session opened with it, stop working)."""
    token = secrets.token_urlsafe(24)
    with context.session() as session:
        user = _find(session, name)
        _end_sessions_of(session, user)
        user.token_sha256 = token_digest(token)
    return token


def remove_user(context: ArchiveContext, name: str) -> None:
    """Remove ``name`` and end their sessions."""
    with context.session() as session:
        user = _find(session, name)
        _end_sessions_of(session, user)
        session.delete(user)


def _end_sessions_of(session: Session, user: User) -> None:
    session.execute(delete(LoginSession).where(LoginSession.token_sha256 == user.token_sha256))


def users(context: ArchiveContext) -> list[UserRecord]:
    with context.session() as session:
        return [_record(user) for user in session.scalars(select(User).order_by(User.name))]


def user_with_token(context: ArchiveContext, token: str) -> UserRecord | None:
    """The user whose token this is, or None."""
    return user_with_token_digest(context, token_digest(token))


def user_with_token_digest(context: ArchiveContext, digest: str) -> UserRecord | None:
    """The user whose token has this sha256, or None."""
    with context.session() as session:
        user = session.scalar(select(User).where(User.token_sha256 == digest))
        return None if user is None else _record(user)


def start_session(context: ArchiveContext, token: str, seconds: float) -> str:
    """A new login session's random id, opened with ``token`` and valid for ``seconds`` (only sha256s are kept;
    sessions past their expiry are deleted on the way)."""
    session_id = secrets.token_urlsafe(32)
    now = utcnow()
    with context.session() as session:
        session.execute(delete(LoginSession).where(LoginSession.expires_at <= now))
        session.add(LoginSession(id_sha256=token_digest(session_id), token_sha256=token_digest(token),
                                 expires_at=now + timedelta(seconds=seconds)))
    return session_id


def session_token_digest(context: ArchiveContext, session_id: str) -> str | None:
    """The sha256 of the token that opened a live session, or None (no such session, or expired)."""
    with context.session() as session:
        login = session.get(LoginSession, token_digest(session_id))
        if login is None or as_utc(login.expires_at) <= utcnow():
            return None
        return login.token_sha256


def end_session(context: ArchiveContext, session_id: str) -> None:
    with context.session() as session:
        session.execute(delete(LoginSession).where(LoginSession.id_sha256 == token_digest(session_id)))


def _find(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name.strip()))
    if user is None:
        raise ParameterError(f"no user called {name!r}")
    return user


def _record(user: User) -> UserRecord:
    return UserRecord(name=user.name, role=user.role, created_at=as_utc(user.created_at))


__all__ = ["ROLES", "UserRecord", "add_user", "end_session", "has_rights_of", "new_token", "remove_user",
           "session_token_digest", "start_session", "token_digest", "user_with_token", "user_with_token_digest",
           "users"]
