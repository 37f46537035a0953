"""running figures of the ledger: per customer (`customer_figures`), their open items (`open_items`) and the
windows the figures keep (`ledger_windows`), filled from the existing ledger (`kamflow.figures.refresh`, as
`kamflow ledger verify` recomputes them); indexes on invoices' issue dates and payments' dates, for moving the
windows

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

from kamflow import figures

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(18, 2)


def upgrade() -> None:
    op.create_table(
        "ledger_windows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sales_after", sa.Date(), nullable=True),
        sa.Column("paid_after", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_windows")),
    )
    op.create_table(
        "customer_figures",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("latest", sa.Date(), nullable=False),
        sa.Column("sales", MONEY, nullable=True),
        sa.Column("paid", MONEY, nullable=True),
        sa.Column("paid_days", sa.Numeric(24, 2), nullable=True),
        sa.Column("open_orders", MONEY, nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_customer_figures_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customer_figures")),
    )
    op.create_table(
        "open_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("instalment_id", sa.Integer(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("open_amount", MONEY, nullable=False),
        sa.Column("disputed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_open_items_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_open_items_invoice_id_invoices")),
        sa.ForeignKeyConstraint(
            ["instalment_id"], ["instalments.id"], name=op.f("fk_open_items_instalment_id_instalments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open_items")),
    )
    op.create_index("ix_open_items_customer_due", "open_items", ["customer_id", "due_date"], unique=False)
    op.create_index("ix_invoices_issue_date", "invoices", ["issue_date"], unique=False)
    op.create_index(op.f("ix_payments_paid_on"), "payments", ["paid_on"], unique=False)
    op.execute(sa.text("INSERT INTO ledger_windows (id) VALUES (1)"))
    with Session(op.get_bind()) as session:
        figures.refresh(session, None)


def downgrade() -> None:
    op.drop_index(op.f("ix_payments_paid_on"), table_name="payments")
    op.drop_index("ix_invoices_issue_date", table_name="invoices")
    op.drop_index("ix_open_items_customer_due", table_name="open_items")
    op.drop_table("open_items")
    op.drop_table("customer_figures")
    op.drop_table("ledger_windows")
