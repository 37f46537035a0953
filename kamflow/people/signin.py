"""Sign-in and who a command acts as.

`sign_in` exchanges a login and password for a personal token; failures are audited and, past a number per login
within a window (counted from the audit trail, so it survives restarts), sign-in is refused until the window has
passed. `identify` turns a token into the person it proves, and honours `--as OTHER` only where a delegation in
force makes the signed-in person act for OTHER. Both return a refusal instead of raising, so that the caller's
unit of work keeps its audit event: the App commits, then refuses.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow.i18n import N_, _
from kamflow.models import AuditEvent, Employee
from kamflow.org import delegations_on
from kamflow.people import passwords, tokens, trail

SIGN_IN_AGAIN = N_("sign in with kamflow login")


@dataclass(frozen=True)
class Refused:
    """Why a sign-in or a token was refused, as the person is told."""

    message: str
    field: str


@dataclass(frozen=True)
class Issued:
    token: str
    person: Employee
    expires_at: dt.datetime


@dataclass(frozen=True)
class Acting:
    """Who a command acts as, and who proved it: the same person, or their delegate acting for them under a
    delegation in force today. `signed_in` is None in the demo mode, where nobody proves anything."""

    person: Employee
    signed_in: Employee | None = None

    @property
    def login(self) -> str:
        return self.person.login

    @property
    def on_behalf(self) -> bool:
        """Whether the signed-in person acts for someone else."""
        return self.signed_in is not None and self.signed_in.id != self.person.id


def _failures(session: Session, person: Employee, *, since: dt.datetime) -> list[dt.datetime]:
    """When the person's failed sign-ins since `since` happened, oldest first (the audit subject index)."""
    return list(
        session.scalars(
            select(AuditEvent.at)
            .where(
                AuditEvent.subject_type == "employee",
                AuditEvent.subject_id == person.id,
                AuditEvent.action == "sign_in_failed",
                AuditEvent.at > since,
            )
            .order_by(AuditEvent.at)
        )
    )


def _failure(person: Employee | None, *, right: bool) -> str | None:
    if person is None:
        return "unknown_login"
    if person.password_hash is None:
        return "no_password"
    if not right:
        return "wrong_password"
    return None if person.active else "inactive"


def sign_in(
    session: Session,
    *,
    login: str,
    password: str,
    now: dt.datetime,
    lifetime: dt.timedelta,
    failures: int,
    window: dt.timedelta,
) -> Issued | Refused:
    """A new token for the person, or why not: a wrong login or password (the same answer for both), or too
    many failures lately. Every attempt is audited, never with the password."""
    person = session.scalar(select(Employee).where(Employee.login == login))
    if person is not None:
        recent = _failures(session, person, since=now - window)
        if len(recent) >= failures:
            again = recent[len(recent) - failures] + window
            trail.about(session, "sign_in_locked", person_id=person.id, actor="anonymous", now=now, login=login)
            return Refused(
                _("too many failed sign-ins for {login}: try again after {at}").format(
                    login=login, at=again.isoformat(timespec="seconds")
                ),
                "login",
            )
    right = passwords.matches(person, password)  # checked whoever asks: every answer takes as long
    reason = _failure(person, right=right)
    if person is None or reason is not None:
        trail.about(
            session,
            "sign_in_failed",
            person_id=person.id if person else trail.NOBODY,
            actor="anonymous",
            now=now,
            login=login,
            reason=reason or "unknown_login",
        )
        return Refused(_("wrong login or password"), "password")
    token, row = tokens.issue(session, person, now=now, lifetime=lifetime)
    trail.about(
        session,
        "signed_in",
        person_id=person.id,
        actor=person.login,
        now=now,
        token_id=row.id,
        expires_at=row.expires_at.isoformat(),
    )
    return Issued(token, person, row.expires_at)


TOKEN_REFUSALS = {
    "no_token": N_("not signed in"),
    "unknown_token": N_("the token is not valid"),
    "expired": N_("the token has expired"),
    "revoked": N_("the token was revoked"),
    "inactive": N_("the token's person is no longer active"),
}


def identify(
    session: Session, *, token: str | None, as_login: str | None, on: dt.date, now: dt.datetime
) -> Acting | Refused:
    """Who a command acts as, from a token: its person, or OTHER (`as_login`) if a delegation in force `on` that
    day makes the token's person act for them. A refusal is audited as `sign_in_refused` with its reason."""
    found = tokens.holder(session, token, now=now)
    if found.refusal is not None:
        holder = found.person.id if found.person else trail.NOBODY
        trail.about(session, "sign_in_refused", person_id=holder, actor="anonymous", now=now, reason=found.refusal)
        return Refused(f"{_(TOKEN_REFUSALS[found.refusal])}: {_(SIGN_IN_AGAIN)}", "token")
    me = found.person
    assert me is not None
    if as_login is None or as_login == me.login:
        return Acting(me, me)
    other = session.scalar(select(Employee).where(Employee.login == as_login))
    if other is None or not other.active or other.id not in delegations_on(session, on=on).represented_by(me):
        trail.about(
            session,
            "sign_in_refused",
            person_id=me.id,
            actor=me.login,
            now=now,
            reason="not_delegated",
            acting_as=as_login,
        )
        return Refused(
            _("{login} may not act as {other}: no delegation in force today makes them act for {other}").format(
                login=me.login, other=as_login
            ),
            "as",
        )
    trail.about(session, "acting_on_behalf", person_id=other.id, actor=me.login, now=now)
    return Acting(other, me)
