"""What a person started (`kamflow.started`), a subject's history (`kamflow.timeline`), withdrawing a request, and
the human part of a decision in the views: in-process, on the demo company."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow import approvals, audit, org
from kamflow.discounts import PROCESS
from kamflow.discounts import service as discounts
from kamflow.discounts import views as discount_views
from kamflow.discounts.tables import DiscountRequest
from kamflow.errors import NotPermitted
from kamflow.models import ApprovalTask, AuditEvent
from kamflow.started import started_by, withdraw
from kamflow.timeline import timeline
from tests.conftest import NOW, TODAY
from tests.unit.test_discounts import ask, norm

LATER = NOW + dt.timedelta(hours=2)


def escalated(session: Session) -> tuple[DiscountRequest, ApprovalTask]:
    """C0001's KAM asks for 2 points above the norm: the request waits for the department head."""
    row = discounts.submit(session, request=ask(session, discount_pct=norm(session) + 2), flow_run_id="r", now=NOW)
    task = approvals.open_task(
        session,
        process=PROCESS,
        subject_id=row.id,
        title="Discount",
        explanation="",
        role=row.decision["role"],
        requester=row.requester,
        flow_run_id=None,
        now=NOW,
        deadline=dt.timedelta(hours=48),
    )
    return row, task


def counter(session: Session, row: DiscountRequest, task: ApprovalTask, pct: str) -> None:
    approvals.decide(
        session,
        task=task,
        login=task.owner.login,
        action="counter",
        comment="Meet halfway.",
        payload={"action": "counter", "discount_pct": pct},
        check=discounts.check_answer(row),
        now=LATER,
        on=TODAY,
    )
    discounts.apply_answer(session, subject_id=row.id, task_id=task.id, now=LATER)


def test_a_counter_offer_shows_who_countered_by_name_and_position_when_in_the_company_timezone_and_why(
    session: Session,
) -> None:
    row, task = escalated(session)
    counter(session, row, task, "12.5")
    view = discount_views.view(session, row.id)
    verdict = view.verdict
    assert verdict is not None
    assert (verdict.outcome, verdict.figure, verdict.by.login) == ("COUNTERED", "12.5%", task.owner.login)
    assert verdict.at == LATER and verdict.at.utcoffset() == dt.timedelta(hours=1)  # Madrid in March
    first_line = view.text().splitlines()[0]
    assert first_line == (
        f"request {row.id} for C0001: COUNTERED 12.5% by López Navarro, Elena (Head of Sales North), "
        "2026-03-16 12:30 CET, 'Meet halfway.'"
    )
    dumped = view.model_dump(mode="json")["verdict"]
    assert dumped["by"] == {
        "login": "head.north",
        "name": "López Navarro, Elena",
        "position": "Head of Sales North",
    }
    assert dumped["at"] == "2026-03-16T12:30:00+01:00"


def test_the_history_reads_the_rules_the_task_and_the_decision_once_in_words(session: Session) -> None:
    row, task = escalated(session)
    counter(session, row, task, "12.5")
    steps = timeline(session, process=PROCESS, subject_id=row.id)
    assert [s.actor for s in steps] == ["rules", "kamflow", "head.north"]
    rules, opened, decided = steps
    assert rules.what == "the rules said escalate"
    assert rules.version == row.rules_version[:12] and rules.comment
    assert opened.what == f"task {task.id} opened for head.north (department head)"
    assert decided.what == f"COUNTERED 12.5% (task {task.id})"
    assert (decided.actor_name, decided.actor_position, decided.comment) == (
        "López Navarro, Elena",
        "Head of Sales North",
        "Meet halfway.",
    )
    assert decided.at.isoformat() == "2026-03-16T12:30:00+01:00"
    assert "López Navarro, Elena (Head of Sales North): COUNTERED 12.5%" in decided.text()


