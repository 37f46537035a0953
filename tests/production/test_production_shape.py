"""The production shape end to end: PostgreSQL for both databases, the Prefect server with API
authentication, two process workers; runs go through the deployments, answers through Prefect's API and the
CLI, and the faults an operator meets (a dead worker, every process killed) lose or repeat nothing."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from decimal import Decimal
from typing import Any
from uuid import UUID

import httpx
import pytest
from prefect import get_client
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.deployments import run_deployment
from prefect.flow_runs import resume_flow_run
from prefect.states import Scheduled
from sqlalchemy import func, select, text

from kamflow import approvals, audit, discounts
from kamflow.db import get_engine, unit_of_work
from kamflow.discounts import DiscountRequestIn
from kamflow.models import ApprovalTask, DiscountRequest
from kamflow.review.tables import CreditReview
from kamflow.serving import DISCOUNT_DEPLOYMENT
from tests.conftest import approval_code
from tests.integration.conftest import wait_until
from tests.integration.test_discount_process import kam_and_norm
from tests.production.conftest import Production, alive, decisions, descendants, escalate, settled

pytestmark = pytest.mark.production


def flow_run(run_id: str | UUID) -> FlowRun:
    with get_client(sync_client=True) as client:
        return client.read_flow_run(UUID(str(run_id)))


def in_state(run_id: str | UUID, kind: StateType) -> FlowRun | None:
    run = flow_run(run_id)
    return run if run.state is not None and run.state.type == kind else None


def start(request: DiscountRequestIn) -> UUID:
    run = run_deployment(DISCOUNT_DEPLOYMENT, parameters={"request": request.model_dump(mode="json")}, timeout=0)
    assert isinstance(run, FlowRun)
    return run.id


def kill(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def current_task(request_id: int) -> int:
    with unit_of_work() as session:
        task = approvals.current(session, process=discounts.PROCESS, subject_id=request_id)
        assert task is not None
        return task.id


def actions(request_id: int) -> list[str]:
    with unit_of_work() as session:
        return [e.action for e in audit.trail(session, subject_type="discount_request", subject_id=request_id)]


def test_the_api_refuses_a_client_without_the_auth_string(prod: Production) -> None:
    api = prod.client["PREFECT_API_URL"]
    assert httpx.post(f"{api}/flow_runs/filter", json={}).status_code == 401
    assert httpx.post(f"{api}/flow_runs/filter", json={}, auth=("kamflow", "guess")).status_code == 401
    login, password = prod.auth_string.split(":", 1)
    assert httpx.post(f"{api}/flow_runs/filter", json={}, auth=(login, password)).status_code == 200


def test_an_escalated_discount_waits_on_a_worker_and_resumes_through_prefects_api(prod: Production) -> None:
    assert prod.settings.db_url.startswith("postgresql+psycopg://")
    _, norm = kam_and_norm()
    view = escalate(prod)
    run = flow_run(view["flow_run_id"])
    assert run.state is not None and run.state.is_paused() and run.work_pool_name == "kamflow"

    resume_flow_run(
        run.id,
        run_input={
            "approver": "head.north",
            "approval_code": approval_code(view["task_id"], "head.north"),
            "action": "counter",
            "discount_pct": str(norm),
            "comment": "norm",
        },
    )
    assert wait_until("the counter-offer", lambda: settled(view["request_id"])) == "approved"
    with unit_of_work() as session:
        row = session.get(DiscountRequest, view["request_id"])
        assert row is not None and row.granted_pct == norm
    assert [(e.actor, e.detail.get("comment")) for e in decisions(view["task_id"])] == [("head.north", "norm")]
    assert wait_until("the run to complete", lambda: in_state(run.id, StateType.COMPLETED))


def test_both_workers_take_runs(prod: Production) -> None:
    kam, norm = kam_and_norm()
    ordinary = DiscountRequestIn(
        customer="C0001", price_column=3, discount_pct=norm - 1, order_total=Decimal(1000), requester=kam
    )
    runs = [start(ordinary) for _ in range(4)]
    for run_id in runs:
        wait_until(f"run {run_id} to complete", lambda r=run_id: in_state(r, StateType.COMPLETED), timeout=180)
    took = {name: [r for r in runs if str(r) in prod.log(name)] for name in ("worker-1", "worker-2")}
    assert all(took.values()), took


def test_the_nightly_review_runs_through_its_deployment_in_parallel_shards(prod: Production) -> None:
    done = prod.kamflow("review", "--shards", "2", "--json")
    assert done.returncode == 0, done.stdout + done.stderr + prod.logs()
    with unit_of_work() as session:
        [review] = session.scalars(select(CreditReview)).all()
        assert review.status == "completed" and review.shards == 2 and review.flow_run_id is not None
    run = flow_run(review.flow_run_id)
    assert run.work_pool_name == "kamflow" and run.state is not None and run.state.is_completed()


def test_a_worker_killed_mid_run_leaves_the_run_crashed_and_its_rerun_acts_once(prod: Production) -> None:
    """A worker's machine dies while a run is between two steps: the run shows as Crashed (its heartbeats
    stop), the supervisor brings a worker back, and the operator's re-run repeats nothing already done."""
    kam, norm = kam_and_norm()
    waiting = escalate(prod)
    request = DiscountRequestIn(
        customer="C0001", price_column=3, discount_pct=norm + 1, order_total=Decimal(5000), requester=kam
    )
    with get_engine(prod.settings).connect() as lock:
        # The run decides and stores the request, then blocks opening its approval task.
        lock.execute(text("LOCK TABLE approval_tasks IN ACCESS EXCLUSIVE MODE"))
        run_id = start(request)

        def between_its_steps() -> FlowRun | None:
            with unit_of_work() as session:
                stored = session.scalar(select(DiscountRequest.id).filter_by(flow_run_id=str(run_id)))
            return in_state(run_id, StateType.RUNNING) if stored else None

        running = wait_until("the run to stop between its steps", between_its_steps, timeout=120)
        flow_pid = int(str(running.infrastructure_pid).rsplit(":", 1)[-1])
        [worker] = [w for w in ("worker-1", "worker-2") if flow_pid in descendants(prod.pid(w) or 0)]
        worker_pid = prod.pid(worker)
        assert worker_pid is not None
        kill([worker_pid, *descendants(worker_pid)])
        lock.rollback()

    crashed = wait_until("the run to show as crashed", lambda: in_state(run_id, StateType.CRASHED), timeout=150)
    assert crashed.state is not None and "heartbeat" in (crashed.state.message or "")
    assert in_state(waiting["flow_run_id"], StateType.PAUSED), "a waiting approval is not a dead run"
    wait_until("the supervisor to restart the worker", lambda: prod.pid(worker) != worker_pid or None)
    assert alive(prod.pid(worker) or 0)
    with unit_of_work() as session:
        [row] = session.scalars(select(DiscountRequest).where(DiscountRequest.flow_run_id == str(run_id))).all()
        assert row.status == "pending" and actions(row.id) == ["discount_escalate"]

    with get_client(sync_client=True) as client:  # what the UI's "Retry" does
        client.set_flow_run_state(run_id, Scheduled(), force=True)
    wait_until("the re-run to wait for the head", lambda: in_state(run_id, StateType.PAUSED), timeout=120)
    task = current_task(row.id)
    code = approval_code(task, "head.north")
    resume_flow_run(run_id, run_input={"approver": "head.north", "approval_code": code, "action": "approve"})
    assert wait_until("the approval", lambda: settled(row.id)) == "approved"
    assert actions(row.id) == ["discount_escalate", "discount_approve"]
    with unit_of_work() as session:
        assert session.scalar(select(func.count(DiscountRequest.id)).filter_by(flow_run_id=str(run_id))) == 1
        tasks = select(func.count(ApprovalTask.id)).filter_by(process=discounts.PROCESS, subject_id=row.id)
        assert session.scalar(tasks) == 1


