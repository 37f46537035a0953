"""`kamflow report returns` (clause 2.11) through the real CLI: credit notes by reason per customer and month, per
KAM and in all, as a table, JSON and the exports people take away; a KAM sees only their customers."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy.orm import Session

from tests.conftest import customer

Kamflow = Callable[..., tuple[int, Any]]
PERIOD = ("--from", "2026-02-01", "--to", "2026-03-31")


@pytest.fixture
def credited(kamflow: Kamflow, tmp_path: Path) -> Kamflow:
    files = {
        "invoices": "number,customer,issue_date,due_date,amount\n"
        "R-1,C0001,2026-02-01,2026-03-03,1000.00\nR-2,C0001,2026-03-01,2026-03-31,500.00\n"
        "R-3,C0002,2026-03-01,2026-03-31,300.00\n",
        "credit-notes": "number,invoice,issued_on,amount,reason\n"
        "CN-1,R-1,2026-02-10,100.00,returned\nCN-2,R-1,2026-02-20,50.00,damaged\n"
        "CN-3,R-2,2026-03-05,200.00,refused\nCN-4,R-3,2026-03-05,30.00,price_dispute\n"
        "CN-5,R-3,2026-04-01,10.00,returned\n",  # after the period
    }
    for kind, text in files.items():
        path = tmp_path / f"{kind}.csv"
        path.write_text(text, encoding="utf-8")
        code, done = kamflow("import", kind, str(path))
        assert code == 0, done
    return kamflow


def test_credit_notes_by_reason_per_customer_month_kam_and_in_all(credited: Kamflow, session: Session) -> None:
    code, view = credited("report", "returns", *PERIOD, "--as", "credit")
    assert code == 0, view
    assert view["reasons"] == ["returned", "refused", "damaged", "price_dispute"]
    mine = [(line["customer"], line["month"], line["by_reason"], line["notes"]) for line in view["customers"]]
    assert sorted(mine) == [
        ("C0001", "2026-02", ["100.00", "0.00", "50.00", "0.00"], 2),
        ("C0001", "2026-03", ["0.00", "200.00", "0.00", "0.00"], 1),
        ("C0002", "2026-03", ["0.00", "0.00", "0.00", "30.00"], 1),
    ]
    north1 = customer(session, "C0001").kam.login
    kam_total = next(line for line in view["kams"] if line["kam"] == north1)
    assert (Decimal(kam_total["total"]), kam_total["notes"]) == (Decimal("350.00"), 3)
    assert [(t["currency"], Decimal(t["total"])) for t in view["totals"]] == [("EUR", Decimal("380.00"))]


def test_a_kam_sees_only_their_customers_and_not_anothers(credited: Kamflow, session: Session) -> None:
    north1, north2 = customer(session, "C0001").kam.login, customer(session, "C0002").kam.login
    assert north1 != north2
    code, view = credited("report", "returns", *PERIOD, "--kam", north1, "--as", north1)
    assert code == 0 and {line["customer"] for line in view["customers"]} == {"C0001"}
    code, refused = credited("report", "returns", *PERIOD, "--kam", north2, "--as", north1)
    assert (code, refused["field"]) == (3, "kam")
    code, refused = credited("report", "returns", "--from", "2026-04-01", "--to", "2026-03-01", "--as", "credit")
    assert (code, refused["field"]) == (2, "from")


def test_the_returns_report_exports_as_xlsx_pdf_and_csv(credited: Kamflow, tmp_path: Path) -> None:
    for suffix in ("xlsx", "pdf", "csv"):
        out = tmp_path / f"returns.{suffix}"
        code, done = credited("report", "returns", *PERIOD, "--output", str(out), "--as", "credit")
        assert code == 0 and done["format"] == suffix, done
    sheet = load_workbook(tmp_path / "returns.xlsx").active
    assert sheet is not None
    cells = [[cell.value for cell in row] for row in sheet.iter_rows()]
    header = next(row for row in cells if row and row[0] == "KAM")
    assert header[5:9] == ["returned", "refused", "damaged", "price dispute"]
    assert any(row[1] == "C0001" and row[5] == Decimal("100.00") for row in cells if len(row) > 5)
    text = "".join(page.extract_text() for page in PdfReader(tmp_path / "returns.pdf").pages)
    assert "Returns and refusals from 2026-02-01 to 2026-03-31" in text and "price dispute" in text
    assert "C0002" in (tmp_path / "returns.csv").read_text(encoding="utf-8")
