"""A document's author withdraws it while it is in review or returned to them: every step still open is cancelled
with its tasks, and its history reads each person's answer once, in the words of its step."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow import approvals, org
from kamflow.documents import service
from kamflow.documents.tables import DocumentStep
from kamflow.errors import NotPermitted
from kamflow.started import started_by, withdraw
from kamflow.timeline import timeline
from tests.conftest import NOW
from tests.unit.documents.conftest import act, submit, waiting

LATER = NOW + dt.timedelta(hours=1)


def test_the_author_withdraws_a_document_in_review_and_nothing_waits_any_more(session: Session) -> None:
    document = submit(session)
    tasks = waiting(session, document)
    act(session, tasks["hr"], "hr", comment="fine by HR")
    with pytest.raises(NotPermitted, match=r"only head\.north may withdraw"):
        withdraw(
            session,
            process=service.PROCESS,
            subject_id=document.id,
            person=org.employee(session, "legal"),
            reason="",
            now=LATER,
        )
    withdraw(
        session,
        process=service.PROCESS,
        subject_id=document.id,
        person=document.author,
        reason="wrong position",
        now=LATER,
    )
    assert document.status == "withdrawn"
    assert approvals.pending(session, process=service.PROCESS, subject_id=document.id) == []
    steps = session.scalars(select(DocumentStep).where(DocumentStep.document_id == document.id)).all()
    assert "open" not in {step.status for step in steps}
    [mine] = [s for s in started_by(session, "head.north", on=NOW.date()) if s.process == service.PROCESS]
    assert (mine.subject_id, mine.status, mine.task_id) == (document.id, "withdrawn", None)
    assert mine.verdict is not None and (mine.verdict.outcome, mine.verdict.by.login) == ("AGREED", "hr")
    history = timeline(session, process=service.PROCESS, subject_id=document.id)
    [agreed] = [step for step in history if step.actor == "hr"]
    assert agreed.what == f"AGREED (task {tasks['hr'].id})" and agreed.comment == "fine by HR"
    assert (agreed.version, agreed.actor_position) == ("1", "HR Manager")
    assert history[-1].what == "WITHDRAWN" and history[-1].comment == "wrong position"
