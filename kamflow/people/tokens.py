"""Personal API tokens: `secrets.token_urlsafe(32)` given once to the person, kept only as its sha256 (a token is
high-entropy, so a fast hash is the standard; a password is not, see kamflow.people.passwords)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kamflow.models import Employee
from kamflow.people import trail
from kamflow.people.tables import ApiToken

TOUCH_EVERY = dt.timedelta(minutes=1)
"""last_used_at moves at most this often, so that checking a token is a read, not a write, on most commands."""

Refusal = Literal["no_token", "unknown_token", "expired", "revoked", "inactive"]


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(session: Session, person: Employee, *, now: dt.datetime, lifetime: dt.timedelta) -> tuple[str, ApiToken]:
    """A new token for `person`: the token itself (to hand over, never stored) and its row."""
    token = secrets.token_urlsafe(32)
    row = ApiToken(token_hash=digest(token), employee_id=person.id, created_at=now, expires_at=now + lifetime)
    session.add(row)
    session.flush()
    return token, row


@dataclass(frozen=True)
class Holder:
    """Whose a token is, or why it proves nobody (then `person` is whoever it was issued to, if anyone)."""

    person: Employee | None
    refusal: Refusal | None = None


def holder(session: Session, token: str | None, *, now: dt.datetime) -> Holder:
    """The person a token proves: one lookup by its hash (unique index) with its employee."""
    if not token:
        return Holder(None, "no_token")
    found = session.execute(
        select(ApiToken, Employee)
        .join(Employee, Employee.id == ApiToken.employee_id)
        .where(ApiToken.token_hash == digest(token))
    ).first()
    if found is None:
        return Holder(None, "unknown_token")
    row, person = found
    if row.revoked_at is not None:
        return Holder(person, "revoked")
    if row.expires_at <= now:
        return Holder(person, "expired")
    if not person.active:
        return Holder(person, "inactive")
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
        row.last_used_at = now
    return Holder(person)


def revoke(session: Session, token: str, *, now: dt.datetime) -> Employee | None:
    """Revoke one token (audited as its holder's sign-out); its holder, or None if no such live token."""
    row = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == digest(token), ApiToken.revoked_at.is_(None))
    )
    if row is None:
        return None
    row.revoked_at = now
    person = row.employee
    trail.about(session, "signed_out", person_id=person.id, actor=person.login, now=now, token_id=row.id)
    return person


def revoke_all(session: Session, person: Employee, *, now: dt.datetime) -> int:
    """Revoke every live token of a person (the caller audits why); how many there were."""
    done = session.execute(
        update(ApiToken)
        .where(ApiToken.employee_id == person.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(done, "rowcount", 0))


def sign_out_everywhere(session: Session, person: Employee, *, actor: str, now: dt.datetime) -> int:
    """`kamflow user revoke`: every live token of a person revoked, audited with the count."""
    revoked = revoke_all(session, person, now=now)
    trail.about(session, "tokens_revoked", person_id=person.id, actor=actor, now=now, tokens=revoked)
    return revoked
