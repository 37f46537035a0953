"""documents: versions, chain steps and their tasks, signatures, acknowledgments (the approval chain)

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("doc_type", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("chain", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("effective_version", sa.Integer(), nullable=True),
        sa.Column("flow_run_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["employees.id"], name=op.f("fk_documents_author_id_employees")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint("flow_run_id", name=op.f("uq_documents_flow_run_id")),
    )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_documents_author_id"), ["author_id"], unique=False)

    op.create_table(
        "document_acknowledgments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["employees.id"], name=op.f("fk_document_acknowledgments_actor_id_employees")
        ),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_document_acknowledgments_document_id_documents")
        ),
        sa.ForeignKeyConstraint(
            ["employee_id"], ["employees.id"], name=op.f("fk_document_acknowledgments_employee_id_employees")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_acknowledgments")),
        sa.UniqueConstraint(
            "document_id", "version", "employee_id", name=op.f("uq_document_acknowledgments_document_id")
        ),
    )
    op.create_table(
        "document_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("stage_index", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("needed", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_document_steps_document_id_documents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_steps")),
        sa.UniqueConstraint(
            "document_id", "round", "stage_index", "name", name=op.f("uq_document_steps_document_id")
        ),
    )
    with op.batch_alter_table("document_steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_document_steps_document_id"), ["document_id"], unique=False)

    op.create_table(
        "document_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("made_by_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_document_versions_document_id_documents")
        ),
        sa.ForeignKeyConstraint(
            ["made_by_id"], ["employees.id"], name=op.f("fk_document_versions_made_by_id_employees")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_versions")),
        sa.UniqueConstraint("document_id", "number", name=op.f("uq_document_versions_document_id")),
    )
    op.create_table(
        "document_signatures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("signer_id", sa.Integer(), nullable=False),
        sa.Column("for_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_document_signatures_document_id_documents")
        ),
        sa.ForeignKeyConstraint(
            ["for_id"], ["employees.id"], name=op.f("fk_document_signatures_for_id_employees")
        ),
        sa.ForeignKeyConstraint(
            ["signer_id"], ["employees.id"], name=op.f("fk_document_signatures_signer_id_employees")
        ),
        sa.ForeignKeyConstraint(
            ["step_id"], ["document_steps.id"], name=op.f("fk_document_signatures_step_id_document_steps")
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["approval_tasks.id"], name=op.f("fk_document_signatures_task_id_approval_tasks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_signatures")),
    )
    with op.batch_alter_table("document_signatures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_document_signatures_document_id"), ["document_id"], unique=False)

    op.create_table(
        "document_step_tasks",
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=False),
        sa.Column("remind_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminders", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["step_id"], ["document_steps.id"], name=op.f("fk_document_step_tasks_step_id_document_steps")
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["approval_tasks.id"], name=op.f("fk_document_step_tasks_task_id_approval_tasks")
        ),
        sa.PrimaryKeyConstraint("task_id", name=op.f("pk_document_step_tasks")),
    )
    with op.batch_alter_table("document_step_tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_document_step_tasks_step_id"), ["step_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("document_step_tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_step_tasks_step_id"))

    op.drop_table("document_step_tasks")
    with op.batch_alter_table("document_signatures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_signatures_document_id"))

    op.drop_table("document_signatures")
    op.drop_table("document_versions")
    with op.batch_alter_table("document_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_steps_document_id"))

    op.drop_table("document_steps")
    op.drop_table("document_acknowledgments")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_documents_author_id"))

    op.drop_table("documents")
