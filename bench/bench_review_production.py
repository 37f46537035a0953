"""The nightly credit review's shards on the production shape: 1 shard against 2, on the same 2 workers.

    PYTHONPATH=$PWD .venv/bin/python bench/bench_review_production.py [--customers 100000] [--seed 7]

`deploy/production.sh up` in a private folder on loopback (as tests/production/conftest.py does): PostgreSQL for
the domain and for Prefect's server, the Prefect server with API authentication, kamflow's server and 2 supervised
`kamflow worker`s (`--limit 2` each: the script's defaults). Then, as the database's owner, the demo company
(`kamflow.demo_data.generate`) goes into a database of its own, `kamflow_pristine`, migrated and granted as
`kamflow init --app-role --read-role` does; its running figures' windows are moved to the review's date
(`kamflow.figures.roll`: the first night's roll over every customer, timed here and outside the reviews, so the
review's own roll moves nothing, as on any later night) and it is analysed. Before each review the domain
database `kamflow` is dropped and made again from it (`CREATE DATABASE kamflow TEMPLATE kamflow_pristine`), so
both reviews start from the same rows.

Each review is a run of the deployment `nightly-credit-review` (run_deployment, as the schedule starts it), with
`shards: 1`, then `shards: 2`, timed from asking to completion; then the ratio (goal: 2 shards >= 1.2x faster),
each run's moments (taken by a worker, running, ended), the review's and its shards' own moments as the domain
database records them, the collection tasks of each (the same number) and the load average. `production.sh down`
stops everything at the end, whatever happens.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench_review import AS_OF, review_on_workers, show_runs
from bench_workspace import free_port
from prefect.client.schemas.objects import FlowRun
from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from kamflow import figures, migrate
from kamflow.db import dispose_engines, get_engine
from kamflow.demo_data import generate
from kamflow.review import read
from kamflow.review.dunning import load_policy
from kamflow.settings import PROJECT_ROOT, Settings

SCRIPT = PROJECT_ROOT / "deploy" / "production.sh"
PRISTINE = "kamflow_pristine"
APP_ROLE, READ_ROLE = "kamflow_app", "kamflow_read"  # deploy/production.sh's roles


def exports(path: Path) -> dict[str, str]:
    """The `NAME=value` lines (with or without `export `) of one of production.sh's settings files."""
    lines = path.read_text().splitlines()
    return dict(line.removeprefix("export ").split("=", 1) for line in lines if "=" in line)


def load() -> str:
    return "load average {:.2f}, {:.2f}, {:.2f}".format(*os.getloadavg())


def prepare(super_engine: Engine, owner_url: str, data_dir: Path, customers: int, seed: int) -> None:
    """The demo company in `PRISTINE`, migrated and granted as `kamflow init` does, its running figures rolled to
    AS_OF, analysed, then closed to connections so that it can serve as a template."""
    with super_engine.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {PRISTINE} OWNER kamflow"))
    settings = Settings(data_dir=data_dir, database_url=owner_url)
    migrate.upgrade(settings)
    migrate.grant_roles(settings, app=APP_ROLE, reader=READ_ROLE)
    engine = get_engine(settings)
    start = time.perf_counter()
    made = generate(engine, customers=customers, seed=seed, today=AS_OF)
    print(
        f"generated {made.customers:,} customers, {made.invoices:,} invoices, {made.payments:,} payments, "
        f"{made.orders:,} orders in {time.perf_counter() - start:.0f} s (PostgreSQL, as the owner)"
    )
    start = time.perf_counter()
    with Session(engine) as session, session.begin():
        moved = figures.roll(session, read.windows(AS_OF, load_policy()))
    print(
        f"the first night's roll of the running figures to {AS_OF}: {moved:,} customers in "
        f"{time.perf_counter() - start:.1f} s (outside the timed reviews)"
    )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    dispose_engines()
    with super_engine.connect() as connection:
        connection.execute(text(f"ALTER DATABASE {PRISTINE} WITH ALLOW_CONNECTIONS false"))


def fresh_domain(super_engine: Engine) -> None:
    """The domain database `kamflow` made again from `PRISTINE`, with production.sh's database grants."""
    dispose_engines()
    with super_engine.connect() as connection:
        for statement in (
            "DROP DATABASE IF EXISTS kamflow WITH (FORCE)",
            f"CREATE DATABASE kamflow OWNER kamflow TEMPLATE {PRISTINE}",
            "REVOKE ALL ON DATABASE kamflow FROM PUBLIC",
            f"GRANT CONNECT ON DATABASE kamflow TO {APP_ROLE}, {READ_ROLE}",
        ):
            connection.execute(text(statement))


