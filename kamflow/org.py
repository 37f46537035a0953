"""The org chart: who is whose superior, who holds a role, and who acts for whom during an absence."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow.errors import InvalidInput, NotFound
from kamflow.models import Delegation, Employee


def employee(session: Session, login: str) -> Employee:
    found = session.scalar(select(Employee).where(Employee.login == login))
    if found is None:
        raise NotFound(f"no employee with login {login!r}", field="login")
    return found


def superiors(person: Employee) -> list[Employee]:
    """The reporting line above a person, nearest first."""
    line: list[Employee] = []
    current = person.manager
    while current is not None and current not in line:
        line.append(current)
        current = current.manager
    return line


def holder_of(session: Session, *, role: str, near: Employee) -> Employee:
    """The person holding `role` for `near`: the nearest superior with it, else the company's holder."""
    for boss in superiors(near):
        if boss.role == role and boss.active:
            return boss
    found = session.scalar(
        select(Employee).where(Employee.role == role, Employee.active.is_(True)).order_by(Employee.id)
    )
    if found is None:
        raise NotFound(f"nobody holds the role {role!r}", field="role")
    return found


def acting_for(session: Session, person: Employee, *, on: dt.date) -> Employee:
    """Who acts for `person` on a date: follow valid delegations (A→B→C ends at C); inactive delegates
    are skipped and a cycle stops where it would repeat."""
    seen = {person.id}
    current = person
    while True:
        delegation = _valid_delegation(session, current, on=on)
        if delegation is None:
            return current
        delegate = session.get(Employee, delegation.to_id)
        if delegate is None or not delegate.active or delegate.id in seen:
            return current
        seen.add(delegate.id)
        current = delegate


def _valid_delegation(session: Session, person: Employee, *, on: dt.date) -> Delegation | None:
    """The delegation in force for `person` on a date (the latest order wins)."""
    return session.scalar(
        select(Delegation)
        .where(Delegation.from_id == person.id, Delegation.valid_from <= on, Delegation.valid_to >= on)
        .order_by(Delegation.id.desc())
    )


def delegate(
    session: Session,
    *,
    frm: Employee,
    to: Employee,
    valid_from: dt.date,
    valid_to: dt.date,
    order_ref: str,
    now: dt.datetime,
) -> Delegation:
    """Record an order naming `to` to act for `frm` (clause 1.4). Refuses self-delegation, an empty window and
    a delegation that would make someone act, through a chain, for themselves on any day of the window."""
    if frm.id == to.id:
        raise InvalidInput(f"{frm.login} cannot delegate to themselves", field="to")
    if valid_to < valid_from:
        raise InvalidInput(f"the window ends ({valid_to}) before it starts ({valid_from})", field="to_date")
    if not order_ref.strip():
        raise InvalidInput("name the order that makes the delegation", field="order_ref")
    if not to.active:
        raise InvalidInput(f"{to.login} is not an active employee", field="to")
    overlapping = session.scalars(
        select(Delegation).where(Delegation.valid_from <= valid_to, Delegation.valid_to >= valid_from)
    ).all()
    changes = {valid_from} | {d.valid_from for d in overlapping if d.valid_from > valid_from}
    changes |= {d.valid_to + dt.timedelta(days=1) for d in overlapping if d.valid_to < valid_to}
    for day in sorted(changes):
        line = [frm.login, *_delegates_of(session, to, on=day)]
        if frm.login in line[1:]:
            raise InvalidInput(f"a cycle on {day}: {' -> '.join(line)}", field="to")
    delegation = Delegation(
        from_id=frm.id, to_id=to.id, valid_from=valid_from, valid_to=valid_to, order_ref=order_ref, created_at=now
    )
    session.add(delegation)
    session.flush()
    return delegation


def _delegates_of(session: Session, person: Employee, *, on: dt.date) -> list[str]:
    """`person` and the line of delegates after them on a date, as acting_for follows it, up to a repeat."""
    line = [person.login]
    current = person
    while (delegation := _valid_delegation(session, current, on=on)) is not None:
        current = session.get_one(Employee, delegation.to_id)
        line.append(current.login)
        if line.count(current.login) > 1:
            break
    return line
