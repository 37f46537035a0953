"""The process table (flows.processes): how overdue tasks are swept, how a decided subject is shown, and how
`kamflow decide` prints it — by the process its task belongs to."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from flows.processes import PROCESSES, approval_deadlines, decided_view, sweep_overdue
from kamflow import approvals, discounts
from kamflow.credit import limits, orders, solvency
from kamflow.discounts import service as discount_requests
from kamflow.discounts.tables import DiscountRequest
from kamflow.discounts.views import DiscountView, decision_markdown
from kamflow.documents import service as documents
from kamflow.documents.tables import DocumentStepTask
from kamflow.models import ApprovalTask
from kamflow.settings import Settings
from tests.conftest import NOW, TODAY
from tests.unit.credit.conftest import change
from tests.unit.credit.test_limits import approve
from tests.unit.credit.test_orders import blocked_order, settle
from tests.unit.credit.test_solvency import check, head_asks_prepayment
from tests.unit.documents.conftest import act, submit, waiting
from tests.unit.test_discounts import ask, norm


def waiting_discount(session: Session, settings: Settings) -> tuple[DiscountRequest, ApprovalTask]:
    above_norm = ask(session, discount_pct=norm(session) + 1)
    row = discount_requests.submit(session, request=above_norm, flow_run_id=None, now=NOW)
    assert row.status == "pending"
    task = approvals.open_task(  # as the flow's human step opens it
        session,
        process=discounts.PROCESS,
        subject_id=row.id,
        title=f"Discount for {row.customer.code}",
        explanation=decision_markdown(row),
        role=row.decision["role"],
        requester=row.requester,
        flow_run_id=None,
        now=NOW,
        deadline=settings.approval_deadline,
    )
    return row, task


def test_overdue_tasks_are_swept_each_their_process_way(session: Session, settings: Settings) -> None:
    submit(session)  # a document whose first step waits for four people
    _row, task = waiting_discount(session, settings)
    later = NOW + dt.timedelta(days=10)
    opened = sweep_overdue(session, now=later)
    assert Counter(t.process for t in opened) == {discounts.PROCESS: 1, documents.PROCESS: 4}
    [up] = [t for t in opened if t.process == discounts.PROCESS]  # the shared escalation: one level up
    assert up.owner == task.owner.manager and up.due_at == later + settings.approval_deadline
    linked = set(session.scalars(select(DocumentStepTask.task_id)))  # the chain's own sweep links its successors
    assert {t.id for t in opened if t.process == documents.PROCESS} <= linked


def test_the_deadlines_flow_sweeps_through_the_process_table(session: Session, settings: Settings) -> None:
    submit(session)
    waiting_discount(session, settings)
    session.commit()  # the flow reads in its own transaction, at the real clock: long past NOW's deadlines
    opened = approval_deadlines.fn()
    assert sorted(session.scalars(select(ApprovalTask.process).where(ApprovalTask.id.in_(opened)))) == [
        discounts.PROCESS,
        *[documents.PROCESS] * 4,
    ]


def test_a_discount_request_shows_once_its_answer_has_landed(session: Session, settings: Settings) -> None:
    row, task = waiting_discount(session, settings)
    assert decided_view(session, task) is None
    approvals.decide(
        session,
        task=task,
        login=task.owner.login,
        action="approve",
        comment="",
        payload={"action": "approve"},
        check=discount_requests.check_answer(row),
        now=NOW,
        on=TODAY,
    )
    discount_requests.apply_answer(session, subject_id=row.id, task_id=task.id, now=NOW)
    view = decided_view(session, task)
    assert view is not None and isinstance(view.subject, DiscountView)
    assert view.subject.granted_pct == view.subject.discount_pct
    shown = view.model_dump(mode="json")  # flat: the task and process, then the subject's own fields
    assert (shown["status"], shown["decided_by"], shown["task_id"]) == ("approved", task.owner.login, None)
    assert shown["process"] == discounts.PROCESS
    assert view.text().startswith(
        f"request {row.id} for {row.customer.code}: APPROVED by {task.owner.full_name} ("
    )


def decided_order(session: Session) -> tuple[ApprovalTask, str]:
    check = settle(session, blocked_order(session), action="release")
    head = f"order {check.order.number} for C0001, {check.order.amount:,} {check.order.currency}: RELEASED "
    return _task_of(session, orders.PROCESS, check.id), head


def decided_limit(session: Session) -> tuple[ApprovalTask, str]:
    row = approve(session, change(session, "C0001", "10000000.00"), "approve")
    head = f"total limit of C0001 {row.old_limit:,} → 10,000,000.00: APPLIED"
    return _task_of(session, limits.PROCESS, row.id), head


def decided_check(session: Session) -> tuple[ApprovalTask, str]:
    row = check(session, "C0002")
    task = head_asks_prepayment(session, row)
    solvency.apply_answer(session, subject_id=row.id, task_id=task.id, now=NOW)
    return task, "solvency of C0002: risk class D, Altman Z″ -1.58 (distress) — PREPAYMENT"


def decided_document(session: Session) -> tuple[ApprovalTask, str]:
    document = submit(session)
    task = waiting(session, document)["legal"]
    act(session, task, "legal")
    return task, f"document {document.id} (job_description) version 1 "


def _task_of(session: Session, process: str, subject_id: int) -> ApprovalTask:
    task = approvals.current(session, process=process, subject_id=subject_id)
    assert task is not None
    return task


DECIDED = {
    orders.PROCESS: decided_order,
    limits.PROCESS: decided_limit,
    solvency.PROCESS: decided_check,
    documents.PROCESS: decided_document,
}


@pytest.mark.parametrize("process", sorted(DECIDED))
def test_decide_prints_the_subject_as_its_view_reads(session: Session, process: str) -> None:
    task, head = DECIDED[process](session)
    view = decided_view(session, task)
    assert view is not None and view.process == process and view.text() == view.subject.text()
    assert view.text().startswith(head)
    shown = view.model_dump(mode="json")
    assert shown == {"task_id": task.id, "process": process} | view.subject.model_dump(mode="json")


def test_every_process_people_decide_in_prints_its_decided_subject() -> None:
    decided_in = {name for name, process in PROCESSES.items() if process.waits is not None}
    assert {*DECIDED, discounts.PROCESS} == decided_in
