"""The production shape for real: `deploy/production.sh up` starts, in a private folder on loopback, PostgreSQL
(domain and Prefect databases), the Prefect server with API authentication and two supervised `kamflow
worker`s, once per session; the tests use it as users and operators would, then `down` stops it. Nothing is
mocked. Outside CI a machine without PostgreSQL's server (or Chromium, for the browser test) skips these
tests saying so; under CI=true a missing part fails them."""

from __future__ import annotations

import glob
import importlib.util
import json
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings
from sqlalchemy import select

from kamflow.app.serve import alive
from kamflow.db import dispose_engines, unit_of_work
from kamflow.demo_data import DEMO_PASSWORD
from kamflow.discounts.tables import DiscountRequest
from kamflow.models import AuditEvent
from kamflow.settings import PROJECT_ROOT, Settings, use_settings
from tests.support import descendants, free_port, kam_and_norm

SCRIPT = PROJECT_ROOT / "deploy" / "production.sh"
CHROMIUM = "/usr/bin/chromium"
WORKERS = ("worker-1", "worker-2")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(missing: str | None) -> None:
    """Skip, naming what is missing; under CI, fail instead: CI must have it."""
    if missing is None:
        return
    if IN_CI:
        pytest.fail(f"CI must provide {missing}: .ci/run installs it")
    pytest.skip(f"needs {missing}")


def postgres_missing() -> str | None:
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        return "PostgreSQL's server (Debian: apt-get install postgresql)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "the postgres user, to run PostgreSQL as root (Debian's postgresql package makes it)"
    return None


def chromium_missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"Debian's Chromium at {CHROMIUM} (apt-get install chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package (./dev setup installs the dev extra)"
    return None


@dataclass
class Production:
    """The running shape: the operator's environment, the client machines' settings (`env`: no database, no
    secret key), the server machine's (`server-env`), and settings for this process on the server's database."""

    state: Path
    env: dict[str, str]
    client: dict[str, str]
    server: dict[str, str]
    settings: Settings

    @property
    def ui_url(self) -> str:
        return self.client["PREFECT_API_URL"].removesuffix("/api")

    @property
    def auth_string(self) -> str:
        return self.client["PREFECT_API_AUTH_STRING"]

    def script(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SCRIPT), *args], env=self.env, capture_output=True, text=True, timeout=300, check=False
        )

    def kamflow_command(self, *args: str) -> list[str]:
        return [str(PROJECT_ROOT / ".venv" / "bin" / "kamflow"), *args]

    def signed_in(self, login: str, *, on_server: bool = False) -> dict[str, str]:
        """The environment of `login`'s commands on a client machine (or, `on_server`, an operator's beside the
        database), signed in with the demo password: their own token file."""
        place = self.server if on_server else self.client
        token = self.state / "tokens" / ("server" if on_server else "client") / login
        env = {**self.env, **place, "KAMFLOW_TOKEN_FILE": str(token)}
        if not token.exists():
            done = subprocess.run(
                self.kamflow_command("login", login, "--password-stdin"),
                env=env,
                input=DEMO_PASSWORD + "\n",
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert done.returncode == 0, done.stdout + done.stderr + self.logs()
        return env

    def kamflow(self, *args: str, login: str, on_server: bool = False) -> subprocess.CompletedProcess[str]:
        """A kamflow command as `login` runs it (signed in) on a client machine or, `on_server`, beside the
        database."""
        return subprocess.run(
            self.kamflow_command(*args),
            env=self.signed_in(login, on_server=on_server),
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    def pid(self, name: str) -> int | None:
        path = self.state / "run" / f"{name}.pid"
        return int(path.read_text()) if path.exists() else None

    def log(self, name: str) -> str:
        path = self.state / "logs" / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def logs(self) -> str:
        """The tail of every log, for a failing assertion's message."""
        return "\n".join(
            f"--- {name}\n{self.log(name)[-3000:]}" for name in ("server", "kamflow-server", *WORKERS)
        )

    def every_pid(self) -> list[int]:
        """Every process the shape runs: PostgreSQL's, the server's, the supervisors' and workers' and all
        they started."""
        roots = [int(p.read_text()) for p in (self.state / "run").glob("*.pid")]
        postmaster = self.state / "postgres" / "data" / "postmaster.pid"
        if postmaster.exists():
            roots.append(int(postmaster.read_text().split()[0]))
        return [pid for root in roots if alive(root) for pid in [root, *descendants(root)]]


@pytest.fixture(scope="session")
def production() -> Iterator[Production]:
    require(postgres_missing())
    state = Path(tempfile.mkdtemp(prefix="kamflow-production-"))
    state.chmod(0o755)  # the postgres user must reach its data folder inside
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "KAMFLOW_"))}
    env.update(
        KAMFLOW_PROD_DIR=str(state),
        KAMFLOW_DATA_DIR=str(state / "client"),
        KAMFLOW_PG_PORT=str(free_port()),
        KAMFLOW_PREFECT_PORT=str(free_port()),
        KAMFLOW_WEB_PORT=str(free_port()),
        KAMFLOW_WORKERS="2",
        # Long enough after a heartbeat (30 s) that a worker's restart (about 6 s) ends a run its death left first,
        # short enough that the tests that wait for the crash detection wait under a minute.
        KAMFLOW_CRASH_AFTER_SECONDS="60",
        KAMFLOW_DEMO_CUSTOMERS="40",
    )
    # Every part of the shape (workers, kamflow's server, operators' commands) runs with a credit policy that lets
    # a review be dated up to 31 days ahead (the shipped one: today at the latest), so that each test reviews a
    # night of its own.
    policy = state / "credit-policy.yaml"
    shipped = (PROJECT_ROOT / "kamflow" / "credit" / "policy.yaml").read_text()
    policy.write_text(shipped.replace("review_days_ahead: 0 ", "review_days_ahead: 31"))
    env["KAMFLOW_CREDIT_POLICY"] = str(policy)
    stack = Production(state=state, env=env, client={}, server={}, settings=Settings())
    try:
        up = stack.script("up", "--demo")
        assert up.returncode == 0, up.stdout + up.stderr + stack.logs()
        stack.client, stack.server = (
            dict(line.removeprefix("export ").split("=", 1) for line in stack.script(part).stdout.splitlines())
            for part in ("env", "server-env")
        )
        stack.settings = Settings(
            data_dir=Path(env["KAMFLOW_DATA_DIR"]),
            database_url=stack.server["KAMFLOW_DATABASE_URL"],
            prefect_api_url=stack.server["PREFECT_API_URL"],
            secret_key=stack.server["KAMFLOW_SECRET_KEY"],
        )
        yield stack
    finally:
        stack.script("down")
        dispose_engines()
        shutil.rmtree(state, ignore_errors=True)


