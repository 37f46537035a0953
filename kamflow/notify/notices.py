"""Notices composed where their change is written: the caller's session adds the outbox row, so it commits or
rolls back with the change it announces. Each is written in its recipient's language (their preferred one, else
the company's): the outbox keeps the text as they will read it."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Literal

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy.orm import Session

from kamflow import clock, i18n, labels, org, reports
from kamflow.bounds import PLAIN_NUMBER, fit
from kamflow.i18n import N_, _
from kamflow.links import link_token, link_url
from kamflow.models import ApprovalTask, Employee
from kamflow.notify.tables import OutboxMessage
from kamflow.settings import get_settings

Kind = Literal["opened", "reminder", "escalated", "decided"]

HEADLINES: dict[Kind, str] = {
    "opened": N_("waiting for you"),
    "reminder": N_("reminder: still waiting for you"),
    "escalated": N_("escalated to you"),
}
DECIDED = {"approve": N_("APPROVED"), "reject": N_("REJECTED"), "counter": N_("COUNTERED")}
"""How a decision's action reads in a mail; any other action reads as itself in capitals."""


@cache
def _templates() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=False,  # plain-text mail
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    i18n.install(environment)
    return environment


def _written(value: object) -> str:
    """What an answer gave, as the reader writes it (a number with their marks)."""
    text = str(value)
    return i18n.number(text) if PLAIN_NUMBER.fullmatch(text) else text


def address(person: Employee) -> str:
    """Where a person's notices go: their e-mail, else login@mail_domain."""
    return person.email or f"{person.login}@{get_settings().mail_domain}"


def _decided(task: ApprovalTask, recipient: Employee, *, now: dt.datetime) -> tuple[str, str]:
    """A decision's headline and mail, in the reader's language."""
    decider = task.actor or task.owner
    action = task.action or "decided"
    decision = _(DECIDED[action]) if action in DECIDED else action.upper()
    given = {key: value for key, value in task.payload.items() if key != "action" and value not in (None, "")}
    body = (
        _templates()
        .get_template("decided.txt")
        .render(
            task=task,
            recipient=recipient,
            decision=decision,
            decider=decider,
            on_behalf=task.owner if decider.id != task.owner_id else None,
            decided_at=reports.when(task.decided_at or now),
            given={labels.given(key): _written(value) for key, value in given.items()},
            requests_url=f"{get_settings().web_url}/requests",
        )
    )
    return _("{decision} by {person}").format(decision=decision, person=decider.full_name), body


def _waiting(task: ApprovalTask, kind: Kind, recipient: Employee, requester: Employee) -> tuple[str, str]:
    """The headline and mail of a task that waits for `recipient`, with their signed link, in the reader's
    language."""
    settings = get_settings()
    body = (
        _templates()
        .get_template("waiting.txt")
        .render(
            kind=kind,
            task=task,
            recipient=recipient,
            stands_in_for=task.owner if recipient.id != task.owner_id else None,
            requester=requester,
            due_at=reports.when(task.due_at),
            link=link_url(settings.web_url, link_token(task, recipient.login, settings.approval_secret)),
        )
    )
    return _(HEADLINES[kind]), body


def announce(
    session: Session,
    task: ApprovalTask,
    kind: Kind,
    *,
    now: dt.datetime,
    delegations: org.Delegations | None = None,
) -> OutboxMessage:
    """The notice of `kind` about `task`, added to the outbox in the caller's transaction, in its recipient's
    language. A task that opens, is due a reminder or was escalated goes to whoever may act on it today (the owner
    or their delegate, from `delegations` when a sweep has read them already), with a signed link to the task; a
    decision goes to the requester."""
    requester = session.get_one(Employee, task.requester_id)
    if kind == "decided":
        recipient = requester
    else:
        recipient = (delegations or org.delegations_on(session, on=clock.today(now))).acting_for(task.owner)
    with i18n.reading(i18n.language_of(recipient.language)):
        headline, body = (
            _decided(task, recipient, now=now) if kind == "decided" else _waiting(task, kind, recipient, requester)
        )
    message = OutboxMessage(
        kind=kind,
        task_id=task.id,
        login=recipient.login,
        recipient=address(recipient),
        subject=fit(f"{task.title} — {headline}", OutboxMessage.subject),
        body=body,
        created_at=now,
        next_attempt_at=now,
        attempts=0,
    )
    session.add(message)
    return message
