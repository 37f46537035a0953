"""The production shape end to end: PostgreSQL for both databases, the Prefect server with API
authentication, two `kamflow worker`s; runs go through the deployments, answers through Prefect's API and the
CLI, and the faults an operator meets (a dead worker, every process killed) lose or repeat nothing."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from functools import partial
from pathlib import Path
from random import Random
from typing import Any, cast
from uuid import UUID

import httpx
import pytest
from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.deployments import run_deployment
from prefect.flow_runs import resume_flow_run
from prefect.states import Pending, Scheduled
from sqlalchemy import func, select, text
from sqlalchemy.exc import ProgrammingError

from flows.runs import deployment_path
from kamflow import approvals, audit, clock, discounts
from kamflow.app.runs import start_run
from kamflow.app.serve import alive
from kamflow.db import get_engine, unit_of_work
from kamflow.discounts.service import DiscountRequestIn
from kamflow.discounts.tables import DiscountRequest
from kamflow.models import ApprovalTask, AuditEvent, Customer
from kamflow.review import service
from kamflow.review.tables import CollectionTask, CreditReview, CustomerReview, ReviewShard
from tests.integration.conftest import wait_until
from tests.production.conftest import WORKERS, Production, acting_on, decisions, escalate, settled
from tests.support import approval_code, command_line, descendants, kam_and_norm

pytestmark = pytest.mark.production
REVIEW_DEPLOYMENT = deployment_path(service.PROCESS)
DISCOUNT_DEPLOYMENT = deployment_path(discounts.PROCESS)


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


def took(prod: Production, worker: str, run_id: UUID) -> bool:
    """Whether the worker started a process for the run: the run's process logs where to view it as it begins,
    into its worker's log (the other worker may name the run too, when it lost the claim)."""
    return f"/runs/flow-run/{run_id}" in prod.log(worker)


def worker_of(prod: Production, run_id: UUID) -> str:
    """The worker that started the run's process (a run not yet resumed was taken once)."""
    [worker] = [w for w in WORKERS if took(prod, w, run_id)]
    return worker


def run_processes(prod: Production, worker: str) -> set[int]:
    """The processes of the runs the worker holds: the children of its fork server."""
    under = descendants(prod.pid(worker) or 0)
    return {child for pid in under if "forkserver" in command_line(pid) for child in descendants(pid)}


def kill_the_worker_of(prod: Production, run: FlowRun, *, machine: bool = False) -> tuple[str, int]:
    """kill -9 the worker that holds the run's process and everything it started; `machine`: its supervisor too, as
    if the machine died (nothing restarts it until `up`). Returns the worker's name and the pid it had."""
    worker = worker_of(prod, run.id)
    worker_pid = prod.pid(worker)
    assert worker_pid is not None and run_processes(prod, worker), prod.logs()
    holder = flow_run(run.id).infrastructure_pid
    assert holder is not None and holder.startswith(f"{socket.gethostname()}:"), holder
    assert int(holder.rpartition(":")[2]) in run_processes(prod, worker), "the run records its process"
    root = prod.pid(worker.replace("worker", "supervisor")) if machine else worker_pid
    assert root is not None
    kill([root, *descendants(root)])
    return worker, worker_pid


def crashed_by(run_id: UUID, why: str) -> FlowRun:
    """The run, once it shows as Crashed, for the reason `why` names."""
    crashed: FlowRun = wait_until(
        "the run to show as crashed", lambda: in_state(run_id, StateType.CRASHED), timeout=150
    )
    assert crashed.state is not None and why in (crashed.state.message or ""), crashed.state
    return crashed


def back(prod: Production, worker: str, worker_pid: int) -> None:
    wait_until("the worker to come back", lambda: prod.pid(worker) != worker_pid or None)
    assert alive(prod.pid(worker) or 0)


def next_review_date(days: int) -> dt.date:
    """`days` after today or after the latest completed review, whichever is later: whatever the tests before
    reviewed, this date is not refused as backdated."""
    with unit_of_work() as session:
        latest = service.latest_completed(session)
    return max(clock.today(), latest.business_date if latest else clock.today()) + dt.timedelta(days=days)


