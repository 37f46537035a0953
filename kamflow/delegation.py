"""Naming a delegate for an absence (clause 1.4): who may record the order, and recording it, audited. While the
order is in force the delegate holds the absent person's tasks and rights (`kamflow.org`, `kamflow.access`). The
CLI and the workspace both record delegations here."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from kamflow import audit, org
from kamflow.bounds import Line
from kamflow.documents.chains import load_policy
from kamflow.documents.views import DelegationView
from kamflow.errors import NotFound, NotPermitted
from kamflow.i18n import _
from kamflow.models import Delegation, Employee
from kamflow.types import Day, Login


class DelegationIn(BaseModel):
    """An order naming a delegate: who is absent, who acts for them, the window and the order's reference."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: Login = Field(alias="from")
    to: Login
    from_date: Day
    to_date: Day
    order_ref: Annotated[str, Line(Delegation.order_ref)]


def may_delegate(acting: Employee, frm: Employee) -> bool:
    """The person themselves, anyone above them and the document policy's `records_delegations` roles may record
    an order naming a delegate."""
    return acting.id == frm.id or acting in org.superiors(frm) or acting.role in load_policy().records_delegations


def record(session: Session, given: DelegationIn, *, acting: str, now: dt.datetime) -> DelegationView:
    """Record a delegation, audited; refuses one that `acting` may not record, self-delegation and cycles, naming
    the field."""
    actor = _named(session, acting, field="as")
    absent = _named(session, given.from_, field="from")
    if not may_delegate(actor, absent):
        raise NotPermitted(
            _("{person} may not name a delegate for {absent}").format(person=actor.login, absent=absent.login),
            field="as",
        )
    delegation = org.delegate(
        session,
        frm=absent,
        to=_named(session, given.to, field="to"),
        valid_from=given.from_date,
        valid_to=given.to_date,
        order_ref=given.order_ref,
        now=now,
    )
    view = DelegationView(
        delegation_id=delegation.id,
        from_=given.from_,
        to=given.to,
        from_date=given.from_date.isoformat(),
        to_date=given.to_date.isoformat(),
        order_ref=given.order_ref,
    )
    audit.record(
        session,
        at=now,
        actor=actor.login,
        action="delegation_created",
        subject_type="delegation",
        subject_id=delegation.id,
        detail=view.model_dump(mode="json"),
    )
    return view


def _named(session: Session, login: str, *, field: str) -> Employee:
    """An employee by login, the error naming the command's own field."""
    try:
        return org.employee(session, login)
    except NotFound as exc:
        raise NotFound(exc.message, field=field) from exc
