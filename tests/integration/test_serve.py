"""`kamflow serve` owns its local Prefect server: it stops on SIGINT or SIGTERM within 10 s, in the foreground or
as a background job of a script (which starts with SIGINT ignored), and its server never outlives it — not even a
kill -9 of serve — and the next serve marks the runs a killed one left Crashed. Real processes, a real Prefect
server on loopback; nothing mocked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from kamflow.app.serve import alive

pytestmark = pytest.mark.integration


def _serve(data: Path, port: int) -> tuple[subprocess.Popen[bytes], int]:
    """`kamflow serve` started as a script's background job would be (SIGINT ignored), once it serves; with the
    pid of the Prefect server it started."""
    env = {
        **os.environ,
        "KAMFLOW_DATA_DIR": str(data),
        "KAMFLOW_PREFECT_PORT": str(port),
        "KAMFLOW_WEB_PORT": str(port + 1000),
    }
    for name in ("KAMFLOW_PREFECT_API_URL", "PREFECT_API_URL", "PREFECT_HOME"):
        env.pop(name, None)
    log = data / f"serve-{time.monotonic_ns()}.log"
    serving = subprocess.Popen(
        [sys.executable, "-m", "kamflow.app.cli", "serve"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    deadline = time.monotonic() + 120
    while "kamflow serving" not in log.read_text():
        assert serving.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.2)
    return serving, int((data / "prefect" / "server.pid").read_text())


def _post(prefect: httpx.Client, path: str, body: dict[str, Any]) -> httpx.Response:
    """A write to the Prefect API, tried again while the server answers 503 (its SQLite database busy with the
    runner registering its deployments)."""
    for _ in range(20):
        answer = prefect.post(path, json=body)
        if answer.status_code != 503:
            assert answer.is_success, (path, answer.status_code, answer.text)
            return answer
        time.sleep(0.5)
    raise AssertionError(f"{path}: {answer.text}")


def _leave_runs(api: str) -> dict[str, str]:
    """A review left Running and a deadlines sweep left Pending, as a serve killed mid-run leaves them: run id →
    state."""
    left = {}
    with httpx.Client(base_url=api, timeout=10) as prefect:
        for name, state in [("nightly-credit-review", "RUNNING"), ("approval-deadlines", "PENDING")]:
            deadline = time.monotonic() + 60
            while (found := prefect.get(f"/deployments/name/{name}/{name}")).status_code == 404:
                assert time.monotonic() < deadline, f"serve did not register {name}"
                time.sleep(0.5)
            later = {"type": "SCHEDULED", "state_details": {"scheduled_time": "2099-01-01T00:00:00Z"}}
            run = _post(prefect, f"/deployments/{found.json()['id']}/create_flow_run", {"state": later}).json()
            _post(prefect, f"/flow_runs/{run['id']}/set_state", {"state": {"type": state}, "force": True})
            left[run["id"]] = state
    return left


def test_serve_stops_within_ten_seconds_its_server_never_outlives_it_and_the_next_ends_what_it_left(
    tmp_path: Path,
) -> None:
    port = 4300 + os.getpid() % 600
    api = f"http://127.0.0.1:{port}/api"
    serving, server = _serve(tmp_path, port)
    assert httpx.get(f"http://127.0.0.1:{port + 1000}/api/health", timeout=5).json() == {"ok": True}
    made = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "prefect").glob("*.[dl][bo]*")}
    assert {"prefect.db", "server.log"} <= set(made) and set(made.values()) == {0o600}, made  # their owner's alone
    left = _leave_runs(api)
    serving.kill()  # kill -9: no cleanup runs in serve, the kernel ends its server
    serving.wait(5)
    deadline = time.monotonic() + 5
    while alive(server):
        assert time.monotonic() < deadline, "the Prefect server outlived a killed serve"
        time.sleep(0.1)

    # The runs it left have no process any more: the next serve marks them Crashed before it serves (the recovery
    # sweep then starts a waiting task's run again; a review may be run again).
    serving, server = _serve(tmp_path, port)
    try:
        with httpx.Client(base_url=api, timeout=10) as prefect:
            ended = {run_id: prefect.get(f"/flow_runs/{run_id}").json()["state"] for run_id in left}
        asked = time.monotonic()
        serving.send_signal(signal.SIGINT)  # ignored by a background job unless serve takes it back
        serving.wait(15)
    finally:
        if serving.poll() is None:
            serving.kill()
    assert time.monotonic() - asked <= 10
    assert not alive(server)
    assert not (tmp_path / "prefect" / "server.pid").exists()
    assert {left[run_id]: state["type"] for run_id, state in ended.items()} == {
        "RUNNING": "CRASHED",
        "PENDING": "CRASHED",
    }
    assert all("kamflow serve or worker that ran it" in state["message"] for state in ended.values()), ended
