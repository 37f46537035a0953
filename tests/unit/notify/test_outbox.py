"""The outbox: a notice is written with the change it announces, and the embedded default delivers it as a file."""

from __future__ import annotations

import datetime as dt
import email
import re
import stat
from email.policy import default
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from flows.runs import wait_for
from kamflow import approvals, org
from kamflow.db import unit_of_work
from kamflow.notify import notices
from kamflow.notify.delivery import backoff, send_waiting, sending
from kamflow.notify.tables import OutboxMessage
from kamflow.settings import Settings
from tests.conftest import NOW, TODAY
from tests.unit.test_approvals import delegate, no_check, open_for


def outbox(session: Session) -> list[tuple[str, str, str]]:
    rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
    return [(row.kind, row.login, row.subject) for row in rows]


def test_a_task_that_opens_is_announced_to_its_owner_and_a_decision_to_the_requester(session: Session) -> None:
    task = open_for(session)
    approvals.decide(
        session,
        task=task,
        login="head.north",
        action="counter",
        comment="Twelve and a half is what the margin allows.",
        payload={"action": "counter", "discount_pct": "12.5"},
        check=no_check,
        now=NOW,
        on=TODAY,
    )
    head = org.employee(session, "head.north")
    assert outbox(session) == [
        ("opened", "head.north", "t — waiting for you"),
        ("decided", "kam.north1", f"t — COUNTERED by {head.full_name}"),
    ]
    decided = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "decided")).one()
    assert f"COUNTERED by {head.full_name}, {head.position}" in decided.body
    assert "counter-offer (%): 12.5" in decided.body
    assert "Comment: Twelve and a half is what the margin allows." in decided.body


def test_a_task_is_announced_to_whoever_stands_in_for_its_owner(session: Session) -> None:
    delegate(session, "head.north", "head.south", TODAY, TODAY)
    open_for(session)
    [message] = session.scalars(select(OutboxMessage)).all()
    assert message.login == "head.south" and message.recipient == "head.south@kamflow.invalid"
    assert f"you stand in for {org.employee(session, 'head.north').full_name}" in message.body


HEADLINES = {
    "es": ["le espera", "recordatorio: sigue esperándole", "elevada a usted"],
    "en": ["waiting for you", "reminder: still waiting for you", "escalated to you"],
}


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("es", ["Hola, ", "usted sustituye a", "Solicitado por:", "Vence: 18/03/2026", "Abrir la tarea:"]),
        ("en", ["Hello ", "you stand in for", "Asked by:", "Due: 2026-03-18", "Open the task:"]),
    ],
)
def test_each_notice_to_a_stand_in_is_written_in_their_language(
    session: Session, language: str, words: list[str]
) -> None:
    delegate(session, "head.north", "head.south", TODAY, TODAY)
    org.employee(session, "head.south").language = language
    task = open_for(session)
    for kind in ("reminder", "escalated"):
        notices.announce(session, task, kind, now=NOW)
    messages = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [m.kind for m in messages] == ["opened", "reminder", "escalated"]
    for message in messages:
        assert message.login == "head.south"
        assert all(word in message.body for word in words), message.body
        assert not re.search(r"\{[a-z_]*\}", message.subject + message.body)
    headlines = [m.subject.removeprefix("t — ") for m in messages]
    assert headlines == HEADLINES[language]


def test_a_person_with_an_address_of_their_own_gets_it_there(session: Session) -> None:
    org.employee(session, "head.north").email = "ana.garcia@example.com"
    open_for(session)
    assert session.scalars(select(OutboxMessage.recipient)).one() == "ana.garcia@example.com"


def test_a_change_that_rolls_back_announces_nothing(settings: Settings) -> None:
    with pytest.raises(RuntimeError), unit_of_work(settings) as session:
        open_for(session)
        raise RuntimeError("the step failed after the task was opened")
    with unit_of_work(settings) as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_with_no_mail_server_each_message_is_a_private_eml_file_written_once(settings: Settings) -> None:
    with unit_of_work(settings) as session:
        open_for(session)
    assert send_waiting(settings, now=NOW).sent == 1
    assert send_waiting(settings, now=NOW + dt.timedelta(hours=1)).sent == 0
    [path] = list(settings.mail_dir.glob("*.eml"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    mail: Any = email.message_from_bytes(path.read_bytes(), policy=default)
    assert mail["To"] == "head.north@kamflow.invalid" and mail["Subject"] == "t — waiting for you"
    assert f"{settings.web_url}/links/" in mail.get_content()


def test_a_failed_message_waits_longer_after_each_attempt_up_to_an_hour() -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 8, 50)] == [30, 60, 120, 3600, 3600]


def test_mail_send_makes_one_pass(kamflow: Any, settings: Settings) -> None:
    with unit_of_work(settings) as session:
        open_for(session)
    assert kamflow("mail", "send") == (0, {"sent": 1, "failed": 0})
    assert kamflow("mail", "send") == (0, {"sent": 0, "failed": 0})
    assert len(list(settings.mail_dir.glob("*.eml"))) == 1


def test_serve_sends_the_outbox_in_a_loop_of_its_own(settings: Settings) -> None:
    with unit_of_work(settings) as session:
        open_for(session)
    with sending(Settings(data_dir=settings.data_dir, mail_send_seconds=1)) as loop:
        assert wait_for("the mail", lambda: next(settings.mail_dir.glob("*.eml"), None), timeout=10)
        with unit_of_work(settings) as session:
            open_for(session, subject_id=2)
        assert wait_for("the second mail", lambda: len(list(settings.mail_dir.glob("*.eml"))) == 2 or None)
    assert not loop.is_alive()
