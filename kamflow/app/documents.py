"""What the `kamflow doc` and `kamflow delegate` commands do: check (writing nothing when wrong), start or resume
the document's flow run, and read back what the domain database says."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from flows import labels
from flows.processes import Decided
from kamflow import approvals, audit, clock, org
from kamflow.app.runs import Answer, decide
from kamflow.app.serve import api_ready
from kamflow.db import unit_of_work
from kamflow.documents import answers, views
from kamflow.documents.chains import current_policy
from kamflow.errors import NotFound, NotPermitted
from kamflow.models import Employee
from kamflow.settings import get_settings


def revise(document_id: int, *, login: str, content: str, comment: str) -> Decided:
    """The author's new version of a returned document: the chain starts again from its first stage."""
    with unit_of_work() as session:
        task = answers.revision_task(session, document_id, login=login, on=clock.today())
        task_id = task.id
    return decide(task_id, login=login, answer=Answer(action="revise", content=content, comment=comment))


def may_delegate(acting: Employee, frm: Employee) -> bool:
    """The person themselves, anyone above them and the document policy's `records_delegations` roles may
    record an order naming a delegate."""
    return (
        acting.id == frm.id or acting in org.superiors(frm) or acting.role in current_policy().records_delegations
    )


def delegate(
    *, acting: str, frm: str, to: str, valid_from: dt.date, valid_to: dt.date, order_ref: str
) -> views.DelegationView:
    """Record a delegation (clause 1.4), audited; refuses self-delegation and cycles, naming the field."""
    now = clock.now()
    with unit_of_work() as session:
        actor = _named(session, acting, field="as")
        absent = _named(session, frm, field="from")
        if not may_delegate(actor, absent):
            raise NotPermitted(f"{actor.login} may not name a delegate for {absent.login}", field="as")
        delegation = org.delegate(
            session,
            frm=absent,
            to=_named(session, to, field="to"),
            valid_from=valid_from,
            valid_to=valid_to,
            order_ref=order_ref,
            now=now,
        )
        view = views.DelegationView(
            delegation_id=delegation.id,
            from_=frm,
            to=to,
            from_date=valid_from.isoformat(),
            to_date=valid_to.isoformat(),
            order_ref=order_ref,
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
        waiting = [task.flow_run_id for task in approvals.pending_for(session, absent, on=clock.today(now))]
    if valid_from <= clock.today(now) <= valid_to and api_ready(get_settings().api_url):
        labels.retag(waiting)  # the ops console: their waiting runs now wait for the delegate
    return view


def _named(session: Session, login: str, *, field: str) -> Employee:
    """An employee by login, the error naming the command's own field."""
    try:
        return org.employee(session, login)
    except NotFound as exc:
        raise NotFound(exc.message, field=field) from exc
