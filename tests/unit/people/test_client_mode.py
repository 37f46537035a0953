"""A client machine (KAMFLOW_SERVER_URL, no database URL, KAMFLOW_AUTH=required) against a real `kamflow server`
process on the demo company: people sign in and work through the HTTP API; the server's refusals come back with
their exit codes and messages; commands that need the database say they run on a server machine; nothing of the
database or the secret key is made on the client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session

from kamflow.db import dispose_engines
from kamflow.settings import Settings, use_settings
from tests.integration.conftest import wait_until
from tests.support import approval_code, free_port
from tests.unit.people.conftest import PASSWORD, kamflow
from tests.unit.people.test_api import with_password
from tests.unit.test_processes import waiting_discount


@pytest.fixture
def server(settings: Settings, tmp_path: Path) -> Iterator[str]:
    """`kamflow server` on the test's copy of the demo company, KAMFLOW_AUTH=required; its URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAMFLOW_", "PREFECT_"))}
    env |= {"KAMFLOW_DATA_DIR": str(settings.data_dir), "KAMFLOW_AUTH": "required", "KAMFLOW_WEB_PORT": str(port)}
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "kamflow.app.cli", "server"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool | None:
        assert process.poll() is None, (tmp_path / "server.log").read_text()
        try:
            return httpx.get(f"{url}/api/health").status_code == 200 or None
        except httpx.HTTPError:
            return None

    try:
        wait_until("kamflow's server", answers, timeout=60)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def client(server: str, tmp_path: Path) -> Settings:
    chosen = Settings(
        data_dir=tmp_path / "client", server_url=server, auth="required", token_file=tmp_path / "config" / "token"
    )
    use_settings(chosen)
    return chosen


def run(*args: str, stdin: str | None = None) -> tuple[int, Any, str]:
    done = kamflow(*args, "--json", stdin=stdin)
    return done.exit_code, json.loads(done.stdout) if done.stdout.strip() else None, done.stderr


def test_people_work_through_the_server_and_its_refusals_keep_their_exit_codes(
    settings: Settings, session: Session, client: Settings, tmp_path: Path
) -> None:
    use_settings(settings)  # the server's side: its database, its secret key
    row, task = waiting_discount(session, settings)
    session.commit()
    head, kam = task.owner.login, row.requester.login
    with_password(head, kam, "kam.south1")
    code = approval_code(task.id, head)
    dispose_engines()
    use_settings(client)

    assert run("tasks")[:2] == (
        3,
        {"error": "not_permitted", "field": "token", "message": "not signed in: sign in with kamflow login"},
    )
    assert run("login", head, "--password-stdin", stdin="not the password\n")[0] == 3
    status, signed, _ = run("login", head, "--password-stdin", stdin=PASSWORD + "\n")
    assert status == 0 and signed["login"] == head
    assert client.token_path.stat().st_mode & 0o777 == 0o600

    status, tasks, _ = run("tasks")
    assert status == 0 and [t["approval_code"] for t in tasks if t["task_id"] == task.id] == [code]
    shown = kamflow("discount", "show", str(row.id))
    assert shown.exit_code == 0 and shown.stdout.startswith(f"request {row.id} for C0001: PENDING"), shown.output
    shown = kamflow("--lang", "es", "discount", "show", str(row.id))  # the server writes in the language asked
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.startswith(f"solicitud {row.id} de C0001: PENDIENTE"), shown.output
    assert run("discount", "show", "999999")[0] == 4
    assert run("credit", "exposure", "C0001", "--as-of", "2026-02-30")[0] == 2

    assert run("login", kam, "--password-stdin", stdin=PASSWORD + "\n")[0] == 0
    status, refused, _ = run("decide", str(task.id), "approve")
    assert (status, refused["field"]) == (3, "approver")
    status, mine, _ = run("requests")
    assert status == 0 and [(r["subject_id"], r["task_id"]) for r in mine] == [(row.id, task.id)]
    status, steps, _ = run("history", "discount-authorization", str(row.id))
    assert status == 0 and steps and all(step["at"] for step in steps)
    assert run("login", "kam.south1", "--password-stdin", stdin=PASSWORD + "\n")[0] == 0
    status, refused, _ = run("credit", "exposure", "C0001")
    assert (status, refused["field"]) == (3, "customer") and "may not see customer C0001" in refused["message"]

    csv = tmp_path / "customers.csv"
    csv.write_text("code\n")
    status, server_only, _ = run("import", "customers", str(csv))
    assert status == 2 and "runs on a server machine" in server_only["message"]
    assert kamflow("serve").exit_code == 2

    assert run("logout")[:2] == (0, {"signed_out": "kam.south1"})
    assert not client.token_path.exists()
    assert not client.data_dir.exists(), "a client made a data folder (a database, a secret key)"
