"""Reminders and deadline escalation of document steps, driven by an injected clock (no sleeping)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow import approvals
from kamflow.documents import service
from kamflow.documents.sweep import sweep
from kamflow.documents.tables import Document, DocumentStepTask
from kamflow.models import AuditEvent
from tests.conftest import NOW
from tests.unit.documents.conftest import MEMO, act, agree_all, delegate, one_stage_chain, submit, waiting
from tests.unit.statements import reads, statements

DAY = dt.timedelta(days=1)
SECOND = dt.timedelta(seconds=1)  # NOW is Monday 09:30 UTC; agreement steps have 3 business days


def reminders(session: Session) -> list[tuple[int, str]]:
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "task_reminder").order_by(AuditEvent.id)
    )
    return [(e.detail["reminder"], e.detail["to"]) for e in events]


def test_each_waiting_person_is_reminded_once_a_business_day(session: Session) -> None:
    friday = NOW - 3 * DAY
    document = submit(session, now=friday)
    sweep(session, now=friday + DAY)
    sweep(session, now=NOW - SECOND)
    assert reminders(session) == []  # not on Saturday, nor on Monday before the hour
    sweep(session, now=NOW)
    assert sorted(reminders(session)) == [(1, "commercial"), (1, "hr"), (1, "legal"), (1, "planning")]
    sweep(session, now=NOW + dt.timedelta(hours=3))
    assert len(reminders(session)) == 4
    act(session, waiting(session, document)["legal"], "legal")
    sweep(session, now=NOW + DAY)
    assert sorted(reminders(session)[4:]) == [(2, "commercial"), (2, "hr"), (2, "planning")]
    assert sorted(link.reminders for link in session.scalars(select(DocumentStepTask))) == [1, 2, 2, 2]


def test_past_the_deadline_a_step_goes_to_the_superior_and_the_chain_goes_on(session: Session) -> None:
    document = submit(session)
    for login in ("hr", "planning", "commercial"):
        act(session, waiting(session, document)[login], login)
    thursday = NOW + 3 * DAY
    assert sweep(session, now=thursday) == []
    [opened] = sweep(session, now=thursday + SECOND)
    assert opened.owner.login == "director" and opened.level == 2  # the legal counsel's superior
    assert waiting(session, document).keys() == {"director"}
    assert service.step_of(session, opened).name == "legal"
    act(session, opened, "director", now=thursday + 2 * SECOND)
    assert [t.role for t in approvals.pending(session, process=service.PROCESS, subject_id=document.id)] == [
        "director"
    ]


def test_a_step_with_nobody_to_escalate_to_is_flagged_and_keeps_waiting(session: Session) -> None:
    document = submit(session)
    agree_all(session, document)
    approval = waiting(session, document)["director"]
    late = approval.due_at + SECOND
    assert sweep(session, now=late) == []
    assert approval.status == "pending" and approval.due_at > late
    flagged = session.scalars(select(AuditEvent).where(AuditEvent.action == "deadline_passed")).all()
    assert [e.subject_id for e in flagged] == [approval.id]


def test_a_step_may_escalate_to_a_configured_role(session: Session) -> None:
    chains = one_stage_chain(
        "{name: credit, who: {role: credit_controller}, escalate: {to: role, role: director}}"
    )
    memo = submit(session, author="kam.north1", doc_type="memo", content=MEMO, fields={}, chains=chains)
    task = waiting(session, memo)["credit"]
    [opened] = sweep(session, now=task.due_at + SECOND)
    assert opened.owner.login == "director"  # not the credit controller's superior (the commercial director)


def test_the_general_sweep_leaves_document_steps_to_their_chain(session: Session) -> None:
    submit(session)
    later = NOW + 10 * DAY
    assert (
        approvals.escalate_overdue(session, now=later, deadline=dt.timedelta(hours=48), exclude=(service.PROCESS,))
        == []
    )
    assert len(sweep(session, now=later)) == 4


def test_a_reminder_goes_to_whoever_acts_for_the_owner(session: Session) -> None:
    friday = NOW - 3 * DAY
    submit(session, now=friday)
    for frm, to in (("legal", "credit"), ("credit", "support")):
        delegate(session, frm, to, NOW.date(), NOW.date())
    sweep(session, now=NOW)
    assert sorted(reminders(session)) == [(1, "commercial"), (1, "hr"), (1, "planning"), (1, "support")]


def test_the_sweep_reads_the_same_statements_however_many_tasks_wait(session: Session) -> None:
    """Reminders and escalations write one audit event each; what the sweep reads stays a fixed handful."""

    audit_writes: list[int] = []

    def swept(now: dt.datetime) -> tuple[int, int]:
        with statements(session) as sent:
            opened = sweep(session, now=now)
        audit_writes.append(sum(1 for s in sent if s.lstrip().startswith("INSERT INTO audit_events")))
        return reads(sent), len(opened)

    submit(session, now=NOW - 3 * DAY)
    one = swept(NOW)  # four reminders
    for _ in range(3):
        submit(session, now=NOW)
    four = swept(NOW + DAY + SECOND)  # sixteen reminders
    late = swept(NOW + 10 * DAY)  # sixteen reminders and escalations
    assert len(reminders(session)) == 4 + 16 + 16
    assert (one, four, late) == ((2, 0), (2, 0), (2, 16))  # the pending tasks with all they need, the delegations
    assert audit_writes == [1, 1, 1]  # a sweep's reminders, escalations and opened tasks: one statement


def test_a_sweep_looks_up_the_holder_of_a_role_once_per_owner(session: Session) -> None:
    """The legal counsel is nowhere in the credit controller's line, so each look-up asks for the company's
    holder: once for all the credit controller's late tasks in a sweep."""
    chains = one_stage_chain("{name: credit, who: {role: credit_controller}, escalate: {to: role, role: legal}}")

    def memo(now: dt.datetime) -> Document:
        return submit(
            session, author="kam.north1", doc_type="memo", content=MEMO, fields={}, chains=chains, now=now
        )

    def swept(now: dt.datetime) -> tuple[int, list[str]]:
        with statements(session) as sent:
            opened = sweep(session, now=now)
        return reads(sent), [task.owner.login for task in opened]

    first = memo(NOW)  # due on Thursday
    for _ in range(4):
        memo(NOW + DAY)  # due on Friday
    one = swept(NOW + 3 * DAY + SECOND)
    act(session, waiting(session, first)["legal"], "legal", now=NOW + 3 * DAY + 2 * SECOND)
    four = swept(NOW + 4 * DAY + SECOND)
    # the pending tasks, the delegations, the credit controller's superior's superior, the holder of the role
    assert one == (4, ["legal"]) and four == (4, ["legal"] * 4)