def review_status(as_of: dt.date) -> tuple[str | None, str | None]:
    """The statuses of the review of `as_of` and of its one shard, as committed."""
    with unit_of_work() as session:
        found = session.execute(
            select(CreditReview.status, ReviewShard.status)
            .join(ReviewShard, ReviewShard.review_id == CreditReview.id)
            .where(CreditReview.business_date == as_of)
        ).all()
    return (found[0][0], found[0][1]) if len(found) == 1 else (None, None)


def collection_tasks(as_of: dt.date) -> list[tuple[int, int, str]]:
    """(id, customer id, action) of each collection task of the business date."""
    with unit_of_work() as session:
        query = select(CollectionTask.id, CollectionTask.customer_id, CollectionTask.action)
        found = session.execute(query.filter_by(business_date=as_of).order_by(CollectionTask.id))
        return [(row.id, row.customer_id, row.action) for row in found]


def rules_events(task_ids: list[int]) -> dict[int, int]:
    """How many audit events the rules recorded for each of these collection tasks."""
    with unit_of_work() as session:
        return dict(
            session.execute(
                select(AuditEvent.subject_id, func.count())
                .where(
                    AuditEvent.subject_type == "collection_task",
                    AuditEvent.subject_id.in_(task_ids),
                    AuditEvent.actor == "rules",
                )
                .group_by(AuditEvent.subject_id)
            ).all()
        )


def current_task(request_id: int) -> int:
    with unit_of_work() as session:
        task = approvals.current(session, process=discounts.PROCESS, subject_id=request_id)
        assert task is not None
        return task.id


def actions(request_id: int) -> list[str]:
    with unit_of_work() as session:
        return [e.action for e in audit.trail(session, subject_type="discount_request", subject_id=request_id)]


@dataclass(frozen=True)
class LeftBehind:
    waiting: FlowRun
    """An escalated discount nobody answers."""
    claimed: UUID
    """A run a worker claimed (Pending) and died with before the run's process started: no heartbeat ever came."""
    rescheduled: UUID
    """A run claimed (Pending), then put back to start a year on, as an operator's reschedule does."""


@pytest.fixture(scope="module")
def left_behind(production: Production) -> LeftBehind:
    """Runs left as the module starts: the crash detection's timeout runs out while the next tests run, and
    `test_waiting_or_rescheduled_…` and `test_a_run_claimed_…` look at them then — the wait costs the suite
    nothing."""
    with acting_on(production):
        waiting = flow_run(escalate(production)["flow_run_id"])
        kam, norm = kam_and_norm()
        ordinary = DiscountRequestIn(
            customer="C0001", price_column=3, discount_pct=norm - 1, order_total=Decimal(1000), requester=kam
        )
        year_on = clock.now() + dt.timedelta(days=365)

        def held() -> FlowRun:
            """A run held a year ahead, so that no live worker takes it."""
            run = run_deployment(
                DISCOUNT_DEPLOYMENT,
                parameters={"request": ordinary.model_dump(mode="json")},
                scheduled_time=year_on,
                timeout=0,
            )
            assert isinstance(run, FlowRun)
            return run

        claimed, rescheduled = held(), held()
        # both in the state a worker's claim leaves a run in; one then put back, as an operator's reschedule does
        with get_client(sync_client=True) as client:
            for run in (claimed, rescheduled):
                client.set_flow_run_state(run.id, Pending(), force=True)
            client.set_flow_run_state(rescheduled.id, Scheduled(scheduled_time=year_on), force=True)
        return LeftBehind(waiting=waiting, claimed=claimed.id, rescheduled=rescheduled.id)


def test_a_run_nobody_answers_waits_suspended(prod: Production, left_behind: LeftBehind) -> None:
    waiting = left_behind.waiting
    assert waiting.state is not None and waiting.state.is_paused(), waiting.state
    assert in_state(left_behind.claimed, StateType.PENDING), "no live worker takes a run claimed by another"


