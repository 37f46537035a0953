"""credit control: financial statements, solvency checks, credit terms, limit changes, order credit checks

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(precision=18, scale=2)


def upgrade() -> None:
    op.create_table(
        "financial_statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("current_assets", MONEY, nullable=False),
        sa.Column("current_liabilities", MONEY, nullable=False),
        sa.Column("inventory", MONEY, nullable=False),
        sa.Column("total_assets", MONEY, nullable=False),
        sa.Column("total_liabilities", MONEY, nullable=False),
        sa.Column("equity", MONEY, nullable=False),
        sa.Column("retained_earnings", MONEY, nullable=False),
        sa.Column("ebit", MONEY, nullable=False),
        sa.Column("sales", MONEY, nullable=False),
        sa.Column("market_value_equity", MONEY, nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_financial_statements_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_financial_statements")),
        sa.UniqueConstraint("customer_id", "period_end", name=op.f("uq_financial_statements_customer_id")),
    )
    op.create_table(
        "credit_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flow_run_id", sa.String(length=36), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("order_amount", MONEY, nullable=False),
        sa.Column("statement_id", sa.Integer(), nullable=True),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("risk_class", sa.String(length=1), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=True),
        sa.Column("proposed_limit", MONEY, nullable=False),
        sa.Column("approved_limit", MONEY, nullable=True),
        sa.Column("formula", sa.Text(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("decisions", sa.JSON(), nullable=False),
        sa.Column("rules_version", sa.String(length=64), nullable=False),
        sa.Column("class_rules_version", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_credit_checks_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["requester_id"], ["employees.id"], name=op.f("fk_credit_checks_requester_id_employees")
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["financial_statements.id"],
            name=op.f("fk_credit_checks_statement_id_financial_statements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_checks")),
        sa.UniqueConstraint("flow_run_id", name=op.f("uq_credit_checks_flow_run_id")),
    )
    with op.batch_alter_table("credit_checks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credit_checks_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "credit_terms",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("temporary_limit", MONEY, nullable=True),
        sa.Column("temporary_until", sa.Date(), nullable=True),
        sa.Column("open_orders_limit", MONEY, nullable=False),
        sa.Column("open_invoices_limit", MONEY, nullable=False),
        sa.Column("overdue_limit", MONEY, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_credit_terms_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_credit_terms")),
    )
    op.create_table(
        "credit_limit_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flow_run_id", sa.String(length=36), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("old_limit", MONEY, nullable=False),
        sa.Column("new_limit", MONEY, nullable=False),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("exposure", MONEY, nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decision", sa.JSON(), nullable=False),
        sa.Column("rules_version", sa.String(length=64), nullable=False),
        sa.Column("released", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_credit_limit_changes_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["requester_id"], ["employees.id"], name=op.f("fk_credit_limit_changes_requester_id_employees")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_limit_changes")),
        sa.UniqueConstraint("flow_run_id", name=op.f("uq_credit_limit_changes_flow_run_id")),
    )
    with op.batch_alter_table("credit_limit_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credit_limit_changes_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "order_credit_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flow_run_id", sa.String(length=36), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("prepayment_amount", MONEY, nullable=True),
        sa.Column("decision", sa.JSON(), nullable=False),
        sa.Column("rules_version", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_order_credit_checks_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_order_credit_checks_order_id_orders")),
        sa.ForeignKeyConstraint(
            ["requester_id"], ["employees.id"], name=op.f("fk_order_credit_checks_requester_id_employees")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_credit_checks")),
        sa.UniqueConstraint("flow_run_id", name=op.f("uq_order_credit_checks_flow_run_id")),
        sa.UniqueConstraint("order_id", name=op.f("uq_order_credit_checks_order_id")),
    )
    with op.batch_alter_table("order_credit_checks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_credit_checks_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_order_credit_checks_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("order_credit_checks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_credit_checks_status"))
        batch_op.drop_index(batch_op.f("ix_order_credit_checks_customer_id"))

    op.drop_table("order_credit_checks")
    with op.batch_alter_table("credit_limit_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_limit_changes_customer_id"))

    op.drop_table("credit_limit_changes")
    op.drop_table("credit_terms")
    with op.batch_alter_table("credit_checks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_checks_customer_id"))

    op.drop_table("credit_checks")
    op.drop_table("financial_statements")
