"""All tables, for Alembic and the schema test: each capability's table module is imported here."""

from __future__ import annotations

from kamflow import models

metadata = models.Base.metadata
