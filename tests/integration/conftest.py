"""A real `kamflow serve` runner process against the session's Prefect API (`prefect_api`, Prefect's test
harness, in tests/conftest.py), on a demo-company SQLite database. Nothing here is mocked."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kamflow import clock, migrate
from kamflow.db import dispose_engines, get_engine
from kamflow.demo_data import generate
from kamflow.settings import PROJECT_ROOT, Settings, use_settings
from tests.support import free_port


@dataclass
class Stack:
    settings: Settings
    env: dict[str, str]
    runner: subprocess.Popen[bytes] | None = None
    started: dt.datetime | None = None

    def start_runner(self) -> None:
        log = (self.settings.data_dir / "runner.log").open("ab")
        self.started = dt.datetime.now(dt.UTC)
        self.runner = subprocess.Popen(
            [sys.executable, "-m", "kamflow.app.cli", "serve"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_serving(self, timeout: float = 120.0) -> None:
        """Until the runner started last has polled every process's deployment: before that, a command that starts
        a run and waits on it may find its deployment unpolled for longer than it waits for a runner
        (`flows.runs.UNSERVED_SECONDS`; a fresh serve on a busy Prefect test server took 27 s to poll)."""
        from prefect import get_client
        from prefect.exceptions import ObjectNotFound

        from flows.processes import PROCESSES
        from flows.runs import deployment_path

        since = self.started
        assert since is not None

        def polled() -> bool | None:
            runner = self.runner
            assert runner is not None and runner.poll() is None, logs(self.settings.data_dir / "runner.log")
            with get_client(sync_client=True) as client:
                try:
                    served = [client.read_deployment_by_name(deployment_path(name)) for name in PROCESSES]
                except ObjectNotFound:  # not registered yet
                    return None
            return True if all(d.last_polled is not None and since <= d.last_polled for d in served) else None

        wait_until("serve to poll its deployments", polled, timeout)

    def kill_runner(self) -> None:
        """Kill the runner and every flow process it started, as a crash would."""
        assert self.runner is not None
        os.killpg(self.runner.pid, signal.SIGKILL)
        self.runner.wait()

    def stop_runner(self) -> None:
        if self.runner is not None and self.runner.poll() is None:
            os.killpg(self.runner.pid, signal.SIGINT)
            try:
                self.runner.wait(20)
            except subprocess.TimeoutExpired:
                self.kill_runner()

    def kamflow(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "kamflow.app.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
        )


@pytest.fixture(scope="session")
def stack(prefect_api: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data = tmp_path_factory.mktemp("stack")
    # Tests share the database and each reviews a night of its own: a credit policy that lets a review be dated up
    # to 31 days ahead (the shipped one: today at the latest), for this process and the runner alike.
    policy = data / "credit-policy.yaml"
    shipped = (PROJECT_ROOT / "kamflow" / "credit" / "policy.yaml").read_text()
    policy.write_text(shipped.replace("review_days_ahead: 0 ", "review_days_ahead: 31"))
    settings = Settings(
        data_dir=data,
        prefect_api_url=prefect_api,
        approval_deadline_hours=48,
        web_port=free_port(),
        credit_policy=policy,
    )
    migrate.upgrade(settings)
    generate(get_engine(settings), customers=40, seed=7, today=clock.today())
    env = {
        **os.environ,
        "KAMFLOW_DATA_DIR": str(data),
        "KAMFLOW_PREFECT_API_URL": prefect_api,
        "KAMFLOW_WEB_PORT": str(settings.web_port),
        "KAMFLOW_CREDIT_POLICY": str(policy),
        "PREFECT_API_URL": prefect_api,
        "PREFECT_HOME": str(data / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    stack = Stack(settings=settings, env=env)
    stack.start_runner()
    yield stack
    stack.stop_runner()
    dispose_engines()


@pytest.fixture
def live(stack: Stack) -> Stack:
    """The stack, with this process's settings pointed at its database, served."""
    use_settings(stack.settings)
    if stack.runner is None or stack.runner.poll() is not None:
        stack.start_runner()
    stack.wait_serving()
    return stack


def wait_until(what: str, probe, timeout: float = 90.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while (found := probe()) is None:
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return found


def logs(path: Path) -> str:
    return path.read_text(errors="replace")[-4000:] if path.exists() else ""
