"""`kamflow import`: the sample files import; a bad file names every bad line and field and writes nothing."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

import kamflow
from kamflow import imports
from kamflow.app import progress
from kamflow.app.cli import app
from kamflow.app.cli.credit import IMPORT_COLUMNS
from kamflow.credit import standing
from kamflow.credit.tables import CreditTerms, FinancialStatement
from kamflow.models import AuditEvent, Customer, Invoice, Order, Payment
from kamflow.settings import Settings
from tests.conftest import TODAY, customer

SAMPLES = Path(kamflow.__file__).parent / "demo_csv"
ORDER = ("customers", "orders", "invoices", "payments", "statements")
TABLES = (Customer, Order, Invoice, Payment, FinancialStatement, CreditTerms)


def counts(session: Session) -> tuple[int, ...]:
    return tuple(session.scalar(select(func.count()).select_from(table)) or 0 for table in TABLES)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "file.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_sample_files_import_in_order(session: Session) -> None:
    before = counts(session)
    for kind in ORDER:
        assert imports.import_file(session, kind, SAMPLES / f"{kind}.csv", actor="credit")["imported"] >= 2
    assert [after - was for after, was in zip(counts(session), before, strict=True)] == [2, 3, 2, 2, 2, 1]
    alfa = customer(session, "C9001")
    assert session.get(CreditTerms, alfa.id).open_orders_limit == Decimal("20000.00")  # type: ignore[union-attr]
    exposure = standing.standing(session, alfa, on=TODAY).exposure
    # 12000 invoiced (IMP-ORD-1, counted once) less 7000 paid; IMP-ORD-2 open
    assert (exposure.open_invoices, exposure.open_orders) == (Decimal("5000.00"), Decimal("8000.00"))
    assert customer(session, "C9002").name == "Industrias Beta, S.A."


BAD_INVOICES = """number,customer,issue_date,due_date,amount,currency
X-1,C0001,2026-01-10,2026-02-09,100.00,EUR
X-2,C0001,2026-01-10,2026-02-09,-5.00,EUR
X-3,C9999,2026-01-10,2026-02-09,10.00,
X-4,C0001,10/01/2026,2026-02-09,10.00,EUR
X-5,C0001,2026-01-10,2026-01-09,10.00,EUR
X-6,C0001,2026-01-10,2026-02-09,10.00,USD
X-1,C0001,2026-01-10,2026-02-09,10.00,EUR
INV-00000001,C0001,2026-01-10,2026-02-09,10.00,EUR
X-9,C0001,2026-01-10,2026-02-09,"1,000.00",EUR
"""


def test_a_bad_file_names_every_bad_line_and_field_and_imports_nothing(session: Session, tmp_path: Path) -> None:
    before = counts(session)
    with pytest.raises(imports.ImportRejected) as rejected:
        imports.import_file(session, "invoices", write(tmp_path, BAD_INVOICES), actor="credit")
    assert [(p.line, p.field) for p in rejected.value.problems] == [
        (3, "amount"),
        (4, "customer"),
        (5, "issue_date"),
        (6, "due_date"),
        (7, "currency"),
        (8, "number"),
        (9, "number"),
        (10, "amount"),
    ]
    problems = {p.line: p.message for p in rejected.value.problems}
    assert "greater than 0" in problems[3] and problems[4] == "no customer C9999"
    assert problems[8] == "X-1 repeats line 2" and problems[9] == "INV-00000001 already exists"
    assert rejected.value.exit_code == 2 and "8 bad line(s), nothing imported" in rejected.value.message
    assert counts(session) == before


@pytest.mark.parametrize(
    ("kind", "text", "problem"),
    [
        ("orders", "number,customer,order_date\nA,C0001,2026-01-01\n", (1, "amount", "required column missing")),
        ("payments", "invoice,paid_on,amount,note\n", (1, "note", "unknown column")),
        ("payments", "", (1, "paid_on", "required column missing")),  # invoice or customer: either may go
        ("payments", "invoice,paid_on,amount\n", (1, "file", "no rows to import")),
        ("payments", "invoice,paid_on,amount\nINV-00000001,2026-01-01,1,extra\n", (2, "row", "more cells")),
        (
            "customers",
            "code,name,customer_class,company_type,kam,credit_limit,currency,payment_terms_days\n"
            "C9100,X,A,private,nobody,0,EUR,30\n",
            (2, "kam", "no active employee"),
        ),
        (
            "statements",
            "customer,period_end,current_assets,current_liabilities,inventory,total_assets,"
            "total_liabilities,equity,retained_earnings,ebit,sales\nC0001,2025-12-31,10,0,5,100,50,50,1,1,1\n",
            (2, "current_liabilities", "greater than 0"),
        ),
        (
            "statements",
            "customer,period_end,current_assets,current_liabilities,inventory,total_assets,"
            "total_liabilities,equity,retained_earnings,ebit,sales\nC0001,2025-12-31,10,5,50,100,50,50,1,1,1\n",
            (2, "inventory", "above the current assets"),
        ),
    ],
)
def test_each_kind_of_bad_file(
    session: Session, tmp_path: Path, kind: str, text: str, problem: tuple[int, str, str]
) -> None:
    before = counts(session)
    with pytest.raises(imports.ImportRejected) as rejected:
        imports.import_file(session, kind, write(tmp_path, text), actor="credit")
    first = rejected.value.problems[0]
    assert (first.line, first.field) == problem[:2] and problem[2] in first.message
    assert counts(session) == before


def test_payments_beyond_the_open_amount_are_refused(session: Session, tmp_path: Path) -> None:
    latest = session.execute(select(Invoice.number, Invoice.amount).order_by(Invoice.id.desc())).first()
    assert latest is not None, "the demo company has invoices"
    number, amount = latest
    paid = session.scalar(
        select(func.coalesce(func.sum(Payment.amount), 0)).join(Invoice).where(Invoice.number == number)
    )
    assert paid is not None  # coalesce: 0 when nothing is paid
    rest = amount - Decimal(paid).quantize(Decimal("0.01"))
    text = f"invoice,paid_on,amount\n{number},2026-03-16,{rest}\n{number},2026-03-16,0.01\n"
    with pytest.raises(imports.ImportRejected) as rejected:
        imports.import_file(session, "payments", write(tmp_path, text), actor="credit")
    assert [(p.line, p.field) for p in rejected.value.problems] == [(3, "amount")]


def test_an_existing_statement_period_is_refused(session: Session, tmp_path: Path) -> None:
    header = (SAMPLES / "statements.csv").read_text().splitlines()[0]
    row = "C0001,2025-12-31,10,5,1,100,50,50,1,1,1,"
    with pytest.raises(imports.ImportRejected) as rejected:
        imports.import_file(session, "statements", write(tmp_path, f"{header}\n{row}\n"), actor="credit")
    assert [(p.line, p.field) for p in rejected.value.problems] == [(2, "period_end")]


def test_the_help_of_each_import_command_lists_every_column() -> None:
    for kind, model in imports.ROWS.items():
        assert all(name in IMPORT_COLUMNS[kind] for name in model.model_fields)
    assert set(IMPORT_COLUMNS) == set(imports.KINDS)


@pytest.fixture
def cli_env(settings: Settings) -> Iterator[None]:
    """The CLI configures Prefect through the environment: give it back afterwards."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_the_cli_reports_problems_as_json_with_exit_code_2(
    cli_env: None, session: Session, tmp_path: Path
) -> None:
    runner = CliRunner()
    bad = runner.invoke(app, ["import", "invoices", str(write(tmp_path, BAD_INVOICES)), "--json"])
    assert bad.exit_code == 2
    answer = json.loads(bad.stdout)
    assert answer["error"] == "invalid_input" and answer["field"] == "amount" and len(answer["problems"]) == 8
    good = runner.invoke(app, ["import", "customers", str(SAMPLES / "customers.csv")])
    assert good.exit_code == 0 and "imported 2 customers" in good.stdout
    missing = runner.invoke(app, ["import", "orders", str(tmp_path / "nope.csv"), "--json"])
    assert missing.exit_code == 2 and json.loads(missing.stdout)["field"] == "file"


