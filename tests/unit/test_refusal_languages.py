"""The refusals a person meets every day, in the company's language (KAMFLOW_LANGUAGE): an unknown customer and a
limit below the exposure, from the CLI with their exit code, the field named and nothing written."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kamflow import i18n
from kamflow.credit.tables import CreditLimitChange
from kamflow.models import AuditEvent
from kamflow.settings import Settings, use_settings


@pytest.fixture(params=["es", "en"])
def language(request: pytest.FixtureRequest, settings: Settings) -> Iterator[i18n.Language]:
    use_settings(settings.model_copy(update={"language": request.param}))
    try:
        yield request.param
    finally:
        use_settings(settings)


def written(session: Session) -> tuple[int, ...]:
    """How many limit changes and audit events there are (read afresh: the CLI writes in its own session)."""
    session.commit()
    tables = (CreditLimitChange, AuditEvent)
    return tuple(session.scalar(select(func.count()).select_from(table)) or 0 for table in tables)


def test_an_unknown_customer_is_refused_in_the_reader_s_words(
    kamflow: Any, session: Session, language: i18n.Language
) -> None:
    before = written(session)
    code, refused = kamflow("credit", "limit", "set", "C9999", "1000", "--as", "credit")
    assert (code, refused["field"]) == (4, "customer") and written(session) == before
    said = {"es": "no hay ningún cliente con el código 'C9999'", "en": "no customer with code 'C9999'"}
    assert said[language] in refused["message"] and "{" not in refused["message"]


def test_a_limit_below_the_exposure_asks_for_a_confirmation_in_the_reader_s_words(
    kamflow: Any, session: Session, language: i18n.Language
) -> None:
    _code, shown = kamflow("credit", "exposure", "C0001", "--as", "credit")
    exposure = next(Decimal(c["amount"]) for c in shown["categories"] if c["category"] == "total")
    before = written(session)
    code, refused = kamflow("credit", "limit", "set", "C0001", "1000", "--as", "credit")
    assert (code, refused["field"]) == (2, "confirm") and written(session) == before
    message = refused["message"]
    assert "{" not in message and exposure > 1000
    if language == "es":
        assert message.startswith("el nuevo límite (total) de 1.000,00\xa0€ está por debajo del riesgo actual de ")
        assert "--confirm" in message and f"{exposure:,.2f}".translate(str.maketrans(",.", ".,")) in message
    else:
        assert message.startswith("the new total limit €1,000.00 is below the current exposure ")
        assert f"€{exposure:,.2f}" in message
