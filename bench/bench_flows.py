"""Flow timings, measured in one run against a real Prefect API and a real `kamflow serve` runner.

    .venv/bin/python bench/bench_flows.py [--auto 30] [--resumes 8] [--window 3] [--production]

Prints the median time of an automatically decided discount request through its flow in-process (with
Prefect's heartbeat off and on) next to the same work without Prefect (the baseline), and the median time
from a resume call to the waiting flow having recorded the decision, both ways a waiting run is answered:
inside the warm wait (the process that suspended the run still watches it and goes on) and after it (the run
starts again from the top in a new process). The runner's warm window is `--window` seconds: the warm answers
come as soon as the run has suspended, the others once the window has passed and its process has ended. With no
window (0) there is one way: every answer finds the run suspended and its process gone.

Then the same both ways through `kamflow decide`'s run control (`kamflow.app.runs.decide`, which the workspace
calls too): the median time until the decision is visible as decided (the call has recorded it and returns the
decided view; it has also resumed the run), and until the waiting run has gone on from it to its end.

With --production, the answers (not the in-process part) are measured on the production shape instead:
`deploy/production.sh up --demo` in a private folder on loopback (PostgreSQL, the Prefect server with API
authentication, 2 supervised `kamflow worker`s), as an operator beside the server (its server.env), stopped at the
end whatever happens. A resumed run there is started by a worker from its fork server, as under `kamflow serve`.
The shape's workers run with no warm wait (production.sh's default) unless --window is given.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from functools import partial
from pathlib import Path
from uuid import UUID

from bench_review_production import production_shape
from prefect import get_client
from prefect.flow_runs import resume_flow_run
from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from prefect.testing.utilities import prefect_test_harness

from flows.discount import discount_authorization
from flows.runs import wait_for
from kamflow import approvals, clock, migrate
from kamflow.app.runs import Answer, decide, start
from kamflow.db import get_engine, unit_of_work
from kamflow.demo_data import generate
from kamflow.discounts import PROCESS
from kamflow.discounts import service as discounts
from kamflow.discounts.tables import DiscountRequest
from kamflow.discounts.views import DiscountView
from kamflow.models import Customer
from kamflow.settings import Settings, get_settings, use_settings


def ask(pct: Decimal) -> discounts.DiscountRequestIn:
    with unit_of_work() as session:
        kam = session.query(Customer).filter_by(code="C0001").one().kam.login
    return discounts.DiscountRequestIn(
        customer="C0001", price_column=3, discount_pct=pct, order_total=Decimal("1000"), requester=kam
    )


def median_seconds(runs: int, work) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--auto", type=int, default=30)
    parser.add_argument("--resumes", type=int, default=8)
    parser.add_argument("--window", type=int, help="the runner's warm wait, seconds [3; --production: 0]")
    parser.add_argument("--production", action="store_true", help="answers on the production shape")
    parser.add_argument("--answers-only", action="store_true", help=argparse.SUPPRESS)  # --production's operator
    args = parser.parse_args()
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    if args.answers_only:
        answers(args.resumes, args.window)
        return
    if args.production:
        window = 0 if args.window is None else args.window
        warm = {"KAMFLOW_WARM_WAIT_SECONDS": str(window), "KAMFLOW_DEMO_CUSTOMERS": "40"}
        with production_shape("--demo", **warm) as shape:
            # an operator's process started with the server's settings, as Prefect and kamflow read them at import
            operator = [sys.executable, __file__, "--answers-only", f"--resumes={args.resumes}"]
            server = shape.settings("server")
            subprocess.run([*operator, f"--window={window}"], env={**os.environ, **server}, check=True)
        return
    window = 3 if args.window is None else args.window
    data = Path(tempfile.mkdtemp(prefix="kamflow-bench-"))
    with prefect_test_harness(server_startup_timeout=120):
        api = str(PREFECT_API_URL.value())
        settings = Settings(data_dir=data, prefect_api_url=api)
        use_settings(settings)
        migrate.upgrade(settings)
        generate(get_engine(settings), customers=40, seed=7, today=clock.today())
        small = ask(Decimal("1"))

        baseline = median_seconds(args.auto, lambda: submit_and_roll_back(small))
        discount_authorization(small)  # the first flow run pays Prefect's start-up once
        with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            quiet = median_seconds(args.auto, lambda: discount_authorization(small))
        with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: 30}):
            beating = median_seconds(args.auto, lambda: discount_authorization(small))
        print(f"auto-decided request, baseline without Prefect: median {baseline * 1000:.1f} ms")
        print(
            f"auto-decided request through its flow in-process (heartbeat off): median {quiet * 1000:.1f} ms "
            f"= {quiet / baseline:.1f}x baseline (goal <= 300 ms)"
        )
        print(f"auto-decided request through its flow in-process (heartbeat 30 s): median {beating * 1000:.1f} ms")

        env = {
            **os.environ,
            "KAMFLOW_DATA_DIR": str(data),
            "KAMFLOW_PREFECT_API_URL": api,
            "KAMFLOW_WARM_WAIT_SECONDS": str(window),
            "PREFECT_API_URL": api,
            "PREFECT_HOME": str(data / "prefect"),
        }
        runner = subprocess.Popen(
            [sys.executable, "-m", "kamflow.app.cli", "serve"],
            env=env,
            stdout=(data / "serve.log").open("wb"),  # kept for reading when a figure looks wrong
            stderr=subprocess.STDOUT,
        )
        try:
            answers(args.resumes, window)
        finally:
            runner.terminate()
            runner.wait(30)


def answers(resumes: int, window: int) -> None:
    """Both ways a waiting run is answered (a resume, `decide`), inside and after the warm wait (or with none),
    alternated so that they meet the same machine; their medians printed."""
    above = ask(Decimal("24"))
    ways = {"no warm wait (suspended, new process)": 1.0}
    if window:
        ways = {f"inside the warm wait ({window} s)": 0.0, "after it (suspended, new process)": window + 3.0}
    measured: dict[str, list[Stages]] = {name: [] for name in ways}
    for _ in range(resumes):
        for name, after in ways.items():
            measured[name].append(resume_latency(above, answer_after=after))
    for name, stages in measured.items():
        latencies = [s["seen"] for s in stages]
        print(
            f"resume call -> waiting flow recorded the decision, {name}: median "
            f"{statistics.median(latencies):.2f} s (min {min(latencies):.2f}, max {max(latencies):.2f}, "
            f"n={len(latencies)}; goal <= 2 s)"
        )
        print(
            "  its stages, median s after the resume call: "
            + ", ".join(
                f"{label} {statistics.median(s[stage] for s in stages):.2f}" for stage, label in STAGES.items()
            )
        )
    shown, continued = [], []
    for _ in range(resumes):
        for after in ways.values():
            visible, ended = decide_latency(above, answer_after=after)
            shown.append(visible)
            continued.append(ended)
    print(
        f"decide -> visible as decided: median {statistics.median(shown) * 1000:.0f} ms (min "
        f"{min(shown) * 1000:.0f}, max {max(shown) * 1000:.0f}, n={len(shown)}; goal <= 300 ms)"
    )
    print(
        f"decide -> the waiting run has gone on to its end: median {statistics.median(continued):.2f} s "
        f"(min {min(continued):.2f}, max {max(continued):.2f}, n={len(continued)}, {' and '.join(ways)}; "
        "goal <= 5 s)"
    )


Stages = dict[str, float]
STAGES = {
    "PENDING": "taken (Pending)",
    "RUNNING": "its process running",
    "decided_at": "the decision's instant",
    "seen": "seen recorded",
}
"""The stages of a resumed run, as seconds after the resume call: a process took the run (its state Pending: the
runner's poll, or the warm process's watch), that process had started it (Running: after a new process's imports),
the instant the flow gave the decision (the task's `decided_at`, taken as it records it), and the decision seen
committed in the database (probed every 20 ms)."""


def resume_latency(request: discounts.DiscountRequestIn, *, answer_after: float) -> Stages:
    """Send a request that waits for its head, answer it `answer_after` seconds after its run has suspended, and
    return its stages (`STAGES`): "seen" is the seconds from the resume call to the decision in the database."""
    view = wait_for("a pending request", lambda: try_request(request), timeout=180)
    run_id, task_id, head = view.flow_run_id, view.task_id, view.assignee
    assert run_id is not None and task_id is not None and head is not None, view
    wait_for("the run to suspend", partial(suspended, run_id), timeout=60)
    time.sleep(answer_after)
    resumed = time.time()
    start = time.perf_counter()
    resume_flow_run(
        UUID(run_id),
        run_input={"approver": head, "approval_code": approval_code(task_id, head), "action": "approve"},
    )
    while decided(view.request_id) is None:
        assert time.perf_counter() - start < 60, "no decision 60 s after the resume"
        time.sleep(0.02)
    stages = {"seen": time.perf_counter() - start}
    with get_client(sync_client=True) as client:
        for state in client.read_flow_run_states(UUID(run_id)):
            if state.timestamp.timestamp() >= resumed:
                stages.setdefault(state.type.value, state.timestamp.timestamp() - resumed)
    with unit_of_work() as session:
        at = approvals.get(session, task_id).decided_at
    assert at is not None
    stages["decided_at"] = at.timestamp() - resumed
    return {stage: stages[stage] for stage in STAGES}


def decide_latency(request: discounts.DiscountRequestIn, *, answer_after: float) -> tuple[float, float]:
    """Send a request that waits for its head, decide it through run control `answer_after` seconds after its run
    has suspended; the seconds until the call has returned the decided request, and until its run has ended."""
    view = wait_for("a pending request", lambda: try_request(request), timeout=180)
    run_id, task_id, head = view.flow_run_id, view.task_id, view.assignee
    assert run_id is not None and task_id is not None and head is not None, view
    wait_for("the run to suspend", partial(suspended, run_id), timeout=60)
    time.sleep(answer_after)
    start = time.perf_counter()
    shown = decide(task_id, login=head, answer=Answer(action="approve"))
    visible = time.perf_counter() - start
    assert shown.model_dump()["status"] == "approved", shown
    wait_for("the run to end", partial(ended, run_id), timeout=60)
    return visible, time.perf_counter() - start


def approval_code(task_id: int, login: str) -> str:
    """The one-time code `kamflow tasks` shows `login` for a task."""
    with unit_of_work() as session:
        task = approvals.get(session, task_id)
        return approvals.approval_code(task, login=login, secret=get_settings().approval_secret)


def submit_and_roll_back(request: discounts.DiscountRequestIn) -> None:
    """The flow's work without Prefect; rolled back so the baseline repeats it on the same data."""
    with unit_of_work() as session:
        discounts.submit(session, request=request, flow_run_id=None, now=clock.now())
        session.rollback()


def try_request(request: discounts.DiscountRequestIn) -> DiscountView | None:
    try:
        return DiscountView.model_validate(start(PROCESS, request))
    except Exception:  # the runner may still be registering its deployments
        return None


def suspended(flow_run_id: str) -> bool | None:
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(UUID(flow_run_id)).state
    return True if state is not None and state.is_paused() else None


def ended(flow_run_id: str) -> bool | None:
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(UUID(flow_run_id)).state
    return True if state is not None and state.is_completed() else None


def decided(request_id: int) -> bool | None:
    with unit_of_work() as session:
        return True if session.get(DiscountRequest, request_id).status != "pending" else None  # type: ignore[union-attr]


if __name__ == "__main__":
    main()
