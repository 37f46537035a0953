"""Recovery through the real runner: the last good rules decide in `kamflow serve`'s fresh flow processes while the
rule file is broken; a waiting command notices its service killed; and the fault-injection test — `kill -9` of
serve's process group at random moments while people decide, then a restart: no task stranded, no decision lost,
none taken twice. The sweep's cases one by one are in tests/flows/test_recovery.py."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from prefect import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterExpectedStartTime,
)
from sqlalchemy import select

from kamflow import approvals, audit
from kamflow.db import unit_of_work
from kamflow.discounts import service as discounts
from kamflow.models import AuditEvent
from kamflow.recovery import RERUN
from kamflow.review.service import PROCESS as REVIEW
from kamflow.rulesets import REFUSED
from rules.engine import RULES_DIR
from tests.integration.conftest import Stack, logs, wait_until
from tests.support import kam_and_norm

pytestmark = pytest.mark.integration

TRIES = int(os.environ.get("KAMFLOW_FAULT_TRIES", "3"))
"""Decisions interrupted by a kill -9 in the fault-injection test, 3 per restart of serve (about 100 s a round on a
busy 2-core machine, so CI runs one round)."""
AT_ONCE = 3


@contextmanager
def serving(live: Stack, **env: str) -> Iterator[Stack]:
    """The stack's serve restarted with `env` added; the next test's `live` starts it as it was."""
    live.stop_runner()
    saved = dict(live.env)
    live.env.update(env)
    live.start_runner()
    try:
        yield live
    finally:
        live.stop_runner()
        live.env.clear()
        live.env.update(saved)


def request(stack: Stack, pct: Decimal) -> dict[str, Any]:
    kam, _ = kam_and_norm()
    done = stack.kamflow(
        "discount", "request", "--customer", "C0001", "--column", "3", "--discount-pct", str(pct),
        "--order-total", "150000", "--as", kam, "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr + logs(stack.settings.data_dir / "runner.log")
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_a_discount_request_is_decided_by_the_last_good_rules_while_the_file_is_broken(
    live: Stack, tmp_path: Any
) -> None:
    rules_dir = tmp_path / "rules"
    shutil.copytree(RULES_DIR, rules_dir, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    path = rules_dir / "discount.yaml"
    with serving(live, KAMFLOW_RULES_DIR=str(rules_dir)) as stack:
        _, norm = kam_and_norm()
        good = request(stack, norm)  # decided at once: its version is stored
        path.write_text(path.read_text() + "rules: [ broken\n")
        broken = request(stack, norm)
        assert broken["status"] == "approved" and broken["rules_version"] == good["rules_version"]
        with unit_of_work() as session:
            [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == REFUSED)).all()
            assert (
                "discount.yaml:" in event.detail["error"]
                and event.detail["deciding_version"] == good["rules_version"]
            )
        path.write_text(path.read_text().replace("rules: [ broken\n", "# mended\n"))
        fixed = request(stack, norm)
        assert fixed["status"] == "approved" and fixed["rules_version"] != good["rules_version"]


def test_a_review_whose_service_is_killed_stops_waiting_with_exit_5_within_30_s(live: Stack) -> None:
    since = dt.datetime.now(dt.UTC)
    review = subprocess.Popen(
        [sys.executable, "-m", "kamflow.app.cli", "review", "--json"],
        env=live.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def started() -> bool | None:
        with get_client(sync_client=True) as client:
            found = client.read_flow_runs(
                flow_filter=FlowFilter(name=FlowFilterName(any_=[REVIEW])),
                flow_run_filter=FlowRunFilter(expected_start_time=FlowRunFilterExpectedStartTime(after_=since)),
                limit=1,
            )
        return True if found else None

    wait_until("the review's run", started, timeout=60)
    live.kill_runner()
    killed = time.monotonic()
    out, err = review.communicate(timeout=60)
    stopped = time.monotonic() - killed
    assert review.returncode == 5, out + err
    assert stopped < 30, stopped
    said = json.loads(out)["message"]
    assert "stopped waiting for the review" in said and "kamflow serve" in said, said


def decide(stack: Stack, view: dict[str, Any]) -> subprocess.Popen[str]:
    command = ["decide", str(view["task_id"]), "approve", "--as", view["assignee"]]
    return subprocess.Popen(
        [sys.executable, "-m", "kamflow.app.cli", *command],
        env=stack.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def resumed(views: list[dict[str, Any]]) -> bool | None:
    """True once the run of any of the requests has been resumed by an answer (no longer suspended)."""
    with get_client(sync_client=True) as client:
        states = [client.read_flow_run(UUID(view["flow_run_id"])).state for view in views]
    return True if any(state is not None and not state.is_paused() for state in states) else None


def standing(view: dict[str, Any]) -> str:
    """decided, waiting (its task pending on a suspended run) or stranded."""
    with unit_of_work() as session:
        status = discounts.get(session, view["request_id"]).status
        task = approvals.get(session, view["task_id"])
        task_status, run_id = task.status, task.flow_run_id
    if status != "pending":
        return "decided" if task_status == "decided" else f"stranded ({status}, task {task_status})"
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(UUID(str(run_id))).state
    live_wait = task_status == "pending" and state is not None and state.is_paused()
    return "waiting" if live_wait else f"stranded (task {task_status}, run {state.name if state else None})"


def decisions(view: dict[str, Any]) -> tuple[int, int]:
    with unit_of_work() as session:
        on_request = audit.trail(session, subject_type="discount_request", subject_id=view["request_id"])
        on_task = audit.trail(session, subject_type="approval_task", subject_id=view["task_id"])
    return (
        sum(e.action == "discount_approve" for e in on_request),
        sum(e.action == "task_decided" for e in on_task),
    )


def reruns(view: dict[str, Any]) -> int:
    with unit_of_work() as session:
        return sum(
            e.action == RERUN
            for e in audit.trail(session, subject_type="approval_task", subject_id=view["task_id"])
        )


def test_kill_9_of_serve_while_people_decide_strands_nothing_loses_nothing_decides_nothing_twice(
    live: Stack,
) -> None:
    seed = int(os.environ.get("KAMFLOW_FAULT_SEED", time.time_ns() % 10**6))
    rng = random.Random(seed)
    _, norm = kam_and_norm()
    counts = {"tries": 0, "decide done": 0, "decide exit 5": 0, "decided again": 0, "runs started again": 0}
    began = time.monotonic()
    rounds: list[tuple[float, ...]] = []
    with (
        serving(
            live,
            KAMFLOW_DEADLINE_SWEEP_SECONDS="10",
            KAMFLOW_RECOVERY_GRACE_SECONDS="10",
            KAMFLOW_WARM_WAIT_SECONDS="0",
        ) as stack,
        ThreadPoolExecutor(AT_ONCE) as pool,
    ):
        while counts["tries"] < TRIES:
            round_began = time.monotonic()
            views = list(pool.map(lambda k: request(stack, norm + 2 + k), range(AT_ONCE)))
            asked = time.monotonic()
            assert all(view["status"] == "pending" for view in views)
            deciding = [decide(stack, view) for view in views]
            wait_until("an answer to resume a run", lambda views=views: resumed(views), timeout=30)
            time.sleep(rng.uniform(0, 2))  # a random moment while the answers are carried out
            stack.kill_runner()
            stack.env["KAMFLOW_WARM_WAIT_SECONDS"] = rng.choice(
                ["0", "120"]
            )  # the next round's answers: runner or warm
            stack.start_runner()
            restarted = time.monotonic()
            answered = [process.communicate(timeout=120)[0] for process in deciding]
            rounds.append((asked - round_began, restarted - asked, time.monotonic() - restarted))
            said = [(process.returncode, out) for process, out in zip(deciding, answered, strict=True)]
            where = f"seed {seed}, decide said {said}\n{logs(stack.settings.data_dir / 'runner.log')}"
            for view, (code, _) in zip(views, said, strict=True):
                assert code in (0, 5), where
                wait_until(
                    f"request {view['request_id']} decided or waiting on a live run: {standing(view)} ({where})",
                    lambda view=view: None if standing(view).startswith("stranded") else True,
                    timeout=max(1.0, 60 - (time.monotonic() - restarted)),
                )
                counts["decide done" if code == 0 else "decide exit 5"] += 1
                if code == 0:  # the person was told it is decided: it is
                    assert standing(view) == "decided", where
                elif standing(view) == "waiting":  # told to decide again once it waits again: it does
                    again = stack.kamflow("decide", str(view["task_id"]), "approve", "--as", view["assignee"])
                    assert again.returncode == 0, again.stdout + again.stderr + where
                    counts["decided again"] += 1
                assert standing(view) == "decided" and decisions(view) == (1, 1), where
                counts["runs started again"] += reruns(view)
            counts["tries"] += AT_ONCE
            rounds[-1] += (time.monotonic() - round_began,)
    print(f"fault injection, seed {seed}, {time.monotonic() - began:.0f} s: {counts}; rounds {rounds}")