def seconds(since: dt.datetime | None, until: dt.datetime | None) -> str:
    return f"{(until - since).total_seconds():.1f} s" if since and until else "?"


def serial_parts(runs: list[FlowRun]) -> str:
    """The review run's own parts, from the runs' moments (`runs` as `review_on_workers` sorts them: the review,
    then shard 0, 1, ...): before shard 0 starts (opening the review), after the last shard ends (closing it, its
    artifacts), and how long after shard 0 each other shard starts (a worker's poll, its run's process start)."""
    review, first, *others = runs
    last = max((run.end_time for run in [first, *others] if run.end_time), default=None)
    lags = "".join(
        f"; shard {run.name.rsplit('-shard-', 1)[1]}: {seconds(first.start_time, run.start_time)} after shard 0"
        for run in others
    )
    return (
        f"  before shard 0: {seconds(review.start_time, first.start_time)}; "
        f"after the last shard: {seconds(last, review.end_time)}{lags}"
    )


@dataclass(frozen=True)
class Shape:
    state: Path
    """production.sh's folder: PostgreSQL's data, logs, the settings files."""
    env: dict[str, str]
    """The environment production.sh runs with (its ports)."""

    def settings(self, name: str) -> dict[str, str]:
        """One of its settings files: "server" (the server machine's), "secrets"."""
        return exports(self.state / f"{name}.env")


@contextmanager
def production_shape(*up: str, **settings: str) -> Iterator[Shape]:
    """`deploy/production.sh up *up` in a private folder on loopback, with `settings` added to its environment;
    `down` at the end, whatever happens, and the folder removed."""
    state = Path(tempfile.mkdtemp(prefix="kamflow-bench-production-"))
    state.chmod(0o755)  # the postgres user must reach its data folder inside
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "KAMFLOW_"))}
    env.update(
        PYTHONPATH=str(PROJECT_ROOT),  # the workers' flow runs import this checkout
        KAMFLOW_PROD_DIR=str(state),
        KAMFLOW_PG_PORT=str(free_port()),
        KAMFLOW_PREFECT_PORT=str(free_port()),
        KAMFLOW_WEB_PORT=str(free_port()),
        **settings,
    )

    def script(*command: str) -> None:
        done = subprocess.run([str(SCRIPT), *command], env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"production.sh {' '.join(command)} failed:\n{done.stdout}{done.stderr}")

    try:
        start = time.perf_counter()
        script("up", *up)
        print(f"production shape up in {time.perf_counter() - start:.0f} s ({state}); {load()}", flush=True)
        yield Shape(state, env)
    finally:
        script("down")
        shutil.rmtree(state, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with production_shape(KAMFLOW_WORKERS="2") as shape:
        try:
            review_both_ways(shape, args.customers, args.seed)
        finally:
            dispose_engines()


def review_both_ways(shape: Shape, customers: int, seed: int) -> None:
    """The review with 1 shard, then with 2, each from the same copy of the company; their times and ratio."""
    server, secrets = shape.settings("server"), shape.settings("secrets")
    pg = f"127.0.0.1:{shape.env['KAMFLOW_PG_PORT']}"
    super_engine = create_engine(
        f"postgresql+psycopg://postgres:{secrets['PG_SUPER_PASSWORD']}@{pg}/postgres",
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
    )
    owner_url = f"postgresql+psycopg://kamflow:{secrets['PG_KAMFLOW_PASSWORD']}@{pg}/{PRISTINE}"
    prepare(super_engine, owner_url, shape.state / "bench", customers, seed)
    app = Settings(data_dir=shape.state / "bench", database_url=server["KAMFLOW_DATABASE_URL"])
    took: dict[int, float] = {}
    tasks: dict[int, int] = {}
    api = {
        PREFECT_API_URL: server["PREFECT_API_URL"],
        PREFECT_API_AUTH_STRING: server["PREFECT_API_AUTH_STRING"],
    }
    with temporary_settings(api):
        for shards in (1, 2):
            fresh_domain(super_engine)
            before = load()
            took[shards], tasks[shards], runs = review_on_workers(app, shards)
            print(
                f"review, {shards} shard{'s' if shards > 1 else ''} on 2 workers: {took[shards]:.1f} s, "
                f"{tasks[shards]:,} collection tasks; before: {before}, after: {load()}"
            )
            show_runs(runs)
            print(serial_parts(runs))
    print(f"1 shard / 2 shards: {took[1] / took[2]:.2f} (goal >= 1.2)")
    assert tasks[1] == tasks[2], f"1 shard made {tasks[1]:,} collection tasks, 2 shards {tasks[2]:,}"


if __name__ == "__main__":
    main()