def test_the_cli_shows_rows_read_on_stderr_and_keeps_json_stdout_pure(
    cli_env: None, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not on a terminal, the import's progress is plain lines on stderr (rows read, time elapsed)."""
    monkeypatch.setattr(imports, "READ_EVERY", 2)
    monkeypatch.setattr(progress, "PLAIN_EVERY", 0)  # a line at every batch of rows read
    rows = "".join(f"C{9100 + i},Firma {i},B,private,kam.north1,1000.00,EUR,30\n" for i in range(5))
    path = write(
        tmp_path, f"code,name,customer_class,company_type,kam,credit_limit,currency,payment_terms_days\n{rows}"
    )
    done = CliRunner().invoke(app, ["import", "customers", str(path), "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["imported"] == 5
    lines = done.stderr.splitlines()
    assert lines[0] == "importing customers from file.csv …"
    assert "importing customers from file.csv: 2 of 5 rows read, 0 s" in lines
    assert lines[-1].startswith("importing customers from file.csv: 5 of 5 rows read, done in ")


def test_an_empty_limit_cell_is_no_limit_and_zero_is_no_credit(session: Session, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "code,name,customer_class,company_type,kam,credit_limit,currency,payment_terms_days,overdue_limit\n"
        "C9101,Sin Limite S.L.,C,private,kam.north1,,EUR,30,\n"
        "C9102,Cero S.L.,C,private,kam.north1,0,EUR,30,0\n",
    )
    assert imports.import_file(session, "customers", path, actor="credit")["imported"] == 2
    unlimited, nothing = customer(session, "C9101"), customer(session, "C9102")
    assert unlimited.credit_limit is None and session.get(CreditTerms, unlimited.id) is None
    assert nothing.credit_limit == Decimal("0.00")
    terms = session.get(CreditTerms, nothing.id)
    assert terms is not None and terms.overdue_limit == Decimal("0.00") and terms.open_orders_limit is None
    missing = write(tmp_path, "code,name,customer_class,company_type,kam,currency,payment_terms_days\n")
    with pytest.raises(imports.ImportRejected, match="credit_limit: required column missing"):
        imports.import_file(session, "customers", missing, actor="credit")


def test_a_file_read_in_chunks_imports_nothing_when_any_row_of_any_chunk_is_bad(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows are checked and written a chunk at a time in one transaction: a bad row in the last chunk, or a number
    repeated from an earlier chunk (already written), rolls back every chunk."""
    monkeypatch.setattr(imports, "CHUNK", 2)
    head = "number,customer,issue_date,due_date,amount\n"
    good = "".join(f"S-{i},C0001,2026-01-10,2026-02-09,10.00\n" for i in range(1, 8))
    before = counts(session)
    for bad, problem in (
        ("S-8,C0001,2026-01-10,2026-02-09,-1\n", (9, "amount")),
        ("S-1,C0001,2026-01-10,2026-02-09,1.00\n", (9, "number")),
    ):
        with pytest.raises(imports.ImportRejected) as rejected:
            imports.import_file(session, "invoices", write(tmp_path, head + good + bad), actor="credit")
        assert [(p.line, p.field) for p in rejected.value.problems] == [problem]
        assert counts(session) == before
    assert imports.import_file(session, "invoices", write(tmp_path, head + good), actor="credit")["imported"] == 7
    assert counts(session)[2] == before[2] + 7


def test_an_import_that_lands_is_audited_as_one_event_naming_the_file_and_one_refused_writes_none(
    session: Session, tmp_path: Path
) -> None:
    def imported() -> list[AuditEvent]:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == "file_imported")))

    head = "number,customer,issue_date,due_date,amount\n"
    with pytest.raises(imports.ImportRejected):
        imports.import_file(
            session, "invoices", write(tmp_path, head + "A-1,C0001,2026-01-10,2026-02-09,-1\n"), actor="credit"
        )
    assert imported() == []
    path = write(tmp_path, head + "A-1,C0001,2026-01-10,2026-02-09,10.00\nA-2,C0001,2026-01-10,2026-02-09,5.00\n")
    imports.import_file(session, "invoices", path, actor="credit")
    [event] = imported()
    assert (event.actor, event.subject_type) == ("credit", "invoices_import")
    assert event.detail == {
        "kind": "invoices",
        "file": path.name,
        "bytes": path.stat().st_size,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "rows": 2,
    }
