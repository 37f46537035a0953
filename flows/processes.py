"""Every process people decide in, by name: the answer its human step waits for, how a decided subject is shown
and how its overdue tasks are swept. It imports no deployment, so the flows that sweep and the CLI side that
resumes can read it; `flows.registry` deploys the flows.

A new process people decide in registers here: one entry in `PROCESSES` (and its deployment in the registry).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from pydantic import SerializeAsAny, SerializerFunctionWrapHandler, model_serializer
from sqlalchemy.orm import Session

from flows.discount import DiscountAnswer
from flows.documents import DocumentAnswer
from flows.human import ApprovalInput
from flows.order_credit import LimitChangeAnswer, OrderCreditAnswer
from flows.solvency import SolvencyAnswer
from kamflow import approvals, clock, discounts
from kamflow.credit import limits, orders, solvency
from kamflow.credit import views as credit_views
from kamflow.documents import service as documents
from kamflow.documents import views as document_views
from kamflow.errors import NotFound
from kamflow.models import ApprovalTask
from kamflow.settings import get_settings
from kamflow.views import View

ShowDecided = Callable[[Session, int], View | None]


class Sweep(Protocol):
    def __call__(self, session: Session, *, now: dt.datetime) -> list[ApprovalTask]: ...


@dataclass(frozen=True)
class Process:
    """A process people decide in: the answer its human step waits for and the business check on it; how
    `kamflow decide` shows the subject once the answer has landed (None while it still waits); and how its
    overdue tasks are swept — by the shared escalation unless it keeps deadlines of its own."""

    answer: type[ApprovalInput]
    check_for: approvals.CheckFor
    decided: ShowDecided
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
    discounts.PROCESS: Process(
        DiscountAnswer, _check_on(discounts.get, discounts.check_answer), discounts.decided
    ),
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
    """The entry of the process the task belongs to."""
    if task.process not in PROCESSES:
        raise NotFound(f"no process {task.process!r}", field="task")
    return PROCESSES[task.process]


class Decided(View):
    """What `kamflow decide` shows once the answer to a task has landed: the process the task belongs to and its
    subject as the process shows it, serialised flat (`task_id`, `process`, then the subject's own fields; a
    subject that names a task of its own, even none, keeps its `task_id`), and read as the subject reads."""

    task_id: int
    process: str
    subject: SerializeAsAny[View]

    @model_serializer(mode="wrap")
    def _flat(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        data = handler(self)
        subject = data.pop("subject")
        return {**data, **subject}

    def text(self) -> str:
        return self.subject.text()


def decided_view(session: Session, task: ApprovalTask) -> Decided | None:
    """What `kamflow decide` returns once the answer to the task has landed; None while it still waits."""
    view = None if task.status == "pending" else process_of(task).decided(session, task.subject_id)
    return None if view is None else Decided(task_id=task.id, process=task.process, subject=view)


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