def test_the_api_refuses_a_client_without_the_auth_string(prod: Production) -> None:
    api = prod.client["PREFECT_API_URL"]
    assert httpx.post(f"{api}/flow_runs/filter", json={}).status_code == 401
    assert httpx.post(f"{api}/flow_runs/filter", json={}, auth=("kamflow", "guess")).status_code == 401
    login, password = prod.auth_string.split(":", 1)
    assert httpx.post(f"{api}/flow_runs/filter", json={}, auth=(login, password)).status_code == 200


def test_clients_hold_no_keys_sign_in_and_act_through_kamflows_server(prod: Production) -> None:
    """The client settings hold kamflow's server and the Prefect UI's auth string, never a database URL, a database
    password or the secret key; a client command without a token is refused, one that needs the database says it
    runs on a server machine; every file the shape keeps is its owner's alone; and the application's database role
    cannot switch the audit trail's trigger off."""
    client_env = (prod.state / "kamflow.env").read_text()
    kept = dict(line.split("=", 1) for line in (prod.state / "secrets.env").read_text().splitlines())
    assert set(prod.client) == {
        "KAMFLOW_SERVER_URL",
        "KAMFLOW_AUTH",
        "PREFECT_API_URL",
        "PREFECT_API_AUTH_STRING",
        "PREFECT_SERVER_ANALYTICS_ENABLED",
    }
    assert prod.client["KAMFLOW_AUTH"] == "required"
    assert [name for name, value in kept.items() if value in client_env] == ["API_AUTH_STRING"]

    nobody = {**prod.env, **prod.client, "KAMFLOW_TOKEN_FILE": str(prod.state / "no-token")}
    refused = subprocess.run(
        prod.kamflow_command("tasks"), env=nobody, capture_output=True, text=True, check=False
    )
    assert refused.returncode == 3 and "not signed in" in refused.stderr, refused.stderr
    server_only = prod.kamflow("audit", "verify", login="hr")
    assert server_only.returncode == 2 and "runs on a server machine" in server_only.stderr, server_only.stderr
    verified = prod.kamflow("audit", "verify", login="hr", on_server=True)
    assert verified.returncode == 0, verified.stdout + verified.stderr

    private = [prod.state / name for name in ("kamflow.env", "server.env", "secrets.env")]
    private += [*(prod.state / "logs").glob("*.log"), *(prod.state / "tokens").rglob("*.*")]
    assert {str(path): path.stat().st_mode & 0o777 for path in private} == {str(path): 0o600 for path in private}

    with get_engine(prod.settings).connect() as connection, pytest.raises(ProgrammingError, match="must be owner"):
        connection.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))


def test_an_escalated_discount_waits_on_a_worker_and_resumes_through_prefects_api(prod: Production) -> None:
    assert prod.settings.db_url.startswith("postgresql+psycopg://")
    _, norm = kam_and_norm()
    view = escalate(prod)
    run = flow_run(view["flow_run_id"])
    assert run.state is not None and run.state.is_paused() and run.work_pool_name is None  # served by a worker
    assert worker_of(prod, run.id) in WORKERS
    # kamflow's server sends the outbox: the head's mail (the demo shape writes it as a file, mode 600)
    outbox = prod.state / "kamflow" / "mail"

    def mailed() -> tuple[Path, EmailMessage] | None:
        for path in outbox.glob("*.eml"):
            mail = BytesParser(policy=default).parsebytes(path.read_bytes())
            if str(mail["Subject"]).startswith(f"Discount {view['request_id']} for "):
                return path, mail
        return None

    path, mail = wait_until("the head's mail", mailed, timeout=60)
    assert str(mail["Subject"]).endswith("waiting for you") and path.stat().st_mode & 0o777 == 0o600
    assert str(mail["To"]).startswith(view["assignee"])

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
    taken = {name: [r for r in runs if took(prod, name, r)] for name in WORKERS}
    assert all(taken.values()), taken


