"""`kamflow statement` and `kamflow report ageing|decisions` through the real CLI on the demo company: the
statement closes on what `credit exposure` shows as open invoices, in the terminal and in the PDF and XLSX people
take away; the reports' JSON keys are pinned; text a spreadsheet would run is neutralised; bad input names the
field, exits with its code and writes no file."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from kamflow import clock, export, ledger
from kamflow.app.cli import app
from kamflow.credit import policy as credit_policy
from kamflow.credit.facts import money
from kamflow.models import Customer
from kamflow.review.tables import CustomerReview
from kamflow.statements import statement
from kamflow.tabular import Column, Row, Table
from tests.conftest import TODAY, customer
from tests.unit.review.conftest import review

Kamflow = Callable[..., tuple[int, Any]]


def open_invoices(kamflow: Kamflow, code: str) -> Decimal:
    code_, exposure = kamflow("credit", "exposure", code, "--as", "credit")
    assert code_ == 0
    return Decimal(next(line["amount"] for line in exposure["categories"] if line["category"] == "open invoices"))


@pytest.mark.parametrize("code", ["C0001", "C0002"])
def test_the_statement_closes_on_the_open_invoices_of_credit_exposure(kamflow: Kamflow, code: str) -> None:
    exit_code, view = kamflow("statement", code, "--as", "credit")
    assert exit_code == 0
    assert Decimal(view["closing_balance"]) == open_invoices(kamflow, code) > 0
    assert Decimal(view["opening_balance"]) == 0  # from the first invoice
    balance = Decimal(0)
    for entry in view["entries"]:
        balance += Decimal(entry["debit"] or 0) - Decimal(entry["credit"] or 0)
        assert Decimal(entry["balance"]) == balance
    assert [e["date"] for e in view["entries"]] == sorted(e["date"] for e in view["entries"])


def test_the_statement_json_keys(kamflow: Kamflow) -> None:
    _, view = kamflow("statement", "C0002", "--from", "2026-01-01", "--to", "2026-03-16", "--as", "kam.north2")
    assert list(view) == [
        "customer",
        "name",
        "currency",
        "kam",
        "period_from",
        "period_to",
        "opening_balance",
        "entries",
        "invoiced",
        "paid",
        "closing_balance",
        "interest",
        "fees",
        "closing_with_charges",
    ]
    assert list(view["entries"][0]) == [
        "date",
        "kind",
        "document",
        "description",
        "due_date",
        "debit",
        "credit",
        "charge",
        "balance",
    ]
    assert (view["period_from"], view["period_to"]) == ("2026-01-01", "2026-03-16")
    opening, closing = Decimal(view["opening_balance"]), Decimal(view["closing_balance"])
    assert opening + Decimal(view["invoiced"]) - Decimal(view["paid"]) == closing


def test_the_statement_as_pdf_and_xlsx_opens_and_closes_on_the_open_invoices(
    kamflow: Kamflow, tmp_path: Path
) -> None:
    owed = open_invoices(kamflow, "C0002")
    pdf, xlsx = tmp_path / "c0002.pdf", tmp_path / "c0002.xlsx"
    assert kamflow("statement", "C0002", "--format", "pdf", "--output", str(pdf), "--as", "credit")[0] == 0
    code, written = kamflow("statement", "C0002", "--output", str(xlsx), "--as", "credit")  # format from suffix
    assert code == 0 and written["format"] == "xlsx" and written["file"] == str(xlsx)

    text = "\n".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "Statement of account: C0002" in text and "amounts in EUR" in text
    assert "closing balance" in text and money(owed) in text

    sheet = load_workbook(xlsx).active
    assert sheet is not None
    header = [cell.value for cell in sheet[1]]
    assert header == ["date", "document", "description", "due", "debit", "credit", "balance", "interest and fees"]
    rows = list(sheet.iter_rows(min_row=2, max_row=written["rows"] + 1))
    closing = rows[-1]
    assert closing[2].value == "closing balance"
    assert Decimal(str(closing[6].value)) == owed and closing[6].number_format == export.MONEY_FORMAT
    assert closing[0].is_date and closing[0].value.date() == clock.today()  # the company's today
    invoice = next(row for row in rows if row[2].value == "invoice")
    assert isinstance(invoice[4].value, int | float) and invoice[3].is_date


def test_the_review_s_interest_and_fees_stand_beside_the_balance(session: Session) -> None:
    review(session, TODAY)
    client = customer(session, "C0002")
    charged = session.scalars(
        select(CustomerReview).where(CustomerReview.customer_id == client.id, CustomerReview.interest > 0)
    ).one()
    session.execute(update(CustomerReview).where(CustomerReview.id == charged.id).values(fee=Decimal("5.00")))
    view = statement(session, client, start=None, end=TODAY)
    charges = [(e.kind, e.charge, e.date) for e in view.entries if e.charge is not None]
    assert charges == [("fee", Decimal("5.00"), TODAY), ("interest", charged.interest, TODAY)]
    grace = credit_policy.current().grace_days
    owed = session.execute(ledger.receivables(TODAY, grace_days=grace, customer_ids=[client.id])).one().open_amount
    assert view.closing_balance == owed
    assert view.closing_with_charges == owed + charged.interest + Decimal("5.00")
    assert view.entries[-1].balance == owed  # the charges move no balance


def test_csv_neutralises_formulas_and_xlsx_keeps_text_as_text(tmp_path: Path) -> None:
    table = Table(
        title="=HYPERLINK(1)",
        lines=("@of",),
        columns=(Column("text"), Column("amount", "money")),
        rows=tuple(Row((text, Decimal("-12.50"))) for text in ("=1+1", "+1", "-2", "@SUM(A1)", "\tx", "plain")),
    )
    export.write(table, "csv", tmp_path / "t.csv")
    lines = (tmp_path / "t.csv").read_text().splitlines()
    assert lines == [
        "text,amount",
        "'=1+1,-12.50",
        "'+1,-12.50",
        "'-2,-12.50",
        "'@SUM(A1),-12.50",
        "'\tx,-12.50",
        "plain,-12.50",
    ]
    export.write(table, "xlsx", tmp_path / "t.xlsx")
    sheet = load_workbook(tmp_path / "t.xlsx").active
    assert sheet is not None
    assert [(c.value, c.data_type) for c in sheet["A"][1:3]] == [("=1+1", "s"), ("+1", "s")]
    assert sheet["B2"].value == -12.5 and sheet["B2"].data_type == "n"


def test_ageing_per_kam_and_customer_adds_up_to_the_ledger(kamflow: Kamflow, session: Session) -> None:
    code, view = kamflow("report", "ageing", "--as-of", TODAY.isoformat(), "--as", "credit")
    assert code == 0
    assert list(view) == ["as_of", "kam", "bucket_labels", "customers", "kams", "totals"]
    assert list(view["customers"][0]) == [
        "kam",
        "customer",
        "name",
        "currency",
        "not_due",
        "buckets",
        "past_due",
        "total",
        "oldest_overdue_days",
    ]
    assert view["bucket_labels"] == ["1-30", "31-60", "61-90", "over 90"]
    grace = credit_policy.current().grace_days
    owed = {row.customer_id: row for row in session.execute(ledger.receivables(TODAY, grace_days=grace))}
    codes = {code: id_ for code, id_ in session.execute(select(Customer.code, Customer.id))}
    for line in view["customers"]:
        theirs = owed[codes[line["customer"]]]
        assert Decimal(line["total"]) == theirs.open_amount
        assert Decimal(line["past_due"]) >= theirs.overdue_amount  # past due: before grace days and holds
        assert sum(Decimal(b) for b in line["buckets"]) == Decimal(line["past_due"])
    [total] = view["totals"]
    assert Decimal(total["total"]) == sum((row.open_amount for row in owed.values()), Decimal(0))
    assert Decimal(total["total"]) == sum(Decimal(kam["total"]) for kam in view["kams"])
    assert [kam["kam"] for kam in view["kams"]] == ["kam.north1", "kam.north2", "kam.south1", "kam.south2"]


def test_a_kam_sees_the_ageing_of_their_own_customers_only(kamflow: Kamflow) -> None:
    code, mine = kamflow("report", "ageing", "--as", "kam.north1")
    assert code == 0 and {line["kam"] for line in mine["customers"]} == {"kam.north1"}
    code, head = kamflow("report", "ageing", "--kam", "kam.north2", "--as", "head.north")
    assert code == 0 and head["kam"] == "kam.north2"
    assert {line["kam"] for line in head["customers"]} == {"kam.north2"}
    code, error = kamflow("report", "ageing", "--kam", "kam.south1", "--as", "kam.north1")
    assert (code, error["field"]) == (3, "kam")


def test_the_decision_register_lists_audited_decisions_only(kamflow: Kamflow, session: Session) -> None:
    review(session, TODAY)  # the rules decide collection tasks, each audited with its version
    kamflow("statement", "C0002", "--as", "credit")  # an audited read: not a decision
    day = TODAY.isoformat()
    code, view = kamflow("report", "decisions", "--from", day, "--as-of", day, "--as", "credit")
    assert code == 0
    assert list(view) == ["period_from", "period_to", "kam", "decisions"]
    assert view["decisions"] and list(view["decisions"][0]) == [
        "at",
        "actor",
        "subject_type",
        "subject_id",
        "customer",
        "action",
        "reasons",
        "rules_version",
    ]
    assert all(line["rules_version"] and line["reasons"] for line in view["decisions"])
    assert {line["action"] for line in view["decisions"]} <= {
        "collection_dunning",
        "collection_block_orders",
        "collection_propose_limit_change",
        "collection_escalate",
    }
    code, mine = kamflow("report", "decisions", "--from", day, "--as-of", day, "--as", "kam.north2")
    north2 = {line["customer"] for line in mine["decisions"]}
    assert code == 0 and north2 and north2 < {line["customer"] for line in view["decisions"]}
    human = CliRunner().invoke(app, ["report", "decisions", "--from", day, "--as-of", day, "--as", "credit"])
    assert f"Decision register {day} to {day}" in human.stdout and "collection task" in human.stdout


@pytest.mark.parametrize(
    ("args", "code", "field"),
    [
        (["statement", "C9999"], 4, "customer"),
        (["statement", "C0002", "--from", "2026-03-02", "--to", "2026-03-01"], 2, "from"),
        (["statement", "C0002", "--to", "31/12/2026"], 2, "to"),
        (["statement", "C0002", "--format", "docx"], 2, "format"),
        (["statement", "C0002", "--format", "pdf"], 2, "output"),
        (["statement", "C0002", "--as", "kam.south1"], 3, "customer"),
        (["report", "ageing", "--format", "ods"], 2, "format"),
        (["report", "ageing", "--as-of", "yesterday"], 2, "as_of"),
        (["report", "ageing", "--kam", "nobody"], 4, "kam"),
        (["report", "decisions", "--from", "2026-03-02", "--as-of", "2026-03-01"], 2, "from"),
    ],
)
def test_bad_input_names_the_field_and_writes_no_file(
    kamflow: Kamflow, tmp_path: Path, args: list[str], code: int, field: str
) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    output = folder / "out.pdf"
    extra = ["--output", str(output)] if "--format" in args and field != "output" else []
    acting = [] if "--as" in args else ["--as", "credit"]
    exit_code, error = kamflow(*args, *extra, *acting)
    assert (exit_code, error["field"]) == (code, field)
    assert list(folder.iterdir()) == []


def test_an_output_without_a_folder_is_refused(kamflow: Kamflow, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "s.csv"
    exit_code, error = kamflow("statement", "C0002", "--output", str(missing), "--as", "credit")
    assert (exit_code, error["field"]) == (2, "output") and not missing.parent.exists()
