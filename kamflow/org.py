"""The org chart: who is whose superior, who holds a role, and who acts for whom during an absence."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from kamflow import i18n
from kamflow.errors import InvalidInput, NotFound
from kamflow.i18n import _
from kamflow.models import Delegation, Employee


def employee(session: Session, login: str) -> Employee:
    found = session.scalar(select(Employee).where(Employee.login == login))
    if found is None:
        raise NotFound(_("no employee with login {login}").format(login=repr(login)), field="login")
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
        raise NotFound(_("nobody holds the role {role}").format(role=repr(role)), field="role")
    return found


@dataclass
class Holders:
    """Role holders as one pass (a sweep, a review) looks them up: each role once per person it is near."""

    session: Session
    found: dict[tuple[str, int], Employee] = field(default_factory=dict)

    def of(self, role: str, near: Employee) -> Employee:
        key = (role, near.id)
        if key not in self.found:
            self.found[key] = holder_of(self.session, role=role, near=near)
        return self.found[key]


_Order = Row[tuple[int, int, dt.date, dt.date, str]]
"""A delegation order as the cycle check reads it: from_id, to_id, valid_from, valid_to, the delegate's login."""


@dataclass(frozen=True)
class Delegations:
    """The delegation orders in force on one day, read in one query: who acts for whom is then answered in
    memory, for any number of people."""

    delegate_of: dict[int, Employee]
    """Person id → the delegate named by the latest order in force for them."""
    order_of: dict[int, str]
    """Person id → that order's reference (clause 1.4: the order that names the delegate)."""

    def _line(self, person_id: int) -> list[Employee]:
        """The delegates a person's line passes through (A→B→C gives [B, C]): an inactive delegate ends it
        before them, and a cycle stops where it would repeat."""
        line: list[Employee] = []
        seen = {person_id}
        delegate = self.delegate_of.get(person_id)
        while delegate is not None and delegate.active and delegate.id not in seen:
            line.append(delegate)
            seen.add(delegate.id)
            delegate = self.delegate_of.get(delegate.id)
        return line

    def acting_for(self, person: Employee) -> Employee:
        line = self._line(person.id)
        return line[-1] if line else person

    def _acting_id(self, person_id: int) -> int:
        line = self._line(person_id)
        return line[-1].id if line else person_id

    def represented_by(self, person: Employee) -> set[int]:
        """The ids of the people whose tasks `person` acts on: their own, unless they delegated, and those of
        everyone whose line ends at them."""
        return {someone for someone in {person.id, *self.delegate_of} if self._acting_id(someone) == person.id}


def delegations_on(session: Session, *, on: dt.date) -> Delegations:
    """Every delegation in force on a date, with its delegate (the latest order per person wins)."""
    rows = session.execute(
        select(Delegation.from_id, Delegation.order_ref, Employee)
        .join(Employee, Employee.id == Delegation.to_id)
        .where(Delegation.valid_from <= on, Delegation.valid_to >= on)
        .order_by(Delegation.id)
    ).all()
    return Delegations(
        {from_id: delegate for from_id, _ref, delegate in rows}, {from_id: ref for from_id, ref, _ in rows}
    )


def acting_for(session: Session, person: Employee, *, on: dt.date) -> Employee:
    """Who acts for `person` on a date: follow valid delegations (A→B→C ends at C); inactive delegates
    are skipped and a cycle stops where it would repeat."""
    return delegations_on(session, on=on).acting_for(person)


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
        raise InvalidInput(_("{login} cannot delegate to themselves").format(login=frm.login), field="to")
    if valid_to < valid_from:
        raise InvalidInput(
            _("the window ends ({end}) before it starts ({start})").format(
                end=i18n.day(valid_to), start=i18n.day(valid_from)
            ),
            field="to_date",
        )
    if not order_ref.strip():
        raise InvalidInput(_("name the order that makes the delegation"), field="order_ref")
    if not to.active:
        raise InvalidInput(_("{login} is not an active employee").format(login=to.login), field="to")
    orders = _orders_reaching_from(session, to, valid_from=valid_from, valid_to=valid_to)
    changes = {valid_from} | {o.valid_from for o in orders if o.valid_from > valid_from}
    changes |= {o.valid_to + dt.timedelta(days=1) for o in orders if o.valid_to < valid_to}
    for day in sorted(changes):
        line = [frm.login, *_delegates_of(to, orders, on=day)]
        if frm.login in line[1:]:
            raise InvalidInput(
                _("a cycle on {day}: {line}").format(day=i18n.day(day), line=" -> ".join(line)), field="to"
            )
    delegation = Delegation(
        from_id=frm.id, to_id=to.id, valid_from=valid_from, valid_to=valid_to, order_ref=order_ref, created_at=now
    )
    session.add(delegation)
    session.flush()
    return delegation


def _orders_reaching_from(
    session: Session, person: Employee, *, valid_from: dt.date, valid_to: dt.date
) -> list[_Order]:
    """The delegations overlapping a window along which a line from `person` may run (one recursive query),
    oldest order first, each with its delegate's login: all a cycle check needs, whatever else the window holds."""
    overlaps = (Delegation.valid_from <= valid_to, Delegation.valid_to >= valid_from)
    reach = select(Employee.id).where(Employee.id == person.id).cte("reach", recursive=True)
    reach = reach.union(select(Delegation.to_id).join(reach, Delegation.from_id == reach.c.id).where(*overlaps))
    return list(
        session.execute(
            select(
                Delegation.from_id, Delegation.to_id, Delegation.valid_from, Delegation.valid_to, Employee.login
            )
            .join(Employee, Employee.id == Delegation.to_id)
            .where(Delegation.from_id.in_(select(reach.c.id)), *overlaps)
            .order_by(Delegation.id)
        )
    )


def _delegates_of(person: Employee, orders: list[_Order], *, on: dt.date) -> list[str]:
    """`person` and the line of delegates after them on a date, up to a repeat (the latest order in force wins)."""
    in_force = {o.from_id: o for o in orders if o.valid_from <= on <= o.valid_to}
    line = [person.login]
    current = person.id
    while (order := in_force.get(current)) is not None:
        current = order.to_id
        line.append(order.login)
        if line.count(order.login) > 1:
            break
    return line
