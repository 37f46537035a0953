"""The embedded Prefect side: environment, the local server, and the deployments `kamflow serve` runs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import httpx

from kamflow.settings import Settings


def prefect_environment(settings: Settings) -> dict[str, str]:
    """Prefect settings for kamflow's processes; anything already in the environment wins."""
    wanted = {
        "PREFECT_HOME": str(settings.prefect_home_dir),
        "PREFECT_API_URL": settings.api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
        "PREFECT_UI_SHOW_PROMOTIONAL_CONTENT": "false",
    }
    return {name: os.environ.get(name, value) for name, value in wanted.items()}


def configure(settings: Settings) -> None:
    """Call before Prefect is imported: Prefect reads its settings from the environment."""
    settings.prefect_home_dir.mkdir(parents=True, exist_ok=True)
    os.environ.update(prefect_environment(settings))


def api_ready(api_url: str) -> bool:
    try:
        return httpx.get(f"{api_url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def start_local_server(settings: Settings, *, timeout: float = 90) -> subprocess.Popen[bytes]:
    """Start `prefect server start` on loopback with kamflow's Prefect home; wait until it answers."""
    env = {**os.environ, **prefect_environment(settings)}
    log = (settings.prefect_home_dir / "server.log").open("ab")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(settings.prefect_port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while not api_ready(settings.api_url):
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise RuntimeError(f"the Prefect server did not start; see {settings.prefect_home_dir / 'server.log'}")
        time.sleep(0.5)
    return server


def stop(process: subprocess.Popen[Any], *, timeout: float = 20) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def serve(settings: Settings) -> None:
    """Serve every kamflow deployment from this process until interrupted."""
    from prefect import serve as prefect_serve

    from flows.processes import deployments

    prefect_serve(*deployments(settings), print_starting_message=False)