@contextmanager
def acting_on(production: Production) -> Iterator[Production]:
    """This process's settings and Prefect client on the running shape, started again if a test stopped it."""
    use_settings(production.settings)
    if production.script("status").returncode != 0:
        up = production.script("up")
        assert up.returncode == 0, up.stdout + up.stderr + production.logs()
    with temporary_settings(
        {PREFECT_API_URL: production.client["PREFECT_API_URL"], PREFECT_API_AUTH_STRING: production.auth_string}
    ):
        yield production


@pytest.fixture
def prod(production: Production) -> Iterator[Production]:
    """The running shape, with this process's settings and Prefect client on it."""
    with acting_on(production):
        yield production


def escalate(prod: Production, above_norm: Decimal = Decimal(2)) -> dict[str, Any]:
    """A KAM, signed in on a client machine, asks C0001's discount above the norm through kamflow's server: the run
    waits for the department head."""
    kam, norm = kam_and_norm()
    done = prod.kamflow(
        "discount",
        "request",
        "--customer",
        "C0001",
        "--column",
        "3",
        "--discount-pct",
        str(norm + above_norm),
        "--order-total",
        "150000",
        "--json",
        login=kam,
    )
    assert done.returncode == 0, done.stdout + done.stderr + prod.logs()
    view: dict[str, Any] = json.loads(done.stdout)
    assert view["status"] == "pending" and view["assignee"] == "head.north", view
    return view


def settled(request_id: int) -> str | None:
    """The discount request's status once it is no longer pending."""
    with unit_of_work() as session:
        row = session.get(DiscountRequest, request_id)
        return None if row is None or row.status == "pending" else row.status


def decisions(task_id: int) -> list[AuditEvent]:
    """The audited decisions of an approval task: (actor, detail)."""
    with unit_of_work() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(
                    AuditEvent.subject_type == "approval_task",
                    AuditEvent.subject_id == task_id,
                    AuditEvent.action == "task_decided",
                )
            )
        )