def test_the_nightly_review_runs_through_its_deployment_in_parallel_shards(prod: Production) -> None:
    with get_client(sync_client=True) as client:
        [nightly] = client.read_deployment_by_name(REVIEW_DEPLOYMENT).schedules
    assert nightly.parameters == {"shards": 2}, "the shape's scheduled review runs in 2 shards"
    as_of = next_review_date(days=1)
    done = prod.kamflow(
        "review", "--as-of", as_of.isoformat(), "--shards", "2", "--json", login="hr", on_server=True
    )
    assert done.returncode == 0, done.stdout + done.stderr + prod.logs()
    with unit_of_work() as session:
        review = service.get_review(session, as_of)
        assert review.status == "completed" and review.shards == 2 and review.flow_run_id is not None
    run = flow_run(review.flow_run_id)
    assert run.state is not None and run.state.is_completed()
    with get_client(sync_client=True) as client:
        found = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(like_=f"credit-review-{as_of}-shard-"))
        )
    shards = {r.name: r for r in found}
    assert sorted(shards) == [f"credit-review-{as_of}-shard-{k}-of-2" for k in (0, 1)]
    assert all(r.state is not None and r.state.is_completed() for r in found)
    # shard 0 ran inside the review's run; shard 1 as a deployment run that either worker took
    assert shards[f"credit-review-{as_of}-shard-0-of-2"].deployment_id is None
    remote = shards[f"credit-review-{as_of}-shard-1-of-2"]
    assert remote.deployment_id is not None
    assert all(any(took(prod, w, r) for w in WORKERS) for r in (run.id, remote.id))


def test_runs_waiting_for_people_hold_no_process_and_no_slot(prod: Production) -> None:
    """As many escalated discounts as the workers have slots wait for the head: each run gives its process back
    as it suspends (the shape's warm wait is 0), so no worker holds a process for them and a KAM's plain request
    still goes straight through. A worker's limit counts a process in its warm wait: with one, the plain request
    would wait until a window closed."""
    slots = len(WORKERS) * int(prod.env.get("KAMFLOW_WORKER_LIMIT", "2"))
    waiting = [flow_run(escalate(prod)["flow_run_id"]) for _ in range(slots)]
    assert all(run.state is not None and run.state.is_paused() for run in waiting)
    wait_until(
        "the waiting runs' processes to end",
        lambda: not any(run_processes(prod, worker) for worker in WORKERS) or None,
        timeout=30,
    )
    kam, norm = kam_and_norm()
    plain = start(
        DiscountRequestIn(
            customer="C0001", price_column=3, discount_pct=norm - 1, order_total=Decimal(1000), requester=kam
        )
    )
    wait_until("the plain request to go through", lambda: in_state(plain, StateType.COMPLETED), timeout=30)
    assert all(in_state(run.id, StateType.PAUSED) for run in waiting), "they still wait, holding nothing"


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
        worker, worker_pid = kill_the_worker_of(prod, running, machine=True)
        lock.rollback()

    # its heartbeats stopped, so the crash detection marks it Crashed; `up` brings the machine's worker back
    crashed_by(run_id, "heartbeat")
    up = prod.script("up")
    assert up.returncode == 0, up.stdout + up.stderr + prod.logs()
    back(prod, worker, worker_pid)
    assert in_state(waiting["flow_run_id"], StateType.PAUSED), "a waiting approval is not a dead run"
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


