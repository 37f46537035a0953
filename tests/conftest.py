"""Shared fixtures: a demo-company SQLite database made once per session and copied for each test, and the one
Prefect API of the session (Prefect's test harness) that the in-process lane and the integration lane share."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypedDict

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy.orm import Session

from kamflow import customers, migrate
from kamflow.db import dispose_engines, get_engine
from kamflow.demo_data import generate
from kamflow.models import Customer
from kamflow.settings import Settings, use_settings


class _Quiet(TypedDict):
    """The settings every hypothesis profile here shares, typed as `settings` takes them."""

    deadline: None
    derandomize: bool
    suppress_health_check: list[HealthCheck]


# Property-based tests (hypothesis): CI (CI set) runs the `ci` profile's many generated cases, the fast lane the
# `dev` profile's few; KAMFLOW_HYPOTHESIS names a profile. The tests share a function's database across examples.
_QUIET: _Quiet = {
    "deadline": None,
    "derandomize": False,
    "suppress_health_check": [
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
}
hypothesis_settings.register_profile("ci", max_examples=450, print_blob=True, **_QUIET)
hypothesis_settings.register_profile("dev", max_examples=20, **_QUIET)
hypothesis_settings.load_profile(os.environ.get("KAMFLOW_HYPOTHESIS") or ("ci" if os.environ.get("CI") else "dev"))

IN_TURN = ("integration", "production")
"""The lanes whose tests start real services and wait on them: under pytest-xdist's `--dist loadgroup` (`./dev
test` with no arguments) they run in turn, in their order, on one worker, while the other takes the rest. Their
tests that need PostgreSQL alone (no Prefect API) go to the other worker too."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    lanes = {Path(__file__).parent / lane for lane in IN_TURN}
    for item in items:
        database_only = item.get_closest_marker("postgres") and "prefect_api" not in item.fixturenames  # type: ignore[attr-defined]
        if any(item.path.is_relative_to(lane) for lane in lanes) and not database_only:
            item.add_marker(pytest.mark.xdist_group("in-turn"))


TODAY = dt.date(2026, 3, 16)
NOW = dt.datetime(2026, 3, 16, 9, 30, tzinfo=dt.UTC)


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Prefect's test harness, started once per session (~10 s) when a test first needs a Prefect API. Flow runs
    in this process send no heartbeat (each would cost ~1 s) and persist their results in the session's temporary
    folder; the server sends no telemetry."""
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        PREFECT_LOCAL_STORAGE_PATH,
        PREFECT_SERVER_ANALYTICS_ENABLED,
        temporary_settings,
    )
    from prefect.testing.utilities import prefect_test_harness

    quiet = {
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None,
        PREFECT_LOCAL_STORAGE_PATH: tmp_path_factory.mktemp("prefect-results"),
        PREFECT_SERVER_ANALYTICS_ENABLED: False,
    }
    database = os.environ.get("KAMFLOW_TEST_PREFECT_DATABASE_URL")
    server = prefect_test_harness(server_startup_timeout=120) if database is None else prefect_server_on(database)
    with temporary_settings(quiet), server:
        yield str(PREFECT_API_URL.value())


@contextmanager
def prefect_server_on(database_url: str) -> Iterator[None]:
    """Prefect's server on the database production gives it (PostgreSQL: `KAMFLOW_TEST_PREFECT_DATABASE_URL`, an
    empty database of its own, which CI creates for the long fault-injection run, whose kill -9s of serve under
    load the test harness's SQLite can answer with over a minute of "database is locked"), started as the harness
    starts its own: a subprocess on a free port, whose API is the setting of this context and of the threads it
    starts."""
    from prefect.context import _temporary_global_settings_context, get_settings_context
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_DATABASE_CONNECTION_URL, temporary_settings

    with temporary_settings({PREFECT_SERVER_DATABASE_CONNECTION_URL: database_url}):
        server = SubprocessASGIServer()
        server.start(timeout=120)
    try:
        with (
            temporary_settings({PREFECT_API_URL: server.api_url}),
            _temporary_global_settings_context(get_settings_context()),
        ):
            yield
    finally:
        server.stop()


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("template")
    settings = Settings(data_dir=folder)
    migrate.upgrade(settings)
    generate(get_engine(settings), customers=40, seed=7, today=TODAY)
    dispose_engines()
    return folder / "kamflow.db"


@pytest.fixture
def settings(tmp_path: Path, template_db: Path) -> Iterator[Settings]:
    """Settings on a private copy of the demo company's database."""
    shutil.copy(template_db, tmp_path / "kamflow.db")
    settings = Settings(data_dir=tmp_path)
    use_settings(settings)
    yield settings
    dispose_engines()


@pytest.fixture
def session(settings: Settings) -> Iterator[Session]:
    """A session on the test's database; what a test leaves in it is rolled back."""
    with Session(get_engine(settings)) as session:
        yield session
        session.rollback()


def customer(session: Session, code: str) -> Customer:
    return customers.by_code(session, code)
