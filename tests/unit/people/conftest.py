"""People tests: the real CLI on a copy of the demo company, with the token file in the test's folder and the
sign-in mode chosen per test."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from kamflow.app.cli import app
from kamflow.db import get_engine
from kamflow.models import AuditEvent
from kamflow.settings import Settings, use_settings

runner = CliRunner()
PASSWORD = "correct horse battery"


@pytest.fixture
def demo(settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """KAMFLOW_AUTH=demo, the token file under the test's folder."""
    chosen = settings.model_copy(update={"token_file": tmp_path / "config" / "kamflow" / "token"})
    use_settings(chosen)
    yield chosen


@pytest.fixture
def required(demo: Settings) -> Settings:
    """KAMFLOW_AUTH=required, the token file under the test's folder."""
    chosen = demo.model_copy(update={"auth": "required"})
    use_settings(chosen)
    return chosen


def kamflow(*args: str, stdin: str | None = None) -> Result:
    return runner.invoke(app, list(args), input=stdin)


def answer(*args: str, stdin: str | None = None) -> tuple[int, Any]:
    """Run the real CLI with --json: exit code and the parsed answer."""
    done = kamflow(*args, "--json", stdin=stdin)
    return done.exit_code, json.loads(done.stdout) if done.stdout.strip() else None


def set_password(login: str, password: str = PASSWORD, *acting: str) -> None:
    done = kamflow("user", "set-password", login, "--password-stdin", *acting, stdin=password + "\n")
    assert done.exit_code == 0, done.output


def sign_in(login: str, password: str = PASSWORD) -> Result:
    return kamflow("login", login, "--password-stdin", stdin=password + "\n")


def events(settings: Settings, action: str) -> list[AuditEvent]:
    """The audit events of an action, as committed (a session of their own)."""
    with Session(get_engine(settings)) as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))
