"""Signed links to a task page: the link in a mail proves who it was sent to, and dies when the task moves on.

A link carries the task, the person and the task's state when it was sent (its owner and escalation level),
signed with itsdangerous under a salt of its own (the key it signs with is derived from the installation's
secret and that salt, so it is never the key of the approval codes). It opens the task only while the task is
still pending for the same owner at the same level: a decision, an escalation, a reassignment or a withdrawal
ends it, and so does age."""

from __future__ import annotations

import datetime as dt

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from kamflow import clock
from kamflow.errors import NotPermitted
from kamflow.models import ApprovalTask

SALT = "kamflow.links.task"
LIFETIME = dt.timedelta(days=14)
"""How long a link opens its task at most, even while the task still waits."""


def _serializer(secret: bytes) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=SALT)


def link_token(task: ApprovalTask, login: str, secret: bytes) -> str:
    """The token of `login`'s link to `task` as it stands now."""
    return _serializer(secret).dumps(
        {"task": task.id, "login": login, "owner": task.owner_id, "level": task.level}
    )


def link_url(base_url: str, token: str) -> str:
    """The address of a link: `{settings.web_url}/links/{token}`."""
    return f"{base_url.rstrip('/')}/links/{token}"


def open_link(
    session: Session,
    token: str,
    *,
    secret: bytes,
    now: dt.datetime | None = None,
    lifetime: dt.timedelta = LIFETIME,
) -> tuple[ApprovalTask, str]:
    """The task a link opens and the person it was sent to; NotPermitted, saying why, when the link is
    tampered with, expired, or its task was decided, escalated, reassigned or withdrawn since."""
    try:
        claims, issued = _serializer(secret).loads(token, return_timestamp=True)
        task_id, login, owner, level = claims["task"], claims["login"], claims["owner"], claims["level"]
    except (BadSignature, KeyError, TypeError) as exc:
        raise NotPermitted(
            "this link is not valid: it was changed or is not a kamflow link", field="link"
        ) from exc
    if (now or clock.now()) - issued > lifetime:
        raise NotPermitted(f"this link has expired (links last {lifetime.days} days)", field="link", actor=login)
    task = session.get(ApprovalTask, task_id)
    if task is None:
        raise NotPermitted(f"this link's task {task_id} no longer exists", field="link", actor=login)
    if task.status != "pending":
        raise NotPermitted(f"this link is dead: task {task.id} was {task.status}", field="link", actor=login)
    if task.level != level:
        raise NotPermitted(f"this link is dead: task {task.id} was escalated", field="link", actor=login)
    if task.owner_id != owner:
        raise NotPermitted(
            f"this link is dead: task {task.id} was reassigned to {task.owner.login}", field="link", actor=login
        )
    return task, login
