"""notifications: the outbox, people's e-mail addresses, the installation's id

The outbox holds every notice until it is sent (kamflow.notify); `employees.email` is where a person's notices
go (none: login@mail_domain); the installation's id (random, made here once) keeps artifact keys apart across
databases.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("employees", recreate="never") as batch:
        batch.add_column(sa.Column("email", sa.String(length=254), nullable=True))
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["task_id"], ["approval_tasks.id"], name=op.f("fk_outbox_task_id_approval_tasks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index("ix_outbox_unsent", "outbox", ["sent_at", "next_attempt_at"])
    op.create_index(op.f("ix_outbox_task_id"), "outbox", ["task_id"])
    installation = op.create_table(
        "installation",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_installation")),
    )
    op.bulk_insert(installation, [{"id": secrets.token_hex(4), "created_at": dt.datetime.now(dt.UTC)}])


def downgrade() -> None:
    op.drop_table("installation")
    op.drop_index(op.f("ix_outbox_task_id"), table_name="outbox")
    op.drop_index("ix_outbox_unsent", table_name="outbox")
    op.drop_table("outbox")
    with op.batch_alter_table("employees", recreate="never") as batch:
        batch.drop_column("email")
