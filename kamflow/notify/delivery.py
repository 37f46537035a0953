"""Sending what waits in the outbox: through SMTP (`KAMFLOW_SMTP_URL`), or by default as .eml files under
data_dir/mail/ (mode 600), so the embedded demo needs no mail server.

A pass takes the messages that are due, leases them (another deliverer passes them by meanwhile), sends each
and records the outcome of each in its own transaction. A failure is logged and counted, and the message is tried
again after a pause that doubles with each attempt (`backoff`): a mail server that is down delays nothing and
loses nothing."""

from __future__ import annotations

import datetime as dt
import logging
import os
import smtplib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import select, update

from kamflow import clock
from kamflow.db import unit_of_work
from kamflow.notify.tables import OutboxMessage
from kamflow.settings import Settings

logger = logging.getLogger(__name__)

Send = Callable[[EmailMessage], None]
LEASE = dt.timedelta(minutes=5)
"""How long a pass holds the messages it took before another pass may take them again (a pass that died)."""
FIRST_PAUSE = dt.timedelta(seconds=30)
LONGEST_PAUSE = dt.timedelta(hours=1)


def backoff(attempts: int) -> dt.timedelta:
    """The pause before the next try after `attempts` failed ones: 30 s, 1 min, 2 min, ... at most an hour."""
    return min(FIRST_PAUSE * (1 << min(attempts - 1, 20)), LONGEST_PAUSE)


def compose(message: OutboxMessage, *, sender: str, domain: str) -> EmailMessage:
    """The outbox row as a plain-text mail; its Message-ID stays the same on every try."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = message.recipient
    mail["Subject"] = message.subject
    mail["Date"] = format_datetime(message.created_at)
    mail["Message-ID"] = f"<outbox-{message.id}.{message.created_at:%Y%m%d%H%M%S}@{domain}>"
    mail.set_content(message.body)
    return mail


@contextmanager
def _smtp(url: str) -> Iterator[Send]:
    """One connection to the mail server for a pass: smtp://[user:password@]host[:port][?starttls=true], or
    smtps:// (TLS from the start)."""
    parts = urlsplit(url)
    secure = parts.scheme == "smtps"
    factory = smtplib.SMTP_SSL if secure else smtplib.SMTP
    with factory(parts.hostname or "", parts.port or (465 if secure else 25), timeout=30) as server:
        if parse_qs(parts.query).get("starttls") == ["true"]:
            server.starttls()
        if parts.username:
            server.login(unquote(parts.username), unquote(parts.password or ""))

        def send(mail: EmailMessage) -> None:
            server.send_message(mail)

        yield send


@contextmanager
def _files(folder: Path) -> Iterator[Send]:
    """Each message as an .eml file of mode 600, named after its Message-ID (a retry writes the same file)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)

    def send(mail: EmailMessage) -> None:
        name = str(mail["Message-ID"]).strip("<>").split("@")[0]
        handle = os.open(folder / f"{name}.eml", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(handle, "wb") as out:
            out.write(mail.as_bytes())

    yield send


@dataclass(frozen=True)
class Delivered:
    sent: int
    failed: int


def _take(settings: Settings, *, now: dt.datetime, batch: int) -> list[tuple[int, EmailMessage]]:
    """Lease the messages that are due (at most `batch`): their ids and mails."""
    with unit_of_work(settings) as session:
        due = select(OutboxMessage.id).where(OutboxMessage.sent_at.is_(None), OutboxMessage.next_attempt_at <= now)
        ids = list(session.scalars(due.order_by(OutboxMessage.id).limit(batch)))
        taken = session.scalars(
            update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(ids),
                OutboxMessage.sent_at.is_(None),
                OutboxMessage.next_attempt_at <= now,
            )
            .values(next_attempt_at=now + LEASE)
            .returning(OutboxMessage.id)
        ).all()
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(taken)).order_by(OutboxMessage.id))
        return [(row.id, compose(row, sender=settings.sender, domain=settings.mail_domain)) for row in rows]


def _record(settings: Settings, outbox_id: int, *, now: dt.datetime, error: Exception | None) -> None:
    with unit_of_work(settings) as session:
        row = session.get_one(OutboxMessage, outbox_id)
        row.attempts += 1
        if error is None:
            row.sent_at, row.last_error = now, None
            return
        row.last_error = f"{type(error).__name__}: {error}"
        row.next_attempt_at = now + backoff(row.attempts)
        logger.warning(
            "mail %s to %s not sent (attempt %d; next try at %s): %s",
            row.id,
            row.recipient,
            row.attempts,
            row.next_attempt_at.isoformat(timespec="seconds"),
            row.last_error,
        )


def send_waiting(settings: Settings, *, now: dt.datetime | None = None, batch: int = 200) -> Delivered:
    """One pass over the outbox: send every message that is due (at most `batch`)."""
    now = now or clock.now()
    waiting = _take(settings, now=now, batch=batch)
    if not waiting:
        return Delivered(sent=0, failed=0)
    smtp_url = settings.smtp_url.get_secret_value() if settings.smtp_url else None
    sent = failed = 0
    try:
        with _smtp(smtp_url) if smtp_url else _files(settings.mail_dir) as send:
            while waiting:
                outbox_id, mail = waiting[0]
                try:
                    send(mail)
                except smtplib.SMTPRecipientsRefused as refused:  # this message's fault: the others go on
                    _record(settings, outbox_id, now=now, error=refused)
                    failed += 1
                else:
                    _record(settings, outbox_id, now=now, error=None)
                    sent += 1
                waiting.pop(0)
    except (OSError, smtplib.SMTPException) as down:  # the server (or the folder) failed: every unsent one waits
        for outbox_id, _mail in waiting:
            _record(settings, outbox_id, now=now, error=down)
        failed += len(waiting)
    return Delivered(sent=sent, failed=failed)


@contextmanager
def sending(settings: Settings) -> Iterator[threading.Thread]:
    """A pass every `mail_send_seconds` in a thread of this process, for as long as the block runs (`kamflow
    serve`). A pass that fails is logged, and the next one comes."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                send_waiting(settings)
            except Exception:  # a database that is away for a moment: the next pass tries again
                logger.exception("sending the outbox failed")
            stop.wait(settings.mail_send_seconds)

    thread = threading.Thread(target=loop, name="kamflow-mail", daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join(timeout=35)
