"""Every process kamflow runs: its deployment and, where people decide in it, its entry in `PROCESSES` (the
answer it waits for, how a decided subject is shown, how its overdue tasks are swept).

A new process registers here: one entry in `deployments` and, if people decide in it, one in `PROCESSES`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast

from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron
from prefect.types.entrypoint import EntrypointType
from sqlalchemy.orm import Session

from flows.deadlines import approval_deadlines
from flows.discount import DiscountAnswer, discount_authorization
from flows.documents import DocumentAnswer, document_approval
from flows.human import ApprovalInput
from flows.order_credit import LimitChangeAnswer, OrderCreditAnswer, credit_limit_change, order_credit_check
from flows.review import SHARD_PROCESS, credit_review_shard, nightly_credit_review
from flows.solvency import SolvencyAnswer, solvency_check
from kamflow import approvals, clock, discounts
from kamflow.client import decided_request
from kamflow.credit import limits, orders, solvency
from kamflow.credit import views as credit_views
from kamflow.documents import service as documents
from kamflow.documents import views as document_views
from kamflow.errors import NotFound
from kamflow.models import ApprovalTask
from kamflow.settings import Settings, get_settings

Decided = Callable[[Session, int], dict[str, Any] | None]


class Sweep(Protocol):
    def __call__(self, session: Session, *, now: dt.datetime) -> list[ApprovalTask]: ...


@dataclass(frozen=True)
class Process:
    """A process people decide in: the answer its human step waits for and the business check on it; how
    `kamflow decide` shows the subject once the answer has landed (None while it still waits); and how its
    overdue tasks are swept — by the shared escalation unless it keeps deadlines of its own."""

    answer: type[ApprovalInput]
    check_for: approvals.CheckFor
    decided: Decided
    sweep: Sweep | None = None


Row = TypeVar("Row")


def _check_on(
    get: Callable[[Session, int], Row], check_answer: Callable[[Row], approvals.Check]
) -> approvals.CheckFor:
    """The business check on an answer to a task: the process's check on the task's subject."""
    return lambda session, task: check_answer(get(session, task.subject_id))


def _credit(
    process: str,
    answer: type[ApprovalInput],
    get: Callable[[Session, int], Row],
    check_answer: Callable[[Row], approvals.Check],
) -> Process:
    """A credit-control process: its subjects are shown as `kamflow.credit.views` shows them."""
    return Process(
        answer,
        _check_on(get, check_answer),
        lambda session, subject_id: credit_views.decided(session, process, subject_id),
    )


PROCESSES: dict[str, Process] = {
    discounts.PROCESS: Process(DiscountAnswer, _check_on(discounts.get, discounts.check_answer), decided_request),
    documents.PROCESS: Process(
        DocumentAnswer,
        documents.check_for,
        lambda s, subject_id: document_views.show(s, subject_id, on=clock.today()),
        sweep=documents.sweep,
    ),
    orders.PROCESS: _credit(orders.PROCESS, OrderCreditAnswer, orders.get, orders.check_answer),
    limits.PROCESS: _credit(limits.PROCESS, LimitChangeAnswer, limits.get, limits.check_answer),
    solvency.PROCESS: _credit(solvency.PROCESS, SolvencyAnswer, solvency.get, solvency.check_answer),
}


def process_of(task: ApprovalTask) -> Process:
    """The registry entry of the process the task belongs to."""
    if task.process not in PROCESSES:
        raise NotFound(f"no process {task.process!r}", field="task")
    return PROCESSES[task.process]


def sweep_overdue(session: Session, *, now: dt.datetime) -> list[ApprovalTask]:
    """Every overdue task swept its process's way: the shared escalation for all but the processes that keep
    deadlines of their own, then each of those; returns the tasks opened one level up."""
    own = {name: process.sweep for name, process in PROCESSES.items() if process.sweep is not None}
    opened = approvals.escalate_overdue(
        session, now=now, deadline=get_settings().approval_deadline, exclude=tuple(own)
    )
    for sweep in own.values():
        opened += sweep(session, now=now)
    return opened


def deployments(settings: Settings) -> list[RunnerDeployment]:
    made = [
        discount_authorization.to_deployment(
            name="discount-authorization",
            entrypoint_type=EntrypointType.MODULE_PATH,
            description="Discount authorization by price-list column and company norms (2.9, 2.18).",
        ),
        document_approval.to_deployment(
            name="document-approval",
            entrypoint_type=EntrypointType.MODULE_PATH,
            description="Internal documents through their approval chains: agree, approve, acknowledge.",
        ),
        order_credit_check.to_deployment(
            name=orders.PROCESS,
            entrypoint_type=EntrypointType.MODULE_PATH,
            description="Every order against the credit limits; a blocked order waits for its release (2.6, 2.8).",
        ),
        credit_limit_change.to_deployment(
            name=limits.PROCESS,
            entrypoint_type=EntrypointType.MODULE_PATH,
            description="Credit-limit changes, approved where the rules say so; blocked orders re-checked.",
        ),
        solvency_check.to_deployment(
            name=solvency.PROCESS,
            entrypoint_type=EntrypointType.MODULE_PATH,
            description="Customer solvency: ratios, Altman score, payment history, risk class, decision (2.5).",
        ),
        approval_deadlines.to_deployment(
            name="approval-deadlines",
            entrypoint_type=EntrypointType.MODULE_PATH,
            interval=settings.deadline_sweep_seconds,
            description="Escalates approval tasks past their deadline to the next level.",
        ),
        nightly_credit_review.to_deployment(
            name=nightly_credit_review.name,
            entrypoint_type=EntrypointType.MODULE_PATH,
            schedules=[Cron(settings.review_cron, timezone=settings.timezone)],
            description="Nightly credit review: ageing, dunning, collection tasks for the KAM (2.13).",
        ),
        credit_review_shard.to_deployment(
            name=SHARD_PROCESS,
            entrypoint_type=EntrypointType.MODULE_PATH,
            description="One slice of a started nightly credit review; the review starts it, on any worker.",
        ),
    ]
    return [cast(RunnerDeployment, d) for d in made]
