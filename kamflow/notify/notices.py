"""Notices composed where their change is written: the caller's session adds the outbox row, so it commits or
rolls back with the change it announces."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Literal

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy.orm import Session

from kamflow import clock, i18n, org, reports
from kamflow.bounds import fit
from kamflow.links import link_token, link_url
from kamflow.models import ApprovalTask, Employee
from kamflow.notify.tables import OutboxMessage
from kamflow.settings import get_settings

Kind = Literal["opened", "reminder", "escalated", "decided"]

HEADLINES: dict[Kind, str] = {
    "opened": "waiting for you",
    "reminder": "reminder: still waiting for you",
    "escalated": "escalated to you",
}
DECIDED = {"approve": "APPROVED", "reject": "REJECTED", "counter": "COUNTERED"}
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


def address(person: Employee) -> str:
    """Where a person's notices go: their e-mail, else login@mail_domain."""
    return person.email or f"{person.login}@{get_settings().mail_domain}"


def announce(
    session: Session,
    task: ApprovalTask,
    kind: Kind,
    *,
    now: dt.datetime,
    delegations: org.Delegations | None = None,
) -> OutboxMessage:
    """The notice of `kind` about `task`, added to the outbox in the caller's transaction. A task that opens,
    is due a reminder or was escalated goes to whoever may act on it today (the owner or their delegate, from
    `delegations` when a sweep has read them already), with a signed link to the task; a decision goes to the
    requester."""
    settings = get_settings()
    requester = session.get_one(Employee, task.requester_id)
    if kind == "decided":
        recipient = requester
        decider = task.actor or task.owner
        action = task.action or "decided"
        headline = f"{DECIDED.get(action, action.upper())} by {decider.full_name}"
        body = _templates().get_template("decided.txt").render(
            task=task,
            recipient=recipient,
            decision=DECIDED.get(action, action.upper()),
            decider=decider,
            on_behalf=task.owner if decider.id != task.owner_id else None,
            decided_at=reports.when(task.decided_at or now),
            given={key: value for key, value in task.payload.items() if value not in (None, "")},
            requests_url=f"{settings.web_url}/requests",
        )
    else:
        recipient = (delegations or org.delegations_on(session, on=clock.today(now))).acting_for(task.owner)
        headline = HEADLINES[kind]
        body = _templates().get_template("waiting.txt").render(
            kind=kind,
            task=task,
            recipient=recipient,
            stands_in_for=task.owner if recipient.id != task.owner_id else None,
            requester=requester,
            due_at=reports.when(task.due_at),
            link=link_url(settings.web_url, link_token(task, recipient.login, settings.approval_secret)),
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