def test_two_answers_to_one_task_at_once_make_one_decision_and_one_clear_refusal(prod: Production) -> None:
    view = escalate(prod)
    answers = [
        subprocess.Popen(
            prod.kamflow_command("decide", str(view["task_id"]), action, "--as", "head.north", "--json"),
            env={**prod.env, **prod.client},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for action in ("approve", "reject")
    ]
    outcomes: list[tuple[int, dict[str, Any]]] = []
    for answer in answers:
        out, err = answer.communicate(timeout=180)
        outcomes.append((answer.returncode, json.loads(out) if out.strip() else {"stderr": err}))
    codes = sorted(code for code, _ in outcomes)
    assert codes[0] == 0 and codes[1] == 2, outcomes
    [winner] = [body for code, body in outcomes if code == 0]
    [loser] = [body for code, body in outcomes if code != 0]
    assert loser["field"] == "task", loser
    assert "not waiting" in loser["message"] or "already decided" in loser["message"], loser
    assert settled(view["request_id"]) == winner["status"]
    assert len(decisions(view["task_id"])) == 1


def test_a_waiting_approval_survives_kill_9_of_every_process(prod: Production) -> None:
    view = escalate(prod)
    everything = prod.every_pid()
    kill(everything)
    wait_until("every process to die", lambda: not any(alive(p) for p in everything) or None)

    up = prod.script("up")
    assert up.returncode == 0, up.stdout + up.stderr + prod.logs()
    tasks = prod.kamflow("tasks", "--as", "head.north", "--json")
    assert view["task_id"] in [t["task_id"] for t in json.loads(tasks.stdout)], tasks.stdout + tasks.stderr
    done = prod.kamflow("decide", str(view["task_id"]), "approve", "--as", "head.north", "--json")
    assert done.returncode == 0, done.stdout + done.stderr + prod.logs()
    assert json.loads(done.stdout)["status"] == "approved"
    assert actions(view["request_id"]) == ["discount_escalate", "discount_approve"]


def test_down_stops_every_process_it_started(prod: Production) -> None:
    everything = prod.every_pid()
    assert len(everything) >= 5, "PostgreSQL, the server, two supervisors and two workers at least"
    down = prod.script("down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert [p for p in everything if alive(p)] == []
    status = prod.script("status")
    assert status.returncode == 1 and "running" not in status.stdout, status.stdout
