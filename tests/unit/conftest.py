"""Fixtures of the unit lane: the real CLI run in-process."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from kamflow.app.cli import app
from kamflow.app.serve import prefect_environment
from kamflow.settings import Settings


@pytest.fixture
def kamflow(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Any:
    """`kamflow ... --json` in-process: its exit code and parsed answer; the Prefect environment the CLI sets is
    given back afterwards."""
    for name, value in prefect_environment(settings).items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()

    def run(*args: str) -> tuple[int, Any]:
        done = runner.invoke(app, [*args, "--json"])
        return done.exit_code, json.loads(done.stdout) if done.stdout.strip() else None

    return run
