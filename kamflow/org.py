"""The org chart: who is whose superior, who holds a role, and who acts for whom during an absence."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow.errors import NotFound
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
        delegation = session.scalar(
            select(Delegation)
            .where(Delegation.from_id == current.id, Delegation.valid_from <= on, Delegation.valid_to >= on)
            .order_by(Delegation.id.desc())
        )
        if delegation is None:
            return current
        delegate = session.get(Employee, delegation.to_id)
        if delegate is None or not delegate.active or delegate.id in seen:
            return current
        seen.add(delegate.id)
        current = delegate
