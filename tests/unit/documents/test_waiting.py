"""One suspended run waits for any of a subject's tasks: which task an answer is for, and the wait's key."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from kamflow import approvals
from kamflow.documents import service
from kamflow.documents.sweep import sweep
from kamflow.models import ApprovalTask
from tests.conftest import NOW, TODAY
from tests.unit.documents.conftest import act, submit, waiting


def key(session: Session, document_id: int) -> str:
    return approvals.waiting_key(session, process=service.PROCESS, subject_id=document_id)


def test_an_answer_is_for_the_task_it_names_else_the_approvers_own_else_the_first(session: Session) -> None:
    document = submit(session)
    mine = waiting(session, document)
    first = min(mine.values(), key=lambda t: t.id)

    def answered(login: str, task_id: int | None = None) -> ApprovalTask:
        return approvals.answered(
            session, process=service.PROCESS, subject_id=document.id, login=login, task_id=task_id, on=TODAY
        )

    assert answered("planning") is mine["planning"]
    assert answered("planning", task_id=mine["hr"].id) is mine["hr"]
    assert answered("kam.south2") is first  # deciding it then refuses kam.south2, with the reason
    assert answered("hr", task_id=10_000) is mine["hr"]  # a task of another subject is not taken


def test_the_key_moves_with_each_decision_and_refusal_but_not_with_an_escalation(session: Session) -> None:
    document = submit(session)
    start = key(session, document.id)
    assert start == f"{service.PROCESS}-{document.id}-0"  # the same shape a single-task process has
    act(session, waiting(session, document)["hr"], "hr")
    after_one = key(session, document.id)
    assert after_one != start
    sweep(session, now=NOW + dt.timedelta(days=10))  # escalations while the run is suspended
    assert key(session, document.id) == after_one
    late = approvals.pending(session, process=service.PROCESS, subject_id=document.id)[0]
    approvals.refuse(session, task=late, login="kam.north1", reason="no", now=NOW)
    assert key(session, document.id) not in (start, after_one)
