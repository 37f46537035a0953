"""What the sign-in check adds to a command, measured in one run on the demo company (SQLite, a temporary folder).

    .venv/bin/python bench/bench_signin.py [--runs 300]

Runs `kamflow tasks` in-process (the real CLI, typer's runner) with KAMFLOW_AUTH=required (a token from the token
file: its hash looked up with its person, by a unique index) and, interleaved, with KAMFLOW_AUTH=demo (the
person looked up by login, unproven) and with the identity check left out altogether (the login given to the
command's body unchecked, as before sign-in), and prints the median of each and the differences. It also times the
check alone, and the check on the minute it writes the token's last_used_at.

Then the same `tasks` through kamflow's HTTP API on loopback (the real server, uvicorn in a thread): the client
mode's round trip (`POST /api/ops/tasks` with the bearer token, JSON back) against the command in process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import socket
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import httpx
from typer.testing import CliRunner

from kamflow import clock, migrate, org
from kamflow.app import identity, server
from kamflow.app.cli import app
from kamflow.db import get_engine, unit_of_work
from kamflow.demo_data import generate
from kamflow.people import tokens
from kamflow.people.signin import Acting
from kamflow.settings import Settings, use_settings

LOGIN = "head.north"


def median_ms(runs: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=300)
    runs = parser.parse_args().runs
    folder = Path(tempfile.mkdtemp(prefix="bench-signin-"))
    required = Settings(data_dir=folder, token_file=folder / "config" / "token", auth="required")
    demo = required.model_copy(update={"auth": "demo", "user": LOGIN})
    migrate.upgrade(required)
    generate(get_engine(required), customers=200, seed=7, today=clock.today())
    with unit_of_work(required) as session:
        token, _row = tokens.issue(
            session, org.employee(session, LOGIN), now=clock.now(), lifetime=dt.timedelta(hours=1)
        )
    required.token_path.parent.mkdir(parents=True)
    required.token_path.write_text(token)

    runner = CliRunner()

    def command(settings: Settings) -> Callable[[], object]:
        def run() -> None:
            use_settings(settings)
            done = runner.invoke(app, ["tasks", "--json"])
            assert done.exit_code == 0, done.output

        return run

    with unit_of_work(required) as session:
        person = org.employee(session, LOGIN)

    def unchecked(as_login: str | None, *, settings: Settings | None = None) -> Acting:
        """The command's person without any check: as given."""
        return Acting(person)

    def without_check() -> None:
        with mock.patch.object(identity, "acting", unchecked):
            command(demo)()

    for work in (command(required), command(demo), without_check):  # warm up: imports, connections, caches
        for _ in range(20):
            work()
    timed: dict[str, list[float]] = {"required": [], "demo": [], "none": []}
    for _ in range(5):  # interleaved rounds, so drift in the machine touches all three alike
        timed["required"].append(median_ms(runs // 5, command(required)))
        timed["demo"].append(median_ms(runs // 5, command(demo)))
        timed["none"].append(median_ms(runs // 5, without_check))
    command_ms = {name: statistics.median(values) for name, values in timed.items()}

    use_settings(required)
    check_ms = median_ms(runs, lambda: identity.acting(None, settings=required))
    with mock.patch.object(tokens, "TOUCH_EVERY", dt.timedelta(0)):
        touch_ms = median_ms(runs, lambda: identity.acting(None, settings=required))

    print(f"kamflow tasks, median of {runs} runs each, in-process (SQLite, {folder})")
    print(f"  without an identity check              {command_ms['none']:7.2f} ms")
    print(f"  KAMFLOW_AUTH=demo (login looked up)    {command_ms['demo']:7.2f} ms")
    print(f"  KAMFLOW_AUTH=required (token checked)  {command_ms['required']:7.2f} ms")
    overhead = command_ms["required"] - command_ms["none"]
    print(f"  overhead of the token check            {overhead:+7.2f} ms per command")
    print(f"  ... against the demo mode              {command_ms['required'] - command_ms['demo']:+7.2f} ms")
    print(f"the check alone: {check_ms:.2f} ms; on the minute it writes last_used_at: {touch_ms:.2f} ms")

    with socket.socket() as probe:  # a free loopback port
        probe.bind(("127.0.0.1", 0))
        served = required.model_copy(update={"web_port": probe.getsockname()[1]})
    use_settings(served)
    with server.running(served), httpx.Client(base_url=served.web_url) as client:
        headers = {"Authorization": f"Bearer {token}"}

        def over_http() -> None:
            answer = client.post("/api/ops/tasks", json={"params": {}}, headers=headers)
            assert answer.status_code == 200, answer.text

        for _ in range(20):
            over_http()
        api_ms = median_ms(runs, over_http)
    print(f"tasks through the HTTP API (loopback round trip, token checked on the server): {api_ms:.2f} ms")
    print(f"  ... against the command in process: {api_ms - command_ms['required']:+.2f} ms")


if __name__ == "__main__":
    main()
