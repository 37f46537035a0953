"""Shared fixtures: a demo-company SQLite database made once per session and copied for each test."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from kamflow import customers, migrate
from kamflow.db import dispose_engines, get_engine
from kamflow.demo_data import generate
from kamflow.models import Customer
from kamflow.settings import Settings, use_settings

TODAY = dt.date(2026, 3, 16)
NOW = dt.datetime(2026, 3, 16, 9, 30, tzinfo=dt.UTC)


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
