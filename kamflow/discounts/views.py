"""What people see of a discount request: its state and reasons (`discount request`, `discount show`,
`decide`) and the report the approver reads in the Prefect UI (the flow's artifact)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import PlainSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from kamflow import approvals, clock, decisions
from kamflow.discounts import PROCESS
from kamflow.discounts.service import get
from kamflow.discounts.tables import DiscountRequest
from kamflow.i18n import _
from kamflow.reports import pct, plain, to_whom
from kamflow.rulesets import reasons_in
from kamflow.views import Explained, said

# A percent in JSON as people write it (12.5, never 12.5000): a string, as `kamflow.reports.plain` gives it.
Percent = Annotated[Decimal, PlainSerializer(plain, return_type=str, when_used="json")]


class DiscountView(Explained):
    """A discount request as it stands: decided, or waiting for `assignee` on task `task_id`."""

    request_id: int
    status: str
    customer: str
    discount_pct: Percent
    granted_pct: Percent | None
    rules_version: str
    flow_run_id: str | None

    def text(self) -> str:
        """What the CLI prints of the request."""
        granted = "" if self.granted_pct is None else _(" (granted {pct})").format(pct=pct(self.granted_pct))
        state = said(self.status) + granted
        if self.verdict is not None:  # what the person decided says it best: COUNTERED 12.5% by …
            state, lines = self.verdict.text(), []
        else:
            lines = self.waiting_lines()
        head = _("request {request} for {customer}: {state}").format(
            request=self.request_id, customer=self.customer, state=state
        )
        return "\n".join([head, *lines, *self.reason_lines(), self.rules_line(self.rules_version)])


def view(session: Session, request_id: int) -> DiscountView:
    """The discount request as it stands, with its open task and whoever holds it."""
    row = get(session, request_id)
    return DiscountView(
        request_id=row.id,
        status=row.status,
        customer=row.customer.code,
        discount_pct=row.discount_pct,
        granted_pct=row.granted_pct,
        reasons=reasons_in(session, row.decision),
        rules_version=row.rules_version,
        flow_run_id=row.flow_run_id,
        **decisions.waiting(session, process=PROCESS, subject_id=row.id, on=clock.today()),
    )


def decided(session: Session, request_id: int) -> DiscountView | None:
    """The request once a person's answer has landed on it (for `kamflow decide`); None while it still waits."""
    shown = view(session, request_id)
    return None if shown.status == "pending" else shown


def settled_run(session: Session, flow_run_id: str) -> DiscountView | None:
    """The request a flow run made, once it is decided or waits with its task open."""
    row = session.scalar(select(DiscountRequest).where(DiscountRequest.flow_run_id == flow_run_id))
    if row is None:
        return None
    if row.status == "pending" and approvals.current(session, process=PROCESS, subject_id=row.id) is None:
        return None
    return view(session, row.id)


def decision_markdown(request: DiscountRequest) -> str:
    """The rules' decision on a request as the approver reads it in the Prefect UI."""
    decision = request.decision
    reasons = "\n".join(f"- **{r['rule']}**: {r['text']}" for r in reasons_in(object_session(request), decision))
    return (
        f"### Discount request {request.id}: {request.status}\n\n"
        f"| customer | class | column | asked | granted | order total |\n|---|---|---|---|---|---|\n"
        f"| {request.customer.code} {request.customer.name} | {request.customer.customer_class} "
        f"| {request.price_column} | {pct(request.discount_pct)} | {pct(request.granted_pct)} "
        f"| {request.order_total:,.2f} {request.currency} |\n\n"
        f"Rules said **{decision['outcome']}**{to_whom(decision)}:\n\n{reasons}\n\n"
        f"Requested by {request.requester.full_name} ({request.requester.login}). "
        f"Note: {request.note or '—'}\n\n"
        f"Rule set `{decision['ruleset']}` version `{request.rules_version[:12]}`."
    )
