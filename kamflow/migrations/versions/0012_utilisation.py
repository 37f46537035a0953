"""a customer review's utilisation as wide as money over the smallest limit: PostgreSQL refused one above
999.9999 % (a limit cut far below the exposure) and failed the whole review

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customer_reviews") as table:
        table.alter_column("utilisation", type_=sa.Numeric(24, 4), existing_type=sa.Numeric(7, 4))


def downgrade() -> None:
    with op.batch_alter_table("customer_reviews") as table:
        table.alter_column("utilisation", type_=sa.Numeric(7, 4), existing_type=sa.Numeric(24, 4))
