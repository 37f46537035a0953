"""All tables, for Alembic and the schema test: each capability's table module is imported here."""

from __future__ import annotations

from kamflow import installation, models  # noqa: F401
from kamflow.credit import tables as credit_tables  # noqa: F401
from kamflow.discounts import tables as discount_tables  # noqa: F401
from kamflow.documents import tables as document_tables  # noqa: F401
from kamflow.notify import tables as notify_tables  # noqa: F401
from kamflow.people import tables as people_tables  # noqa: F401
from kamflow.review import tables as review_tables  # noqa: F401

metadata = models.Base.metadata
