"""Approval tasks: who gets them, who may decide, delegation, deadlines — on a real SQLite database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow import approvals, audit, org
from kamflow.errors import InvalidInput, NotPermitted
from kamflow.models import ApprovalTask, AuditEvent, Delegation
from kamflow.settings import Settings
from tests.conftest import NOW, TODAY
from tests.unit.statements import statements

DEADLINE = dt.timedelta(hours=48)


def no_check(_task: ApprovalTask, _payload: dict[str, Any]) -> None:
    return None


def open_for(session: Session, requester: str = "kam.north1", subject_id: int = 1) -> ApprovalTask:
    return approvals.open_task(
        session,
        process="test",
        subject_id=subject_id,
        title="t",
        explanation="e",
        role="department_head",
        requester=org.employee(session, requester),
        flow_run_id=None,
        now=NOW,
        deadline=DEADLINE,
    )


def delegate(session: Session, frm: str, to: str, start: dt.date, end: dt.date) -> None:
    session.add(
        Delegation(
            from_id=org.employee(session, frm).id,
            to_id=org.employee(session, to).id,
            valid_from=start,
            valid_to=end,
            order_ref="Order 12/2026",
            created_at=NOW,
        )
    )
    session.flush()


def test_a_task_goes_to_the_requesters_own_department_head(session: Session) -> None:
    assert open_for(session, "kam.north1").owner.login == "head.north"
    assert open_for(session, "kam.south2", subject_id=2).owner.login == "head.south"


@pytest.mark.parametrize(
    ("requester", "approver"),
    [
        ("head.north", "commercial"),  # a department head's own request: not himself, not his peer
        ("head.south", "commercial"),
        ("commercial", "director"),  # not a department head below him
        ("support", "head.north"),
    ],
)
def test_approvals_go_up_the_line_never_to_the_requester_or_below(
    session: Session, requester: str, approver: str
) -> None:
    task = open_for(session, requester)
    assert task.owner.login == approver
    assert task.owner.id != task.requester_id
    assert org.employee(session, requester) not in org.superiors(task.owner)


def test_what_the_top_of_the_line_asks_for_is_refused_with_nobody_to_decide_it(session: Session) -> None:
    with pytest.raises(NotPermitted, match="nobody above director") as refused:
        open_for(session, "director")
    assert refused.value.field == "requester"


def test_opening_the_same_subject_twice_gives_the_same_task(session: Session) -> None:
    assert open_for(session).id == open_for(session).id


def test_the_requester_may_never_decide_their_own_request(session: Session) -> None:
    task = open_for(session, "kam.north1")
    with pytest.raises(NotPermitted, match="asked for this"):
        approvals.verify_actor(session, task, login="kam.north1", on=TODAY)


def test_someone_else_may_not_decide(session: Session) -> None:
    task = open_for(session)
    with pytest.raises(NotPermitted, match=r"is for head\.north, not head\.south"):
        approvals.verify_actor(session, task, login="head.south", on=TODAY)


def test_a_task_is_decided_once(session: Session) -> None:
    task = open_for(session)
    approvals.decide(
        session,
        task=task,
        login="head.north",
        action="approve",
        comment="ok",
        payload={},
        check=no_check,
        now=NOW,
        on=TODAY,
    )
    assert task.status == "decided" and task.actor is not None and task.actor.login == "head.north"
    with pytest.raises(InvalidInput, match="already decided"):
        approvals.decide(
            session,
            task=task,
            login="head.north",
            action="reject",
            comment="",
            payload={},
            check=no_check,
            now=NOW,
            on=TODAY,
        )
    decided = [
        e
        for e in audit.trail(session, subject_type="approval_task", subject_id=task.id)
        if e.action == "task_decided"
    ]
    assert len(decided) == 1 and decided[0].detail["action"] == "approve"


def test_kamflow_closes_a_task_through_the_same_claim_and_a_person_then_finds_it_decided(session: Session) -> None:
    task = open_for(session)
    closed = approvals.claim(
        session, task, by=None, action="release", comment="re-checked", payload={"action": "release"}, now=NOW
    )
    assert closed and task.status == "decided" and task.actor_id is None and task.payload == {"action": "release"}
    opened, closing = audit.trail(session, subject_type="approval_task", subject_id=task.id)
    assert opened.action == "task_opened"
    assert (closing.actor, closing.action, closing.detail) == (
        "kamflow",
        "task_closed",
        {"action": "release", "comment": "re-checked", "owner": "head.north"},
    )
    assert not approvals.claim(session, task, by=None, action="release", comment="", payload={}, now=NOW)
    with pytest.raises(InvalidInput, match="already decided"):
        approvals.decide(
            session,
            task=task,
            login="head.north",
            action="approve",
            comment="",
            payload={},
            check=no_check,
            now=NOW,
            on=TODAY,
        )


def test_a_failed_business_check_writes_nothing(session: Session) -> None:
    task = open_for(session)

    def refuse_all(_task: ApprovalTask, _payload: dict[str, Any]) -> None:
        raise InvalidInput("no", field="discount_pct")

    with pytest.raises(InvalidInput):
        approvals.decide(
            session,
            task=task,
            login="head.north",
            action="counter",
            comment="",
            payload={},
            check=refuse_all,
            now=NOW,
            on=TODAY,
        )
    session.refresh(task)
    assert task.status == "pending" and task.actor_id is None


def test_a_delegate_acts_within_the_window_and_the_owner_again_after_it(session: Session) -> None:
    task = open_for(session)
    delegate(session, "head.north", "head.south", TODAY, TODAY + dt.timedelta(days=6))
    south, north = org.employee(session, "head.south"), org.employee(session, "head.north")
    assert [t.id for t in approvals.pending_for(session, south, on=TODAY)] == [task.id]
    assert approvals.pending_for(session, north, on=TODAY) == []
    with pytest.raises(NotPermitted):
        approvals.verify_actor(session, task, login="head.north", on=TODAY)
    after = TODAY + dt.timedelta(days=7)
    assert [t.id for t in approvals.pending_for(session, north, on=after)] == [task.id]
    approvals.decide(
        session,
        task=task,
        login="head.south",
        action="approve",
        comment="",
        payload={},
        check=no_check,
        now=NOW,
        on=TODAY,
    )
    signed = audit.trail(session, subject_type="approval_task", subject_id=task.id)[-1].detail["signed"]
    assert signed == "head.south for head.north"


def test_delegation_chains_end_at_the_last_active_delegate_and_cycles_stop(session: Session) -> None:
    end = TODAY + dt.timedelta(days=3)
    delegate(session, "head.north", "head.south", TODAY, end)
    delegate(session, "head.south", "commercial", TODAY, end)
    north = org.employee(session, "head.north")
    assert org.acting_for(session, north, on=TODAY).login == "commercial"
    delegate(session, "commercial", "head.north", TODAY, end)
    assert org.acting_for(session, north, on=TODAY).login == "commercial"


def test_an_inactive_delegate_falls_back_to_the_owner(session: Session) -> None:
    delegate(session, "head.north", "head.south", TODAY, TODAY)
    org.employee(session, "head.south").active = False
    assert org.acting_for(session, org.employee(session, "head.north"), on=TODAY).login == "head.north"


def test_a_delegate_at_the_end_of_a_line_gets_the_tasks_of_everyone_on_it(session: Session) -> None:
    north, south = open_for(session, "kam.north1", subject_id=1), open_for(session, "kam.south2", subject_id=2)
    end = TODAY + dt.timedelta(days=3)
    delegate(session, "head.north", "head.south", TODAY, end)
    delegate(session, "head.south", "commercial", TODAY, end)
    waiting = {
        login: [t.id for t in approvals.pending_for(session, org.employee(session, login), on=TODAY)]
        for login in ("head.north", "head.south", "commercial")
    }
    assert waiting == {"head.north": [], "head.south": [], "commercial": [north.id, south.id]}
    org.employee(session, "commercial").active = False  # the line ends before an inactive delegate
    assert [t.id for t in approvals.pending_for(session, org.employee(session, "head.south"), on=TODAY)] == [
        north.id,
        south.id,
    ]


def test_listing_a_persons_tasks_reads_the_same_few_statements_however_many_wait(session: Session) -> None:
    def listed() -> tuple[int, list[tuple[int, str]]]:
        commercial = org.employee(session, "commercial")
        with statements(session) as sent:
            rows = [(t.id, t.owner.login) for t in approvals.pending_for(session, commercial, on=TODAY)]
        return len(sent), rows

    end = TODAY + dt.timedelta(days=3)
    open_for(session, "kam.north1", subject_id=1)
    delegate(session, "head.north", "commercial", TODAY, end)
    few, rows = listed()
    assert [owner for _, owner in rows] == ["head.north"]
    for subject in range(2, 22):
        open_for(session, ("kam.north1", "kam.south2")[subject % 2], subject_id=subject)
    delegate(session, "head.south", "head.north", TODAY, end)
    delegate(session, "kam.north1", "kam.north2", TODAY, end)
    many, rows = listed()
    assert len(rows) == 21 and {owner for _, owner in rows} == {"head.north", "head.south"}
    assert many == few == 2  # the delegations in force, then the tasks with their owners


def test_past_the_deadline_a_task_goes_up_one_level(session: Session) -> None:
    task = open_for(session)
    assert approvals.escalate_overdue(session, now=NOW + DEADLINE, deadline=DEADLINE) == []
    opened = approvals.escalate_overdue(session, now=NOW + DEADLINE + dt.timedelta(seconds=1), deadline=DEADLINE)
    assert [t.owner.login for t in opened] == ["commercial"] and task.status == "escalated"
    live = approvals.current(session, process="test", subject_id=1)
    assert live is not None and live.id == opened[0].id and live.level == 2
    with pytest.raises(InvalidInput):
        approvals.verify_actor(session, task, login="head.north", on=TODAY)
    approvals.verify_actor(session, live, login="commercial", on=TODAY)


def test_at_the_top_a_late_task_is_flagged_and_keeps_waiting(session: Session) -> None:
    task = open_for(session)
    later = NOW
    for _ in range(3):
        later += DEADLINE + dt.timedelta(seconds=1)
        approvals.escalate_overdue(session, now=later, deadline=DEADLINE)
    live = approvals.current(session, process="test", subject_id=1)
    assert live is not None and live.owner.login == "director" and live.status == "pending"
    assert live.due_at > later
    flagged = session.scalars(select(AuditEvent).where(AuditEvent.action == "deadline_passed")).all()
    assert len(flagged) == 1 and task.status == "escalated"


def test_the_deadline_sweep_writes_its_audit_events_in_one_statement(session: Session) -> None:
    for subject in range(1, 6):
        open_for(session, ("kam.north1", "kam.south2")[subject % 2], subject_id=subject)
    with statements(session) as sent:
        opened = approvals.escalate_overdue(
            session, now=NOW + DEADLINE + dt.timedelta(seconds=1), deadline=DEADLINE
        )
    assert len(opened) == 5
    assert sum(1 for s in sent if s.lstrip().startswith("INSERT INTO audit_events")) == 1
    events = session.scalars(select(AuditEvent).where(AuditEvent.at > NOW).order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["task_opened", "task_escalated"] * 5
    assert [e.subject_id for e in events[1::2]] == sorted(e.subject_id for e in events[1::2])
    assert {e.detail["new_task"] for e in events[1::2]} == {t.id for t in opened}


def test_a_refused_answer_moves_the_wait_to_a_new_key(session: Session) -> None:
    task = open_for(session)
    first = approvals.waiting_key(session, process="test", subject_id=1)
    approvals.refuse(session, task=task, login="kam.north1", reason="requester", now=NOW)
    assert approvals.waiting_key(session, process="test", subject_id=1) != first


def test_the_audit_trail_is_append_only(session: Session) -> None:
    task = open_for(session)
    event = audit.trail(session, subject_type="approval_task", subject_id=task.id)[0]
    event.actor = "someone else"
    with pytest.raises(PermissionError):
        session.flush()


SECRET = b"test-secret-test-secret"


def test_an_approval_code_is_personal_and_bound_to_its_task(session: Session) -> None:
    task = open_for(session)
    code = approvals.approval_code(task, login="head.north", secret=SECRET)
    approvals.verify_code(task, login="head.north", code=code.lower(), secret=SECRET)
    with pytest.raises(NotPermitted) as err:
        approvals.verify_code(task, login="head.south", code=code, secret=SECRET)
    assert err.value.field == "approval_code"
    other = open_for(session, subject_id=2)
    with pytest.raises(NotPermitted):
        approvals.verify_code(other, login="head.north", code=code, secret=SECRET)
    with pytest.raises(NotPermitted):
        approvals.verify_code(task, login="head.north", code=code, secret=b"another-secret-another")


def test_a_used_code_cannot_decide_again_and_an_escalated_tasks_code_is_dead(session: Session) -> None:
    task = open_for(session)
    approvals.decide(
        session,
        task=task,
        login="head.north",
        action="approve",
        comment="",
        payload={},
        check=no_check,
        now=NOW,
        on=TODAY,
    )
    with pytest.raises(InvalidInput, match="already decided"):
        approvals.verify_actor(session, task, login="head.north", on=TODAY)

    late = open_for(session, subject_id=3)
    old_code = approvals.approval_code(late, login="head.north", secret=SECRET)
    [successor] = approvals.escalate_overdue(session, now=NOW + 2 * DEADLINE, deadline=DEADLINE)
    with pytest.raises(InvalidInput, match="already escalated"):
        approvals.verify_actor(session, late, login="head.north", on=TODAY)
    with pytest.raises(NotPermitted):
        approvals.verify_code(successor, login="head.north", code=old_code, secret=SECRET)


def test_the_codes_secret_is_made_once_private_and_shared(tmp_path: Path) -> None:
    """Without KAMFLOW_SECRET_KEY every process of an installation reads the one key the first one made."""
    first = Settings(data_dir=tmp_path).approval_secret
    assert len(first) == 64 and Settings(data_dir=tmp_path).approval_secret == first
    assert [p.name for p in tmp_path.iterdir()] == ["secret.key"]
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
    assert Settings(data_dir=tmp_path, secret_key="k" * 16).approval_secret == b"k" * 16


def test_role_holders_are_looked_up_once_per_role_and_person(session: Session) -> None:
    kams = [org.employee(session, login) for login in ("kam.north1", "kam.north2", "kam.south1")]
    holders = org.Holders(session)
    first = [holders.of("credit_controller", kam) for kam in kams]
    with statements(session) as sent:
        again = [holders.of("credit_controller", kam) for kam in kams * 2]
    assert [holder.login for holder in first + again] == ["credit"] * 9
    assert sent == []  # every later lookup is answered from the first
    assert holders.of("department_head", kams[2]).login == "head.south"  # another role: looked up afresh
