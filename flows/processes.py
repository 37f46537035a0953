"""Every process kamflow runs, declared once: its flow, its deployment, how a command starts it and reads back what
it did, and — where people decide in it — the answer its human step waits for, how the decided subject is shown and
how its overdue tasks are swept. The deployments `kamflow serve` and `kamflow worker` serve, the commands that
start and decide, and the deadlines sweep are all derived from `PROCESSES`.

A new process: its own flow module and domain package, and one entry in `PROCESSES` here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from prefect import Flow, flow
from prefect.schedules import Cron, Interval, Schedule
from prefect.types.entrypoint import EntrypointType
from pydantic import SerializeAsAny, SerializerFunctionWrapHandler, model_serializer
from sqlalchemy.orm import Session

from flows import labels
from flows.discount import DiscountAnswer, discount_authorization
from flows.documents import DocumentAnswer, document_approval
from flows.human import ApprovalInput, Then
from flows.order_credit import LimitChangeAnswer, OrderCreditAnswer, credit_limit_change, order_credit_check
from flows.recovery import recover
from flows.review import credit_review_shard, nightly_credit_review
from flows.settle import Apply, carry
from flows.solvency import SolvencyAnswer, solvency_check
from kamflow import approvals, clock
from kamflow.credit import limits, orders, solvency
from kamflow.credit import views as credit_views
from kamflow.db import unit_of_work
from kamflow.discounts import service as discounts
from kamflow.discounts import views as discount_views
from kamflow.documents import answers as document_answers
from kamflow.documents import submission as document_submission
from kamflow.documents import sweep as document_sweep
from kamflow.documents import views as document_views
from kamflow.documents.chains import current as current_chains
from kamflow.errors import NotFound
from kamflow.models import ApprovalTask
from kamflow.settings import Settings, get_settings
from kamflow.views import View

Row = TypeVar("Row")


class Sweep(Protocol):
    def __call__(self, session: Session, *, now: dt.datetime) -> list[ApprovalTask]: ...


@dataclass(frozen=True)
class Start:
    """How a person's command starts the process: the flow's parameter that takes the request, the check that
    refuses a wrong request before anything starts (it writes nothing), and the subject a run made once it
    stands still — decided, or waiting with its task open (None while the run is on its way there)."""

    parameter: str
    prepare: Callable[[Session, Any], object]
    settled: Callable[[Session, str], View | None]


@dataclass(frozen=True)
class Waits:
    """How people decide in the process: the answer its human step waits for and the business check on it; how a
    decided task's answer is carried onto the subject (in the transaction that decides it); the subject once the
    answer has landed (None while it still waits); and how its overdue tasks are swept — by the shared escalation
    unless it keeps deadlines of its own."""

    answer: type[ApprovalInput]
    check_for: approvals.CheckFor
    apply: Then
    decided: Callable[[Session, int], View | None]
    sweep: Sweep | None = None


@dataclass(frozen=True)
class Process:
    flow: Flow[..., Any]
    description: str
    start: Start | None = None
    waits: Waits | None = None
    schedule: Callable[[Settings], Schedule] | None = None

    @property
    def name(self) -> str:
        """The process's name: its flow's, its deployment's and its tasks' `process`."""
        return self.flow.name


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
    apply: Apply,
) -> Waits:
    """How people decide in a credit-control process: its subjects show as `kamflow.credit.views` shows them."""
    return Waits(
        answer,
        _check_on(get, check_answer),
        carry(apply),
        lambda s, id_: credit_views.decided(s, process, id_),
    )


def _credit_start(process: str, parameter: str, prepare: Callable[[Session, Any], object]) -> Start:
    return Start(parameter, prepare, lambda session, run_id: credit_views.settled_run(session, process, run_id))


def sweep_overdue(session: Session, *, now: dt.datetime) -> list[ApprovalTask]:
    """Every overdue task swept its process's way: the shared escalation for all but the processes that keep
    deadlines of their own, then each of those; returns the tasks opened one level up."""
    own = {p.name: p.waits.sweep for p in PROCESSES.values() if p.waits is not None and p.waits.sweep is not None}
    opened = approvals.escalate_overdue(
        session, now=now, deadline=get_settings().approval_deadline, exclude=tuple(own)
    )
    for sweep in own.values():
        opened += sweep(session, now=now)
    return opened


@flow(name="approval-deadlines", log_prints=False)
def approval_deadlines() -> list[int]:
    """Bring back the runs of waiting tasks that no process carries on (`flows.recovery`), then sweep every
    process's overdue tasks; returns the ids of the tasks opened one level up."""
    recover(now=clock.now())
    with unit_of_work() as session:
        opened = [(task.id, task.flow_run_id) for task in sweep_overdue(session, now=clock.now())]
    labels.retag(run_id for _task, run_id in opened)  # the ops console shows whom each run waits for now
    return [task_id for task_id, _run_id in opened]


