"""instalments, credit notes and allocations; prepayments received for an order

An invoice may have a payment schedule (`instalments`, summing to the invoice); credit notes with a reason
(returned, refused, damaged, price dispute) settle an invoice as payments do; `allocations` say which part of a
payment or credit note settles which instalment. Existing invoices have no schedule and need no allocation. An
order keeps the prepayments received for it (`orders.prepaid`, 0 for every existing order).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(18, 2)


def upgrade() -> None:
    # plain ALTER TABLE (a constant default lets SQLite add a NOT NULL column in place), as 0007 does
    with op.batch_alter_table("orders", recreate="never") as batch:
        batch.add_column(sa.Column("prepaid", MONEY, nullable=False, server_default="0"))
    op.create_table(
        "instalments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_instalments_invoice_id_invoices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instalments")),
        sa.UniqueConstraint("invoice_id", "due_date", name=op.f("uq_instalments_invoice_id")),
    )
    op.create_index(op.f("ix_instalments_invoice_id"), "instalments", ["invoice_id"], unique=False)
    op.create_table(
        "credit_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=30), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_credit_notes_invoice_id_invoices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_notes")),
        sa.UniqueConstraint("number", name=op.f("uq_credit_notes_number")),
    )
    op.create_index(op.f("ix_credit_notes_invoice_id"), "credit_notes", ["invoice_id"], unique=False)
    op.create_table(
        "allocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instalment_id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("credit_note_id", sa.Integer(), nullable=True),
        sa.Column("settled_on", sa.Date(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.CheckConstraint(
            "(payment_id IS NULL) <> (credit_note_id IS NULL)", name=op.f("ck_allocations_one_source")
        ),
        sa.ForeignKeyConstraint(
            ["instalment_id"], ["instalments.id"], name=op.f("fk_allocations_instalment_id_instalments")
        ),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"], name=op.f("fk_allocations_payment_id_payments")),
        sa.ForeignKeyConstraint(
            ["credit_note_id"], ["credit_notes.id"], name=op.f("fk_allocations_credit_note_id_credit_notes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocations")),
    )
    for column in ("instalment_id", "payment_id", "credit_note_id"):
        op.create_index(op.f(f"ix_allocations_{column}"), "allocations", [column], unique=False)


def downgrade() -> None:
    for column in ("instalment_id", "payment_id", "credit_note_id"):
        op.drop_index(op.f(f"ix_allocations_{column}"), table_name="allocations")
    op.drop_table("allocations")
    op.drop_index(op.f("ix_credit_notes_invoice_id"), table_name="credit_notes")
    op.drop_table("credit_notes")
    op.drop_index(op.f("ix_instalments_invoice_id"), table_name="instalments")
    op.drop_table("instalments")
    with op.batch_alter_table("orders", recreate="never") as batch:
        batch.drop_column("prepaid")
