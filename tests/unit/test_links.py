"""Signed links to a task page: they open the task for the person they were sent to, until the task moves on."""

from __future__ import annotations

import datetime as dt

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy.orm import Session

from kamflow import approvals, clock, org
from kamflow.errors import NotPermitted
from kamflow.links import link_token, link_url, open_link
from kamflow.models import ApprovalTask
from tests.conftest import NOW
from tests.unit.test_approvals import DEADLINE, no_check, open_for

SECRET = b"0123456789abcdef0123456789abcdef"


def refused(session: Session, token: str, **kwargs: object) -> str:
    with pytest.raises(NotPermitted) as refusal:
        open_link(session, token, secret=SECRET, **kwargs)  # type: ignore[arg-type]
    assert refusal.value.field == "link"
    return refusal.value.message


def test_a_link_opens_its_task_for_the_person_it_was_sent_to(session: Session) -> None:
    task = open_for(session)
    token = link_token(task, "head.north", SECRET)
    assert open_link(session, token, secret=SECRET) == (task, "head.north")
    assert link_url("http://kamflow.example/", token) == f"http://kamflow.example/links/{token}"


def test_a_link_dies_when_its_task_is_decided(session: Session) -> None:
    task = open_for(session)
    token = link_token(task, "head.north", SECRET)
    approvals.decide(
        session,
        task=task,
        login="head.north",
        action="approve",
        comment="",
        payload={},
        check=no_check,
        now=NOW,
        on=NOW.date(),
    )
    assert refused(session, token) == f"this link is dead: task {task.id} was decided"


def test_a_link_dies_when_its_task_is_escalated(session: Session) -> None:
    task = open_for(session)
    token = link_token(task, "head.north", SECRET)
    [successor] = approvals.escalate_overdue(session, now=NOW + 2 * DEADLINE, deadline=DEADLINE)
    assert refused(session, token) == f"this link is dead: task {task.id} was escalated"
    boss = successor.owner.login
    assert open_link(session, link_token(successor, boss, SECRET), secret=SECRET) == (successor, boss)


def test_a_link_dies_when_its_task_is_withdrawn_or_reassigned(session: Session) -> None:
    task = open_for(session)
    token = link_token(task, "head.north", SECRET)
    task.owner_id = org.employee(session, "head.south").id
    session.flush()
    session.expire(task)
    assert refused(session, token) == f"this link is dead: task {task.id} was reassigned to head.south"
    approvals.cancel(session, task, now=NOW, reason="withdrawn by the requester")
    assert refused(session, token) == f"this link is dead: task {task.id} was cancelled"


def test_a_changed_or_foreign_link_is_refused_as_tampered(session: Session) -> None:
    task = open_for(session)
    token = link_token(task, "head.north", SECRET)
    tampered = "this link is not valid: it was changed or is not a kamflow link"
    # a full character of the signature changed: its last one has spare bits, and 3 others decode the same
    assert refused(session, token[:-3] + ("B" if token[-3] == "A" else "A") + token[-2:]) == tampered
    assert refused(session, link_token(task, "head.north", b"another installation's secret")) == tampered
    unsalted = URLSafeTimedSerializer(SECRET).dumps({"task": task.id, "login": "head.north"})
    assert refused(session, unsalted) == tampered
    assert refused(session, "not-a-token") == tampered


def test_an_old_link_has_expired(session: Session) -> None:
    task = open_for(session)
    token = link_token(task, "head.north", SECRET)
    later = clock.now() + dt.timedelta(days=15)
    assert refused(session, token, now=later) == "this link has expired (links last 14 days)"
    assert open_link(session, token, secret=SECRET, now=clock.now() + dt.timedelta(days=13))[0] is task


def test_a_link_to_a_task_that_is_not_there_is_refused(session: Session) -> None:
    task = open_for(session)
    gone = ApprovalTask(id=task.id + 1000, owner_id=task.owner_id, level=1)
    message = refused(session, link_token(gone, "head.north", SECRET))
    assert message == f"this link's task {gone.id} no longer exists"
