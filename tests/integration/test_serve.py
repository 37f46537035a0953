"""`kamflow serve` owns its local Prefect server: it stops on SIGINT or SIGTERM within 10 s, in the foreground or
as a background job of a script (which starts with SIGINT ignored), and its server never outlives it — not even a
kill -9 of serve. Real processes, a real Prefect server on loopback; nothing mocked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.integration


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


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


def test_serve_stops_within_ten_seconds_and_its_server_never_outlives_it(tmp_path: Path) -> None:
    port = 4300 + os.getpid() % 600
    serving, server = _serve(tmp_path, port)
    assert httpx.get(f"http://127.0.0.1:{port + 1000}/api/health", timeout=5).json() == {"ok": True}
    made = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "prefect").glob("*.[dl][bo]*")}
    assert {"prefect.db", "server.log"} <= set(made) and set(made.values()) == {0o600}, made  # their owner's alone
    asked = time.monotonic()
    serving.send_signal(signal.SIGINT)  # ignored by a background job unless serve takes it back
    serving.wait(15)
    assert time.monotonic() - asked <= 10
    assert not _alive(server)
    assert not (tmp_path / "prefect" / "server.pid").exists()

    serving, server = _serve(tmp_path, port)
    serving.kill()  # kill -9: no cleanup runs in serve, the kernel ends its server
    serving.wait(5)
    deadline = time.monotonic() + 5
    while _alive(server):
        assert time.monotonic() < deadline, "the Prefect server outlived a killed serve"
        time.sleep(0.1)
