"""credit review: reviews per business date and their shards, customer results, dunning states, collection
tasks, promises to pay, invoice holds

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credit_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("shards", sa.Integer(), nullable=False),
        sa.Column("flow_run_id", sa.String(length=36), nullable=True),
        sa.Column("rules_version", sa.String(length=64), nullable=True),
        sa.Column("bucket_labels", sa.JSON(), nullable=False),
        sa.Column("totals", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_reviews")),
        sa.UniqueConstraint("business_date", name=op.f("uq_credit_reviews_business_date")),
    )

    op.create_table(
        "credit_review_shards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("totals", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["review_id"], ["credit_reviews.id"], name=op.f("fk_credit_review_shards_review_id_credit_reviews")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_review_shards")),
        sa.UniqueConstraint("review_id", "shard", name=op.f("uq_credit_review_shards_review_id")),
    )

    op.create_table(
        "customer_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("not_due", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("buckets", sa.JSON(), nullable=False),
        sa.Column("overdue", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("oldest_overdue_days", sa.Integer(), nullable=True),
        sa.Column("serious_overdue", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("dunnable", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("interest", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("fee", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("dso", sa.Numeric(precision=9, scale=2), nullable=True),
        sa.Column("exposure", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("credit_limit", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("utilisation", sa.Numeric(precision=7, scale=4), nullable=True),
        sa.Column("payment_days", sa.Numeric(precision=9, scale=2), nullable=True),
        sa.Column("payment_days_change", sa.Numeric(precision=9, scale=2), nullable=True),
        sa.Column("altman_zone", sa.String(length=10), nullable=True),
        sa.Column("dunning_level", sa.Integer(), nullable=False),
        sa.Column("level_raised", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(length=30), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_customer_reviews_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["review_id"], ["credit_reviews.id"], name=op.f("fk_customer_reviews_review_id_credit_reviews")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_reviews")),
        sa.UniqueConstraint("review_id", "customer_id", name=op.f("uq_customer_reviews_review_id")),
    )
    with op.batch_alter_table("customer_reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customer_reviews_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "dunning_states",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("raised_on", sa.Date(), nullable=False),
        sa.Column("carried_out", sa.Boolean(), nullable=False),
        sa.Column("last_reminder_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_dunning_states_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_dunning_states")),
    )

    op.create_table(
        "collection_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=True),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=False),
        sa.Column("next_action_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("fee", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("rules_version", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.Column("done_by_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["employees.id"], name=op.f("fk_collection_tasks_assignee_id_employees")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_collection_tasks_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["done_by_id"], ["employees.id"], name=op.f("fk_collection_tasks_done_by_id_employees")
        ),
        sa.ForeignKeyConstraint(
            ["review_id"], ["credit_reviews.id"], name=op.f("fk_collection_tasks_review_id_credit_reviews")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_tasks")),
        sa.UniqueConstraint(
            "customer_id", "business_date", "action", name=op.f("uq_collection_tasks_customer_id")
        ),
    )
    with op.batch_alter_table("collection_tasks", schema=None) as batch_op:
        batch_op.create_index("ix_collection_tasks_assignee_status", ["assignee_id", "status"], unique=False)

    op.create_table(
        "payment_promises",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("promised_for", sa.Date(), nullable=False),
        sa.Column("recorded_on", sa.Date(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_payment_promises_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["employees.id"], name=op.f("fk_payment_promises_recorded_by_id_employees")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_promises")),
    )
    with op.batch_alter_table("payment_promises", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_promises_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "invoice_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("placed_on", sa.Date(), nullable=False),
        sa.Column("placed_by_id", sa.Integer(), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_invoice_holds_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["placed_by_id"], ["employees.id"], name=op.f("fk_invoice_holds_placed_by_id_employees")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_holds")),
        sa.UniqueConstraint("invoice_id", name=op.f("uq_invoice_holds_invoice_id")),
    )


def downgrade() -> None:
    op.drop_table("invoice_holds")
    op.drop_table("payment_promises")
    op.drop_table("collection_tasks")
    op.drop_table("dunning_states")
    op.drop_table("customer_reviews")
    op.drop_table("credit_review_shards")
    op.drop_table("credit_reviews")
