"""Recovery through the real runner: the last good rules decide in `kamflow serve`'s fresh flow processes while the
rule file is broken; a waiting command notices its service killed; and the fault-injection test — `kill -9` of
serve's process group at random moments while people decide, then a restart: no task stranded, no decision lost,
none taken twice. The sweep's cases one by one are in tests/flows/test_recovery.py."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from prefect import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterExpectedStartTime,
)
from sqlalchemy import select

from kamflow.db import unit_of_work
from kamflow.models import AuditEvent
from kamflow.review.service import PROCESS as REVIEW
from kamflow.rulesets import REFUSED
from rules.engine import RULES_DIR
from tests.integration.conftest import Stack, logs, wait_until
from tests.support import kam_and_norm

pytestmark = pytest.mark.integration

TRIES = int(os.environ.get("KAMFLOW_FAULT_TRIES", "6"))
"""Decisions interrupted by a kill -9 in the fault-injection test (3 per restart of serve)."""
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
