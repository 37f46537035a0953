"""Discount authorization end to end: the real CLI, a real runner process, a real Prefect API. The flow's logic
(settle, the human step, refused answers, the CLI's refusals) is tested in process in tests/flows/test_discount.py;
here a request waits through a kill -9 of every process, is decided exactly once, at once, and its run goes on
from the decision through the real runner."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from prefect import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, FlowRunFilter, FlowRunFilterId

from kamflow import audit
from kamflow.db import unit_of_work
from tests.integration.conftest import Stack, logs, wait_until
from tests.integration.test_credit_process import run_state
from tests.support import approval_code, command_line, descendants, kam_and_norm

pytestmark = pytest.mark.integration


def request(stack: Stack, pct: Decimal) -> dict[str, Any]:
    kam, _ = kam_and_norm()
    done = stack.kamflow(
        "discount", "request", "--customer", "C0001", "--column", "3", "--discount-pct", str(pct),
        "--order-total", "150000", "--as", kam, "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr + logs(stack.settings.data_dir / "runner.log")
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def report_of(flow_run_id: str) -> str | None:
    """The report the run published (artifact keys may repeat across the databases one Prefect API serves)."""
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(flow_run_id)])),
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(like_="discount-request-")),
        )
    return str(found[0].data) if found else None


def test_a_waiting_approval_survives_a_restart_of_every_process(live: Stack) -> None:
    _, norm = kam_and_norm()
    view = request(live, norm + 2)
    assert view["status"] == "pending" and view["assignee"].startswith("head.")
    live.kill_runner()
    live.start_runner()
    tasks = live.kamflow("tasks", "--as", view["assignee"], "--json")
    [task] = [t for t in json.loads(tasks.stdout) if t["task_id"] == view["task_id"]]
    assert task["approval_code"] == approval_code(view["task_id"], view["assignee"])
    done = live.kamflow(
        "decide", str(view["task_id"]), "approve", "--comment", "a key account", "--as", view["assignee"], "--json"
    )
    assert done.returncode == 0, done.stdout + done.stderr + logs(live.settings.data_dir / "runner.log")
    decided = json.loads(done.stdout)
    assert (decided["status"], decided["verdict"]["outcome"]) == ("approved", "APPROVED")
    report = wait_until("the run to go on", lambda: report_of(view["flow_run_id"]))
    assert "**Decided:** APPROVED by " in report and "'a key account'" in report
    ended = wait_until(
        "the run to end", lambda: state if (state := run_state(view["flow_run_id"])).is_final() else None
    )
    assert ended.is_completed()
    with unit_of_work() as session:
        decisions = [
            e
            for e in audit.trail(session, subject_type="discount_request", subject_id=view["request_id"])
            if e.action == "discount_approve"
        ]
        assert len(decisions) == 1


def test_a_runs_process_is_forked_from_serves_fork_server_not_started_afresh(live: Stack) -> None:
    """`kamflow serve` starts each run's process from its fork server, which has imported Prefect's engine and
    every flow once (`kamflow.app.serve._fork_flow_processes`): a request waiting for its head keeps its run's
    process through the warm wait, and that process is the fork server's child, not a `python -m prefect.engine`
    that imports them all again."""
    kam, norm = kam_and_norm()
    view = request(live, norm + 2)
    assert view["status"] == "pending"
    assert live.runner is not None
    under_serve = {pid: command_line(pid) for pid in descendants(live.runner.pid)}
    below = {child for pid in under_serve for child in descendants(pid)}
    [fork_server] = [pid for pid, line in under_serve.items() if "forkserver" in line and pid not in below]
    assert descendants(fork_server), under_serve  # the waiting run's process, in its warm wait
    assert not [line for line in under_serve.values() if "prefect.engine" in line], under_serve
    done = live.kamflow("withdraw", "discount-authorization", str(view["request_id"]), "--as", kam, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["status"] == "withdrawn"