def test_a_worker_killed_during_the_nightly_review_leaves_it_crashed_and_its_rerun_acts_once(
    prod: Production,
) -> None:
    """The nightly review's worker dies after the review stored its collection tasks and before it closed:
    the run shows as Crashed and the review as still running; the operator reviews that date again with
    `kamflow review --as-of`, which completes, makes no task twice and audits none twice."""
    # A month on, invoices that fell due since the demo's today are overdue and unpaid: there is dunning to do
    # whatever earlier tests reviewed.
    as_of = next_review_date(days=30)
    engine = get_engine(prod.settings)
    with engine.connect() as table_lock, engine.connect() as row_lock:
        # The review's one batch waits to write customer_reviews, so nothing of it is stored yet.
        table_lock.execute(text("LOCK TABLE customer_reviews IN ACCESS EXCLUSIVE MODE"))
        run_id = UUID(start_run(REVIEW_DEPLOYMENT, {"business_date": as_of.isoformat(), "shards": 1}))
        wait_until("the review to start its shard", lambda: review_status(as_of) == ("running", "running") or None)
        # Holding the review's row lets the batch commit its tasks but not the review close: the run stops
        # between the shard and the summary, its work stored and the review still running.
        row_lock.execute(
            text("SELECT id FROM credit_reviews WHERE business_date = :as_of FOR NO KEY UPDATE"), {"as_of": as_of}
        )
        holder = row_lock.execute(text("SELECT pg_backend_pid()")).scalar_one()
        table_lock.rollback()

        def waiting_to_close() -> FlowRun | None:
            with engine.connect() as probe:
                blocked = probe.scalar(
                    text("SELECT count(*) FROM pg_stat_activity WHERE :holder = ANY(pg_blocking_pids(pid))"),
                    {"holder": holder},
                )
            done = review_status(as_of) == ("running", "completed")
            return in_state(run_id, StateType.RUNNING) if blocked and done else None

        running = wait_until("the review to store its tasks and wait to close", waiting_to_close, timeout=120)
        worker, worker_pid = kill_the_worker_of(prod, running)
        row_lock.rollback()

    # the supervisor restarts the worker, which ends at once the run whose process on this machine is gone
    back(prod, worker, worker_pid)
    crashed_by(run_id, "kamflow serve or worker that ran it")
    assert review_status(as_of) == ("running", "completed"), "the review never closed"
    stored = collection_tasks(as_of)
    assert stored, f"the review of {as_of} decided no collection task: nothing could be made twice"
    assert len({(customer, action) for _, customer, action in stored}) == len(stored)
    once = {task_id: 1 for task_id, _, _ in stored}
    assert rules_events(list(once)) == once

    # The operator reviews that date again from the command line (the discount test above re-runs through the
    # UI's "Retry").
    done = prod.kamflow("review", "--as-of", as_of.isoformat(), "--json", login="hr", on_server=True)
    assert done.returncode == 0, done.stdout + done.stderr + prod.logs()
    view = json.loads(done.stdout)
    assert view["status"] == "completed" and view["flow_run_id"] != str(run_id), view
    assert collection_tasks(as_of) == stored, "the re-run made a task twice, or lost one"
    assert view["tasks"] == dict(Counter(action for _, _, action in stored))
    assert rules_events(list(once)) == once, "the re-run audited a task twice"
    with unit_of_work() as session:
        review = service.get_review(session, as_of)
        assert (review.status, review.flow_run_id) == ("completed", view["flow_run_id"])
        reviewed = session.scalars(select(CustomerReview.customer_id).filter_by(review_id=review.id)).all()
        active = session.scalars(select(Customer.id).where(Customer.active.is_(True))).all()
    assert sorted(reviewed) == sorted(active), "one customer review per active customer"


def test_waiting_or_rescheduled_runs_are_not_marked_crashed(prod: Production, left_behind: LeftBehind) -> None:
    """A run that waits for a person sends no heartbeat once its process has let it go (at once here; after the
    warm wait when there is one, and then says so: `kamflow.flow-run.released`): the crash detection takes the
    suspension for the end of its heartbeats and leaves the run alone, so it still waits once its heartbeat would
    have timed out. So does a claimed run put back to start later: silent, as a scheduled run is. (Both were left
    as the module started, `left_behind`; that moment has passed by now, after the worker kills.)"""
    run = left_behind.waiting
    assert run.start_time is not None
    # a heartbeat would be due 30 s after the start; the crash detection's silence after it would mark it crashed
    silent_until = run.start_time + dt.timedelta(seconds=30 + int(prod.env["KAMFLOW_CRASH_AFTER_SECONDS"]) + 10)
    while (left := (silent_until - clock.now()).total_seconds()) > 0:
        time.sleep(min(left, 1))
    with get_client(sync_client=True) as client:
        for run_id in (run.id, left_behind.rescheduled):
            states = [(state.type, state.message) for state in client.read_flow_run_states(run_id)]
            assert StateType.CRASHED not in {kind for kind, _ in states}, states  # never, not even once and re-run
    assert in_state(run.id, StateType.PAUSED)
    assert in_state(left_behind.rescheduled, StateType.SCHEDULED)


