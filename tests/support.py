"""What the tests share beyond fixtures: they answer waiting tasks as the people named would."""

from __future__ import annotations

from kamflow import approvals
from kamflow.db import unit_of_work
from kamflow.settings import get_settings


def approval_code(task_id: int, login: str) -> str:
    """The one-time code `kamflow tasks` shows `login` for a task."""
    with unit_of_work() as session:
        task = approvals.get(session, task_id)
        return approvals.approval_code(task, login=login, secret=get_settings().approval_secret)