PROCESSES: dict[str, Process] = {
    p.name: p
    for p in [
        Process(
            discount_authorization,
            "Discount authorization by price-list column and company norms (2.9, 2.18).",
            start=Start(
                "request",
                lambda session, ask: discounts.facts(session, ask, on=ask.requested_on or clock.today()),
                discount_views.settled_run,
            ),
            waits=Waits(
                DiscountAnswer,
                _check_on(discounts.get, discounts.check_answer),
                carry(discounts.apply_answer),
                discount_views.decided,
            ),
        ),
        Process(
            document_approval,
            "Internal documents through their approval chains: agree, approve, acknowledge.",
            start=Start(
                "document",
                lambda session, document: document_submission.validate(session, document, current_chains()),
                document_views.started,
            ),
            waits=Waits(
                DocumentAnswer,
                document_answers.check_for,
                document_answers.apply,
                lambda session, subject_id: document_views.show(session, subject_id, on=clock.today()),
                sweep=document_sweep.sweep,
            ),
        ),
        Process(
            order_credit_check,
            "Every order against the credit limits; a blocked order waits for its release (2.6, 2.8).",
            start=_credit_start(orders.PROCESS, "order", orders.prepare),
            waits=_credit(orders.PROCESS, OrderCreditAnswer, orders.get, orders.check_answer, orders.apply_answer),
        ),
        Process(
            credit_limit_change,
            "Credit-limit changes, approved where the rules say so; blocked orders re-checked.",
            start=_credit_start(
                limits.PROCESS,
                "change",
                lambda session, change: limits.prepare(session, change, on=change.requested_on or clock.today()),
            ),
            waits=_credit(limits.PROCESS, LimitChangeAnswer, limits.get, limits.check_answer, limits.apply_answer),
        ),
        Process(
            solvency_check,
            "Customer solvency: ratios, Altman score, payment history, risk class, decision (2.5).",
            start=_credit_start(solvency.PROCESS, "request", solvency.prepare),
            waits=_credit(
                solvency.PROCESS, SolvencyAnswer, solvency.get, solvency.check_answer, solvency.apply_answer
            ),
        ),
        Process(
            approval_deadlines,
            "Escalates approval tasks past their deadline to the next level.",
            schedule=lambda settings: Interval(settings.deadline_sweep_seconds),
        ),
        Process(
            nightly_credit_review,
            "Nightly credit review: ageing, dunning, collection tasks for the KAM (2.13).",
            schedule=lambda settings: Cron(
                settings.review_cron, timezone=settings.timezone, parameters={"shards": settings.review_shards}
            ),
        ),
        Process(
            credit_review_shard,
            "One slice of a started nightly credit review; the review starts it, on any worker.",
        ),
    ]
}


def waits_of(task: ApprovalTask) -> Waits:
    """How people decide in the process the task belongs to; NotFound for a process nobody decides in."""
    found = PROCESSES.get(task.process)
    if found is None or found.waits is None:
        raise NotFound(f"no process {task.process!r}", field="task")
    return found.waits


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
    view = None if task.status == "pending" else waits_of(task).decided(session, task.subject_id)
    return None if view is None else Decided(task_id=task.id, process=task.process, subject=view)


def deployment_options(process: Process, settings: Settings) -> dict[str, Any]:
    """How a process is deployed: `kamflow serve` and every `kamflow worker` serve it with its flow in hand, each
    registering it on the Prefect server with these options."""
    return {
        "name": process.name,
        "entrypoint_type": EntrypointType.MODULE_PATH,
        "description": process.description,
        "schedules": None if process.schedule is None else [process.schedule(settings)],
    }
