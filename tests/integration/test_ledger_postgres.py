"""Instalments, allocation and credit notes on a real PostgreSQL: the imports, the per-instalment ledger and the
returns report read the same as on SQLite."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from kamflow import imports, ledger, returns
from kamflow.db import get_engine, unit_of_work
from kamflow.demo_data import generate
from kamflow.settings import Settings
from tests.conftest import TODAY, customer
from tests.integration.test_postgres import pg_settings, pytestmark  # noqa: F401 (its fixture and marks)

FILES = {
    "customers": "code,name,customer_class,company_type,kam,credit_limit,currency,payment_terms_days\n"
    "C9101,Plazos S.L.,B,private,kam.north1,10000.00,EUR,30\n",
    "invoices": "number,customer,issue_date,due_date,amount\n"
    "P-1,C9101,2026-01-01,2026-03-31,3000.00\nP-2,C9101,2026-01-20,2026-02-19,1000.00\n",
    "instalments": "invoice,due_date,amount\n"
    "P-1,2026-01-31,1000.00\nP-1,2026-02-28,1000.00\nP-1,2026-03-31,1000.00\n",
    "payments": "customer,invoice,instalment,paid_on,amount\n"
    "C9101,,,2026-03-10,1500.00\n,P-1,3,2026-03-12,500.00\n",
    "credit_notes": "number,invoice,issued_on,amount,reason\nCN-1,P-2,2026-03-11,200.00,refused\n",
}


def test_instalments_payments_and_credit_notes_on_postgresql(
    pg_settings: Settings,  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
) -> None:
    from kamflow import migrate

    migrate.upgrade(pg_settings)
    generate(get_engine(pg_settings), customers=5, seed=7, today=TODAY)
    for kind, text in FILES.items():
        path = tmp_path / f"{kind}.csv"
        path.write_text(text, encoding="utf-8")
        with unit_of_work() as session:
            assert imports.import_file(session, kind, path, actor="credit")["imported"] >= 1
    with unit_of_work() as session:
        client = customer(session, "C9101")
        row = session.execute(ledger.receivables(TODAY, grace_days=5, customer_ids=[client.id])).one()
        # open: 3,000 + 1,000 - 1,500 - 500 - 200; overdue: P-1's second instalment and what is left of P-2
        assert (row.open_amount, row.overdue_amount, row.open_invoices) == (
            Decimal("1800.00"),
            Decimal("1300.00"),
            2,
        )
        view = returns.returns(session, start=TODAY.replace(day=1), end=TODAY, kams=None, kam=None)
        assert [(line.customer, line.total) for line in view.customers] == [("C9101", Decimal("200.00"))]
