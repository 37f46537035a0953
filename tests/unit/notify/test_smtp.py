"""Mail through a real SMTP server on loopback (aiosmtpd): a task opening, a reminder, an escalation and a
decision each deliver one mail to the right person; a mail server that is down delays no decision and loses no
mail."""

from __future__ import annotations

import datetime as dt
import email
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow.documents.sweep import sweep
from kamflow.links import open_link
from kamflow.notify.delivery import send_waiting
from kamflow.notify.tables import OutboxMessage
from kamflow.settings import Settings
from tests.conftest import NOW
from tests.unit.documents.conftest import MEMO, act, one_stage_chain, submit, waiting

DAY = dt.timedelta(days=1)


class Inbox:
    """What the SMTP server received: each mail with the envelope's recipients."""

    def __init__(self) -> None:
        self.mails: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=default)
        assert isinstance(message, EmailMessage)
        self.mails.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    def take(self) -> list[tuple[list[str], EmailMessage]]:
        taken, self.mails = self.mails, []
        return taken


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class MailServer:
    def __init__(self, port: int) -> None:
        self.port, self.inbox = port, Inbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp(settings: Settings) -> Iterator[tuple[MailServer, Settings]]:
    server = MailServer(free_port())
    server.start()
    try:
        yield server, Settings(data_dir=settings.data_dir, smtp_url=f"smtp://127.0.0.1:{server.port}")
    finally:
        server.stop()


def delivered(session: Session, server: MailServer, mailing: Settings, now: dt.datetime) -> list[tuple[str, str]]:
    """Commit what the test wrote, make one pass, and give back (recipient, subject) of each mail received."""
    session.commit()
    send_waiting(mailing, now=now)
    return [(rcpt, str(mail["Subject"])) for rcpts, mail in server.inbox.take() for rcpt in rcpts]


def test_opening_reminder_escalation_and_decision_each_mail_the_right_person(
    smtp: tuple[MailServer, Settings], session: Session
) -> None:
    server, mailing = smtp
    chains = one_stage_chain("{name: credit, who: {role: credit_controller}}")
    memo = submit(session, author="kam.north1", doc_type="memo", content=MEMO, fields={}, chains=chains)
    [(controller, task)] = waiting(session, memo).items()
    title = task.title
    assert delivered(session, server, mailing, NOW) == [
        (f"{controller}@kamflow.invalid", f"{title} — waiting for you")
    ]

    sweep(session, now=NOW + DAY)
    assert delivered(session, server, mailing, NOW + DAY) == [
        (f"{controller}@kamflow.invalid", f"{title} — reminder: still waiting for you")
    ]

    late = task.due_at + dt.timedelta(seconds=1)
    [successor] = sweep(session, now=late)
    boss = successor.owner.login
    assert boss != controller
    assert delivered(session, server, mailing, late) == [
        (f"{boss}@kamflow.invalid", f"{title} — escalated to you")
    ]

    act(session, successor, boss, comment="Fine by me.", now=late)
    [(to, subject)] = delivered(session, server, mailing, late)
    assert to == "kam.north1@kamflow.invalid"
    assert subject == f"{title} — APPROVED by {successor.owner.full_name}"
    assert delivered(session, server, mailing, late + DAY) == []  # each went once


def test_the_mail_carries_the_figures_the_due_date_in_the_company_timezone_and_a_link_that_opens_the_task(
    smtp: tuple[MailServer, Settings], session: Session
) -> None:
    server, mailing = smtp
    chains = one_stage_chain("{name: credit, who: {role: credit_controller}}")
    memo = submit(session, author="kam.north1", doc_type="memo", content=MEMO, fields={}, chains=chains)
    [(controller, task)] = waiting(session, memo).items()
    session.commit()
    send_waiting(mailing, now=NOW)
    [(_rcpts, mail)] = server.inbox.take()
    body = mail.get_content()
    due = task.due_at.astimezone(mailing.tz).strftime("%Y-%m-%d %H:%M %Z")
    assert f"Due: {due}" in body and due.endswith(("CET", "CEST"))
    assert task.explanation.splitlines()[0] in body
    assert mail["From"] == "kamflow@kamflow.invalid"
    [link] = [
        line.removeprefix("Open the task: ") for line in body.splitlines() if line.startswith("Open the task")
    ]
    assert link.startswith(f"{mailing.web_url}/links/")
    token = link.rsplit("/", 1)[1]
    assert open_link(session, token, secret=mailing.approval_secret) == (task, controller)


def test_with_the_mail_server_down_the_decision_lands_at_once_and_the_mail_follows_when_it_is_back(
    smtp: tuple[MailServer, Settings], session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    server, mailing = smtp
    chains = one_stage_chain("{name: credit, who: {role: credit_controller}}")
    memo = submit(session, author="kam.north1", doc_type="memo", content=MEMO, fields={}, chains=chains)
    [(controller, task)] = waiting(session, memo).items()
    assert len(delivered(session, server, mailing, NOW)) == 1
    server.stop()

    act(session, task, controller, now=NOW)
    session.commit()
    assert task.status == "decided"
    assert send_waiting(mailing, now=NOW).failed == 1
    [notice] = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "decided")).all()
    session.refresh(notice)
    assert (
        notice.sent_at is None and notice.attempts == 1 and "ConnectionRefusedError" in (notice.last_error or "")
    )
    assert "not sent (attempt 1" in caplog.text
    assert send_waiting(mailing, now=NOW + dt.timedelta(seconds=10)).failed == 0  # waits out its pause

    server.start()
    assert delivered(session, server, mailing, NOW + dt.timedelta(minutes=1)) == [
        ("kam.north1@kamflow.invalid", f"{task.title} — APPROVED by {task.owner.full_name}")
    ]
    session.refresh(notice)
    assert notice.sent_at is not None and notice.attempts == 2