def test_my_requests_lists_what_i_started_with_its_open_task_and_then_its_decision(session: Session) -> None:
    row, task = escalated(session)
    kam = row.requester.login
    [mine] = [s for s in started_by(session, kam) if s.process == PROCESS and s.subject_id == row.id]
    assert (mine.status, mine.task_id, mine.assignee, mine.about) == ("pending", task.id, "head.north", "C0001")
    assert mine.verdict is None and "waiting for head.north" in mine.text()
    assert all(s.subject_id != row.id for s in started_by(session, "kam.south1") if s.process == PROCESS)
    counter(session, row, task, "12.5")
    [mine] = [s for s in started_by(session, kam) if s.process == PROCESS and s.subject_id == row.id]
    assert (mine.status, mine.task_id) == ("approved", None)
    assert mine.verdict is not None and mine.verdict.outcome == "COUNTERED"
    assert "12.5% granted" in mine.figure


def test_the_requester_withdraws_a_waiting_request_its_task_closes_and_the_approver_no_longer_sees_it(
    session: Session,
) -> None:
    row, task = escalated(session)
    head = task.owner
    assert task in approvals.pending_for(session, head, on=TODAY)
    withdraw(session, process=PROCESS, subject_id=row.id, person=row.requester, reason="customer left", now=LATER)
    assert (row.status, task.status) == ("withdrawn", "cancelled")
    assert task not in approvals.pending_for(session, head, on=TODAY)
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "withdrawn", AuditEvent.subject_id == row.id)
    ).one()
    assert (event.actor, event.detail["reason"]) == (row.requester.login, "customer left")
    assert timeline(session, process=PROCESS, subject_id=row.id)[-1].what == "WITHDRAWN"
    assert "WITHDRAWN" in discount_views.view(session, row.id).text()


@pytest.mark.parametrize("who", ["kam.south1", "head.north"])
def test_only_the_requester_may_withdraw_and_only_while_it_waits(session: Session, who: str) -> None:
    row, _task = escalated(session)
    with pytest.raises(NotPermitted, match=f"only {row.requester.login} may withdraw") as refused:
        withdraw(
            session, process=PROCESS, subject_id=row.id, person=org.employee(session, who), reason="", now=LATER
        )
    assert refused.value.actor == who and row.status == "pending"
    withdraw(session, process=PROCESS, subject_id=row.id, person=row.requester, reason="", now=LATER)
    with pytest.raises(NotPermitted, match="is withdrawn: only a waiting one"):
        withdraw(session, process=PROCESS, subject_id=row.id, person=row.requester, reason="", now=LATER)


def test_a_delegate_withdraws_for_the_requester(session: Session) -> None:
    row, _task = escalated(session)
    stand_in = org.employee(session, "kam.north2")
    org.delegate(
        session,
        frm=row.requester,
        to=stand_in,
        valid_from=TODAY,
        valid_to=TODAY,
        order_ref="Order 7/2026",
        now=NOW,
    )
    withdraw(session, process=PROCESS, subject_id=row.id, person=stand_in, reason="", now=LATER)
    assert row.status == "withdrawn"
    assert timeline(session, process=PROCESS, subject_id=row.id)[-1].what == f"WITHDRAWN for {row.requester.login}"


def test_what_kamflow_does_on_a_subject_naming_its_task_stays_in_the_history(session: Session) -> None:
    """A re-check's release names the task it closed (no person decided it): the history keeps it."""
    row, task = escalated(session)
    approvals.claim(session, task, by=None, action="approve", comment="released", payload={}, now=LATER)
    audit.record(
        session,
        at=LATER,
        actor="kamflow",
        action="discount_released_on_recheck",
        subject_type="discount_request",
        subject_id=row.id,
        detail={"task": task.id},
    )
    steps = timeline(session, process=PROCESS, subject_id=row.id)
    assert [s.what for s in steps][-2:] == [
        f"task {task.id} closed by kamflow: approve",
        "discount released on recheck",
    ]
