"""Flows `order-credit-check` and `credit-limit-change` (clauses 2.6, 2.8): thin orchestration over
`kamflow.credit.orders` and `kamflow.credit.limits`, each in the shape of `flows.settle`.

A blocked order waits (suspended) for the credit controller or the department head. A limit change the
rules do not approve at once waits for its approver; once in force, it re-checks the customer's blocked
orders in the same transaction, and this flow ends the waits of the orders it released.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from prefect import flow
from prefect.logging import get_logger
from pydantic import BaseModel, Field

from flows.human import ApprovalInput, DecimalText
from flows.runs import resume_waiting
from flows.settle import Step, settle
from kamflow import i18n, labels
from kamflow.credit import limits, orders, reports
from kamflow.credit.limits import LimitChangeIn
from kamflow.credit.orders import OrderIn
from kamflow.credit.tables import CreditLimitChange, OrderCreditCheck
from kamflow.db import unit_of_work
from kamflow.errors import KamflowError
from kamflow.i18n import N_, _


class OrderCreditAnswer(ApprovalInput):
    """The credit controller's (or department head's) answer to a blocked order."""

    action: Literal["release", "release_with_prepayment", "reject"] = Field(
        title=N_("Decision"),
        description=N_(
            "release: accept the order on credit · release_with_prepayment: accept it once the customer has paid "
            "the prepayment given below · reject: refuse the order"
        ),
    )
    amount: Annotated[Decimal, DecimalText(digits=16, decimals=2, positive=True)] | None = Field(
        default=None,
        title=N_("Prepayment"),
        description=N_(
            "Only for a release with prepayment: what the customer pays first, in the order's currency, without "
            "thousands separators and with a decimal comma or dot for cents, e.g. 15000 or 15000.50."
        ),
    )


class LimitChangeAnswer(ApprovalInput):
    """The approver's answer to a credit-limit change."""

    action: Literal["approve", "reject"] = Field(
        title=N_("Decision"),
        description=N_("approve: put the new limit in force · reject: keep the limit as it is"),
    )


class OrderOutcome(BaseModel):
    check_id: int
    order: str
    status: str
    rules_version: str


class LimitOutcome(BaseModel):
    change_id: int
    status: str
    released_orders: list[int]
    rules_version: str


def _order_step(check: OrderCreditCheck) -> Step:
    number = check.order.number
    return Step(
        process=orders.PROCESS,
        subject_id=check.id,
        run_name=f"order-{number}-{check.customer.code}",
        customer=check.customer.code,
        waiting=check.status == "blocked",
        title=_("Order {number} for {customer}: credit block").format(number=number, customer=check.customer.code),
        role=check.decision["role"],
        report=reports.order_markdown(check),
        report_key=f"order-credit-check-{check.id}",
        summary=_("Order {number}: {status}").format(number=number, status=labels.status(check.status)),
        check=orders.check_answer(check),
    )


@flow(name=orders.PROCESS, persist_result=True, log_prints=False)
def order_credit_check(order: OrderIn) -> OrderOutcome:
    check = settle(
        order,
        submit=orders.submit,
        apply=orders.apply_answer,
        step=_order_step,
        answer=OrderCreditAnswer,
    )
    return OrderOutcome(
        check_id=check.id, order=check.order.number, status=check.status, rules_version=check.rules_version
    )


def end_waits(released: list[int], *, why: str) -> None:
    """Resume the runs of orders a re-check released (`why`: what made it): each finds its order released and
    finishes."""
    logger = get_logger("kamflow.order_credit")
    with unit_of_work() as session:
        runs = orders.flow_runs(session, released)
    for check_id, run_id in runs:
        if run_id is None:
            continue
        comment = _("released by kamflow: re-checked after {why}").format(why=why)
        try:
            resume_waiting(
                UUID(run_id),
                # The order is already released in the database: the resumed run finds its task decided and
                # finishes without reading this answer, so it carries no approver's code — only a word in its
                # place, which the form requires and no code ever is.
                run_input={
                    "approver": "kamflow",
                    "approval_code": "none",
                    "action": "release",
                    "comment": comment,
                },
                what=f"order credit check {check_id}",
            )
        except KamflowError as gone:  # it finished on its own, or a re-run of this flow resumed it already
            logger.info("order credit check %s: %s", check_id, gone.message)


def _limit_step(change: CreditLimitChange) -> Step:
    return Step(
        process=limits.PROCESS,
        subject_id=change.id,
        run_name=f"credit-limit-{change.id}-{change.customer.code}",
        customer=change.customer.code,
        waiting=change.status == "pending",
        title=_("Credit limit for {customer}: {category} to {limit}").format(
            customer=change.customer.code,
            category=labels.category(change.category),
            limit="—" if change.new_limit is None else i18n.number(change.new_limit, 2),
        ),
        role=change.decision["role"],
        report=reports.limit_markdown(change),
        report_key=f"credit-limit-change-{change.id}",
        summary=_("Limit change {id}: {status}").format(id=change.id, status=labels.status(change.status)),
        check=limits.check_answer(change),
    )


@flow(name=limits.PROCESS, persist_result=True, log_prints=False)
def credit_limit_change(change: LimitChangeIn) -> LimitOutcome:
    row = settle(
        change,
        submit=limits.submit,
        apply=limits.apply_answer,
        step=_limit_step,
        answer=LimitChangeAnswer,
    )
    end_waits(row.released, why=_("a new limit"))
    return LimitOutcome(
        change_id=row.id, status=row.status, released_orders=row.released, rules_version=row.rules_version
    )
