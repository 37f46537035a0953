"""Passwords: argon2 hashes (pwdlib's recommended hasher), never the password itself, never logged."""

from __future__ import annotations

import datetime as dt
import secrets
from functools import cache

from pwdlib import PasswordHash
from sqlalchemy.orm import Session

from kamflow.errors import InvalidInput
from kamflow.models import Employee
from kamflow.people import tokens, trail

MIN_LENGTH = 10
MAX_LENGTH = 1024


@cache
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()


@cache
def _nobody() -> str:
    """A hash no password matches, checked for a login without one so that its answer takes as long."""
    return _hasher().hash(secrets.token_urlsafe(32))


def set_password(session: Session, person: Employee, password: str, *, actor: str, now: dt.datetime) -> None:
    """Store the argon2 hash of a new password and revoke the person's tokens (a new password signs them out
    everywhere); audited, without the password."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InvalidInput(f"a password has {MIN_LENGTH} to {MAX_LENGTH} characters", field="password")
    person.password_hash = _hasher().hash(password)
    revoked = tokens.revoke_all(session, person, now=now)
    trail.about(session, "password_set", person_id=person.id, actor=actor, now=now, tokens_revoked=revoked)


def matches(person: Employee | None, password: str) -> bool:
    """Whether `password` is the person's; as slow for an unknown person or one without a password."""
    if person is None or person.password_hash is None:
        _hasher().verify(password, _nobody())
        return False
    return _hasher().verify(password, person.password_hash)
