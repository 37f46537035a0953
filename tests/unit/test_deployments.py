"""Every process of flows/processes.py is served as one deployment, named like its process, with its schedule on
the company's clock; and what makes a served run's process start fast."""

from __future__ import annotations

import http.server
import multiprocessing.spawn
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flows.processes import PROCESSES, deployment_options
from kamflow.app.cli import app
from kamflow.app.serve import FORK_PRELOAD, _died_here, _holder, _spawn_lean, wait_for_api
from kamflow.settings import PROJECT_ROOT, Settings
from tests.support import free_port


def schedules(settings: Settings) -> dict[str, list[dict[str, Any]]]:
    """Each deployment's schedules, by its name, as plain values."""
    served = [deployment_options(process, settings) for process in PROCESSES.values()]
    return {options["name"]: [plain(s) for s in options["schedules"] or []] for options in served}


def plain(schedule: Any) -> dict[str, Any]:
    given = {"parameters": schedule.parameters} if schedule.parameters else {}
    if schedule.interval is not None:
        return {"interval": int(schedule.interval.total_seconds()), **given}
    return {"cron": schedule.cron, "timezone": schedule.timezone, **given}


def test_every_process_is_one_deployment_named_like_it_and_the_sweep_and_the_review_run_on_schedules() -> None:
    settings = Settings(deadline_sweep_seconds=45, review_shards=3)
    nightly = {"cron": settings.review_cron, "timezone": settings.timezone, "parameters": {"shards": 3}}
    assert schedules(settings) == {
        **{name: [] for name in PROCESSES},
        "approval-deadlines": [{"interval": 45}],
        "nightly-credit-review": [nightly],
    }


def test_the_nightly_review_runs_on_the_company_clock() -> None:
    """The schedule carries its timezone, so the UI shows 02:00 as the company's 02:00."""
    [review] = schedules(Settings(timezone="America/Bogota"))["nightly-credit-review"]
    assert review == {"cron": Settings().review_cron, "timezone": "America/Bogota", "parameters": {"shards": 1}}


def test_a_worker_with_no_prefect_server_to_serve_says_which_setting_is_missing_and_serves_nothing(
    settings: Settings,
) -> None:
    assert settings.prefect_api_url is None
    done = CliRunner().invoke(app, ["worker"])
    assert done.exit_code == 2 and "KAMFLOW_PREFECT_API_URL" in done.output, done.output
    assert "serving" not in done.output


class Refusing(http.server.BaseHTTPRequestHandler):
    """A server that answers every request 401, as a Prefect API behind its auth string answers a stranger."""

    def do_GET(self) -> None:
        self.send_response(401)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


def test_a_worker_waits_for_its_prefect_api_saying_why_and_goes_on_once_it_answers_at_all() -> None:
    port = free_port()
    said: list[str] = []
    waiter = threading.Thread(
        target=wait_for_api,
        args=(f"http://127.0.0.1:{port}/api",),
        kwargs={"waiting": said.append, "every": 0.05, "say_every": 0.2},
    )
    waiter.start()
    time.sleep(0.5)
    assert waiter.is_alive() and 2 <= len(said) <= 4 and all("refused" in why for why in said), said
    answering = http.server.HTTPServer(("127.0.0.1", port), Refusing)
    threading.Thread(target=answering.serve_forever, daemon=True).start()
    try:
        waiter.join(5)
        assert not waiter.is_alive()
    finally:
        answering.shutdown()


def test_a_worker_started_before_its_prefect_server_says_it_waits_and_stops_cleanly(tmp_path: Path) -> None:
    """One line, no traceback, no exit for its supervisor to restart; SIGTERM stops it while it waits."""
    api = f"http://127.0.0.1:{free_port()}/api"
    env = {
        **os.environ,
        "KAMFLOW_DATA_DIR": str(tmp_path),
        "KAMFLOW_PREFECT_API_URL": api,
        "KAMFLOW_LANGUAGE": "en",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "kamflow.app.cli", "worker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert worker.stdout is not None
        first = worker.stdout.readline().decode()
        assert first.startswith(f"kamflow worker: waiting for the Prefect API at {api} (") and "refused" in first
        time.sleep(1)
        assert worker.poll() is None
        worker.send_signal(signal.SIGTERM)
        rest = worker.communicate(timeout=10)[0].decode()
    finally:
        worker.kill()
    assert worker.returncode == 0 and rest.strip() == "kamflow worker stopped", rest


def test_flow_processes_of_serve_run_as_the_kamflow_script_do_not_import_the_cli_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A spawned process runs its parent's main script again unless the parent ran a package's `__main__`."""
    script = types.ModuleType("__main__")
    script.__file__ = "/opt/kamflow/.venv/bin/kamflow"
    script.__spec__ = None
    monkeypatch.setitem(sys.modules, "__main__", script)
    assert "init_main_from_path" in multiprocessing.spawn.get_preparation_data("flow")
    _spawn_lean()
    prepared = multiprocessing.spawn.get_preparation_data("flow")
    assert prepared["init_main_from_name"] == "kamflow.app.cli.__main__"
    assert "init_main_from_path" not in prepared


def test_the_fork_servers_preload_imports_prefects_engine_and_every_flow_then_freezes_what_they_made() -> None:
    """Run in a process of its own, as the fork server imports it (here it would freeze this process's objects)."""
    wanted = ("prefect.flow_engine", "flows.processes")
    probe = f"import gc, sys, {FORK_PRELOAD}; print(gc.get_freeze_count(), *(m in sys.modules for m in {wanted}))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=PROJECT_ROOT
    )
    frozen, *imported = done.stdout.split()
    assert int(frozen) > 100_000 and imported == ["True", "True"], done.stderr


def test_a_run_is_ended_at_a_start_only_when_its_recorded_process_was_on_this_machine_and_is_gone() -> None:
    """`end_orphans` (a worker's start) ends a run whose process (`_holder`, as the runner records it) ran here and
    has ended, or is a zombie nobody reaped (its parent died with it); a live one, another machine's, or a run with
    no process recorded yet (claimed, not started) is left to the crash detection."""
    gone = subprocess.Popen(["true"])
    gone.wait()
    zombie = subprocess.Popen(["sleep", "30"])
    zombie.kill()
    try:
        os.waitid(os.P_PID, zombie.pid, os.WEXITED | os.WNOWAIT)  # it has died; it stays a zombie, unreaped
        assert _died_here(_holder(gone.pid)) and _died_here(_holder(zombie.pid))
    finally:
        zombie.wait()
    assert _holder(os.getpid()) == f"{socket.gethostname()}:{os.getpid()}"
    assert not _died_here(_holder(os.getpid()))
    for other in (f"another-{socket.gethostname()}:{gone.pid}", None, "", f"{socket.gethostname()}:"):
        assert not _died_here(other), other