def test_a_run_claimed_by_a_worker_that_died_before_starting_it_is_marked_crashed(
    prod: Production, left_behind: LeftBehind
) -> None:
    """A worker that dies in the second between claiming a run (Pending) and the run's first heartbeat, as its
    process starts, leaves the run Pending with no heartbeat to miss: the crash detection counts its silence
    from the claim, so the run shows as Crashed and the recovery sweep, or the operator, can start it again.
    (The run was left claimed as the module started: `left_behind`.)"""
    crashed = wait_until(
        "the claimed run to show as crashed", lambda: in_state(left_behind.claimed, StateType.CRASHED), timeout=150
    )
    assert crashed.state is not None and "heartbeat" in (crashed.state.message or "")


def test_two_answers_to_one_task_at_once_make_one_decision_and_one_clear_refusal(prod: Production) -> None:
    view = escalate(prod)
    answers = [
        subprocess.Popen(
            prod.kamflow_command("decide", str(view["task_id"]), action, "--json"),
            env=prod.signed_in("head.north"),
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
    tasks = prod.kamflow("tasks", "--json", login="head.north")
    assert view["task_id"] in [t["task_id"] for t in json.loads(tasks.stdout)], tasks.stdout + tasks.stderr
    done = prod.kamflow("decide", str(view["task_id"]), "approve", "--json", login="head.north")
    assert done.returncode == 0, done.stdout + done.stderr + prod.logs()
    assert json.loads(done.stdout)["status"] == "approved"
    assert actions(view["request_id"]) == ["discount_escalate", "discount_approve"]


def test_kill_9_of_the_workers_and_of_the_prefect_server_during_a_decision_loses_it_not_and_takes_it_once(
    prod: Production,
) -> None:
    """The head decides a waiting discount through kamflow's server and, at a random moment while the answer
    is recorded and its run resumed, every worker (and all they started: whichever took the resumed run) and the
    Prefect server are killed with kill -9; `up` brings the server back and the supervisors the workers. The
    decision is either recorded (decide said so) or the task still waits on a live run and a second decide records
    it: approved once, one decision audited on the task, and no task of it left open."""
    rng = Random()
    view = escalate(prod)
    deciding = subprocess.Popen(
        prod.kamflow_command("decide", str(view["task_id"]), "approve", "--json"),
        env=prod.signed_in("head.north"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    time.sleep(rng.uniform(0.5, 2.5))
    roots = [prod.pid(name) for name in (*WORKERS, "server")]
    assert None not in roots, roots
    kill([pid for root in cast(list[int], roots) for pid in (root, *descendants(root))])
    said, _ = deciding.communicate(timeout=120)
    up = prod.script("up")
    assert up.returncode == 0, up.stdout + up.stderr + prod.logs()
    if deciding.returncode != 0:  # the answer did not get through: the task still waits for it
        assert deciding.returncode == 5, said
        wait_until("the run to wait again", partial(in_state, view["flow_run_id"], StateType.PAUSED), 120)
        again = prod.kamflow("decide", str(view["task_id"]), "approve", "--json", login="head.north")
        assert again.returncode == 0, again.stdout + again.stderr + prod.logs()
    assert settled(view["request_id"]) == "approved", said
    assert actions(view["request_id"]) == ["discount_escalate", "discount_approve"]
    assert len(decisions(view["task_id"])) == 1
    with unit_of_work() as session:
        assert approvals.pending(session, process=discounts.PROCESS, subject_id=view["request_id"]) == []
    waiting = escalate(prod)  # the shape brought back takes a new request and waits on a live run
    assert wait_until("the new run to wait", lambda: in_state(waiting["flow_run_id"], StateType.PAUSED), 120)


def test_down_stops_every_process_it_started(prod: Production) -> None:
    everything = prod.every_pid()
    assert len(everything) >= 5, "PostgreSQL, the server, two supervisors and two workers at least"
    down = prod.script("down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert [p for p in everything if alive(p)] == []
    status = prod.script("status")
    assert status.returncode == 1 and "running" not in status.stdout, status.stdout
