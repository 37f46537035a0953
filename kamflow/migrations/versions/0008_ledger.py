"""the ledger: "no limit set" (NULL) and 0 become different values

The base credit limit, the sub-limits (open orders, open invoices, overdue) and a limit change's old and new
limit become nullable: NULL is no limit set (not checked), 0 is no credit (for overdue: none tolerated). What
the rows meant before is kept: a sub-limit of 0 for open orders or open invoices meant "no sub-limit" and
becomes NULL; an overdue limit of 0 already meant "none tolerated" and stays, and a customer without credit
terms tolerated no overdue either, so they get a row saying so. The downgrade writes 0 for every NULL (a
cleared total limit comes back as 0: no credit).

Revision ID: 0008
Revises: 0006 (to be re-pointed at 0007 when that lands)
Create Date: 2027-01-10
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

from kamflow.models import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(18, 2)
NULLABLE = {
    "customers": ("credit_limit",),
    "credit_terms": ("open_orders_limit", "open_invoices_limit", "overdue_limit"),
    "credit_limit_changes": ("old_limit", "new_limit"),
    "customer_reviews": ("credit_limit",),
}
customers = sa.table("customers", sa.column("id", sa.Integer()))
terms = sa.table(
    "credit_terms",
    sa.column("customer_id", sa.Integer()),
    *(sa.column(name, MONEY) for name in NULLABLE["credit_terms"]),
    sa.column("updated_at", UTCDateTime()),
)


def _nullable(nullable: bool) -> None:
    for table, columns in NULLABLE.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(column, existing_type=MONEY, nullable=nullable)


def upgrade() -> None:
    _nullable(True)
    for column in ("open_orders_limit", "open_invoices_limit"):
        op.execute(terms.update().where(terms.c[column] == 0).values({column: None}))
    op.execute(
        terms.insert().from_select(
            ["customer_id", "overdue_limit", "updated_at"],
            sa.select(
                customers.c.id, sa.literal(0, MONEY), sa.literal(dt.datetime.now(dt.UTC), UTCDateTime())
            ).where(customers.c.id.not_in(sa.select(terms.c.customer_id))),
        )
    )


def downgrade() -> None:
    for table, columns in NULLABLE.items():
        for column in columns:
            named = sa.table(table, sa.column(column, MONEY))
            op.execute(named.update().where(named.c[column].is_(None)).values({column: 0}))
    _nullable(False)
