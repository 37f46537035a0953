"""Credit control's subjects as the CLI shows them once they stand still: decided, or waiting for a person
with a task open. `None` while a flow run is still on its way there."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow import approvals
from kamflow.credit import limits, orders, solvency
from kamflow.credit.tables import CreditCheck, CreditLimitChange, OrderCreditCheck

CreditView = orders.OrderView | limits.LimitView | solvency.SolvencyView
WAITING = {orders.PROCESS: "blocked", limits.PROCESS: "pending", solvency.PROCESS: "pending"}


def _order(session: Session, subject_id: int) -> CreditView:
    return orders.view(session, orders.get(session, subject_id))


def _limit(session: Session, subject_id: int) -> CreditView:
    return limits.view(session, limits.get(session, subject_id))


def _solvency(session: Session, subject_id: int) -> CreditView:
    return solvency.view(session, solvency.get(session, subject_id))


VIEWS: dict[str, Callable[[Session, int], CreditView]] = {
    orders.PROCESS: _order,
    limits.PROCESS: _limit,
    solvency.PROCESS: _solvency,
}
ROWS: dict[str, type[OrderCreditCheck] | type[CreditLimitChange] | type[CreditCheck]] = {
    orders.PROCESS: OrderCreditCheck,
    limits.PROCESS: CreditLimitChange,
    solvency.PROCESS: CreditCheck,
}


def decided(session: Session, process: str, subject_id: int) -> CreditView | None:
    """The subject once a person's answer has landed on it (for `kamflow decide`)."""
    view = VIEWS[process](session, subject_id)
    return None if view.status == WAITING[process] else view


def settled_run(session: Session, process: str, flow_run_id: str) -> CreditView | None:
    """The subject a flow run made, once it is decided or waits with its task open."""
    table = ROWS[process]
    row = session.execute(select(table.id, table.status).where(table.flow_run_id == flow_run_id)).one_or_none()
    if row is None:
        return None
    if row.status == WAITING[process] and approvals.current(session, process=process, subject_id=row.id) is None:
        return None
    return VIEWS[process](session, row.id)
