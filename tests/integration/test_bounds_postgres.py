"""Bounded input on PostgreSQL, where column lengths are enforced: the schema has the lengths the input types are
built from, a value at the bound is stored, and one past it is refused naming the field before anything is
written (tests/unit/test_bounds.py checks the same models everywhere else)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import func, inspect, select
from typer.testing import CliRunner

from flows.documents import DocumentAnswer
from kamflow import audit, migrate
from kamflow.app.cli import app
from kamflow.db import get_engine, unit_of_work
from kamflow.demo_data import generate
from kamflow.documents.submission import DEMO_JOB_DESCRIPTION, DocumentIn, submit
from kamflow.documents.tables import Document
from kamflow.errors import ServiceUnavailable
from kamflow.models import ApprovalTask, AuditEvent, Base, Customer, Delegation, Order
from kamflow.settings import Settings
from tests.conftest import NOW, TODAY
from tests.integration.test_postgres import URL, pg_settings  # noqa: F401 - the fixture

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(URL is None, reason="set KAMFLOW_TEST_POSTGRES_URL to a PostgreSQL server"),
]
runner = CliRunner()


@pytest.fixture
def company(pg_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:  # noqa: F811
    migrate.upgrade(pg_settings)
    generate(get_engine(pg_settings), customers=20, seed=7, today=TODAY)

    def no_service(*args: Any, **kwargs: Any) -> Any:
        raise ServiceUnavailable("no Prefect in this test")

    monkeypatch.setattr("kamflow.app.runs.start_run", no_service)
    monkeypatch.setattr("kamflow.app.serve.configure", lambda settings: None)
    return pg_settings


def kamflow(*args: str) -> tuple[int, Any]:
    done = runner.invoke(app, [*args, "--json"])
    assert done.exception is None or isinstance(done.exception, SystemExit), done.exception
    return done.exit_code, json.loads(done.stdout) if done.stdout.strip() else None


def count(model: Any) -> int:
    with unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_the_schema_has_the_lengths_the_input_types_are_built_from(company: Settings) -> None:
    found = inspect(get_engine(company))
    for table in Base.metadata.sorted_tables:
        lengths = {
            column["name"]: getattr(column["type"], "length", None) for column in found.get_columns(table.name)
        }
        for column in table.columns:
            assert lengths[column.name] == getattr(column.type, "length", None), f"{table.name}.{column.name}"


def test_an_order_ref_at_the_bound_is_stored_and_one_past_it_refused(company: Settings) -> None:
    dates = ["--from-date", "2026-04-01", "--to-date", "2026-04-10", "--as", "director"]
    code, answer = kamflow("delegate", "--from", "legal", "--to", "hr", "--order-ref", "R" * 101, *dates)
    assert code == 2 and answer["field"] == "order_ref" and count(Delegation) == 0
    code, answer = kamflow("delegate", "--from", "legal", "--to", "hr", "--order-ref", "R" * 100, *dates)
    assert code == 0, answer
    with unit_of_work() as session:
        assert session.scalars(select(Delegation.order_ref)).one() == "R" * 100


@pytest.mark.parametrize(
    ("kind", "header", "row", "field", "model"),
    [
        (
            "customers",
            "code,name,customer_class,company_type,kam,credit_limit,currency,payment_terms_days",
            "C{code},{text},B,private,kam.north1,5000.00,EUR,30",
            "name",
            Customer,
        ),
        ("orders", "number,customer,order_date,amount", "{text},C0001,2026-01-10,12.00", "number", Order),
    ],
)
def test_a_csv_cell_at_the_bound_is_stored_and_one_past_it_refused(
    company: Settings, tmp_path: Path, kind: str, header: str, row: str, field: str, model: Any
) -> None:
    length = model.__table__.c[field].type.length
    path = tmp_path / f"{kind}.csv"
    before = count(model)
    path.write_text(f"{header}\n{row.format(code='9' * 19, text='N' * (length + 1))}\n")
    code, answer = kamflow("import", kind, str(path))
    assert code == 2 and answer["field"] == field and count(model) == before
    path.write_text(f"{header}\n{row.format(code='9' * 19, text='N' * length)}\n")
    code, answer = kamflow("import", kind, str(path))
    assert code == 0, answer
    with unit_of_work() as session:
        assert session.scalar(select(func.max(func.length(model.__table__.c[field])))) == length


def test_a_document_title_at_the_bound_is_stored_with_its_tasks_and_one_past_it_refused(company: Settings) -> None:
    given = {
        "doc_type": "job_description",
        "content": DEMO_JOB_DESCRIPTION.read_text(),
        "author": "head.north",
        "fields": {"department": "Sales North", "position": "Key Account Manager"},
    }
    with pytest.raises(ValidationError) as refused:
        DocumentIn.model_validate({**given, "title": "T" * 301})
    assert refused.value.errors()[0]["loc"] == ("title",)
    with unit_of_work() as session:
        document = submit(
            session, document=DocumentIn.model_validate({**given, "title": "T" * 300}), flow_run_id=None, now=NOW
        )
        assert len(document.title) == 300
        titles = session.scalars(select(ApprovalTask.title).where(ApprovalTask.subject_id == document.id)).all()
        assert titles and all(len(title) <= 300 for title in titles)
    assert count(Document) == 1


def test_an_approver_at_the_bound_is_an_audit_actor_and_one_past_it_refused_by_the_form(company: Settings) -> None:
    with pytest.raises(ValidationError) as refused:
        DocumentAnswer.model_validate({"approver": "a" * 65, "approval_code": "ABCD-EFGH", "action": "approve"})
    assert refused.value.errors()[0]["loc"] == ("approver",)
    answer = DocumentAnswer.model_validate(
        {"approver": "a" * 64, "approval_code": "ABCD-EFGH", "action": "approve"}
    )
    with unit_of_work() as session:
        audit.record(
            session, at=NOW, actor=answer.approver, action="answer_refused", subject_type="x", subject_id=1
        )
    with unit_of_work() as session:
        assert session.scalar(select(func.max(func.length(AuditEvent.actor)))) == 64
