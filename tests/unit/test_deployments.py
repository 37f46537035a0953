"""deploy/prefect.yaml, which the production shape deploys, declares every process of flows/processes.py as the
deployment `kamflow serve` serves: a process declared in one place and missing in the other fails here."""

from __future__ import annotations

import multiprocessing.spawn
import subprocess
import sys
import types
from typing import Any

import pytest
import yaml

from flows.processes import PROCESSES, deployments
from kamflow.app.serve import FORK_PRELOAD, _spawn_lean
from kamflow.settings import PROJECT_ROOT, Settings


def plain(schedule: Any) -> dict[str, Any]:
    if hasattr(schedule, "interval"):
        return {"interval": int(schedule.interval.total_seconds())}
    return {"cron": schedule.cron, "timezone": schedule.timezone}


def test_prefect_yaml_declares_every_registered_deployment_on_the_kamflow_pool() -> None:
    spec = yaml.safe_load((PROJECT_ROOT / "deploy" / "prefect.yaml").read_text())
    declared = {
        d["name"]: (d["entrypoint"], d["description"], d.get("schedules", []), d["work_pool"]["name"])
        for d in spec["deployments"]
    }
    registered = {
        d.name: (d.entrypoint, d.description, [plain(s.schedule) for s in d.schedules or []], "kamflow")
        for d in deployments(Settings())
    }
    assert declared == registered
    assert set(registered) == set(PROCESSES), "every process is served as one deployment named like its flow"
    assert len(spec["deployments"]) == len(declared), "each deployment is declared once"
    assert spec["pull"] == [], "entrypoints are module paths: workers need the package, not a checkout"


def test_the_nightly_review_runs_on_the_company_clock() -> None:
    """The schedule carries its timezone, so the UI shows 02:00 as the company's 02:00."""
    [review] = [d for d in deployments(Settings(timezone="America/Bogota")) if d.name == "nightly-credit-review"]
    [schedule] = review.schedules or []
    assert plain(schedule.schedule) == {"cron": Settings().review_cron, "timezone": "America/Bogota"}


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
