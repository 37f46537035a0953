"""people and access: extra roles, language and password hash on employees; personal API tokens

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ALTER TABLE (a constant default lets SQLite add a NOT NULL column in place): a batch copy of the table
    # would drop the old one, which other tables' foreign keys refuse while they hold rows
    with op.batch_alter_table("employees", recreate="never") as batch:
        batch.add_column(sa.Column("roles", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("language", sa.String(length=2), nullable=True))
        batch.add_column(sa.Column("password_hash", sa.String(length=255), nullable=True))

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["employee_id"], ["employees.id"], name=op.f("fk_api_tokens_employee_id_employees")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index(op.f("ix_api_tokens_employee_id"), "api_tokens", ["employee_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_api_tokens_employee_id"), table_name="api_tokens")
    op.drop_table("api_tokens")
    # plain ALTER TABLE … DROP COLUMN (SQLite 3.35+), as in upgrade
    with op.batch_alter_table("employees", recreate="never") as batch:
        batch.drop_column("password_hash")
        batch.drop_column("language")
        batch.drop_column("roles")
