"""The refusals a person meets every day, in the company's language (KAMFLOW_LANGUAGE): an unknown customer and a
limit below the exposure, from the CLI with their exit code, the field named and nothing written; a bad import's
lines."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kamflow import i18n, imports
from kamflow.credit.tables import CreditLimitChange
from kamflow.models import AuditEvent
from kamflow.settings import Settings, use_settings
from tests.unit.credit.test_imports import BAD_INVOICES, counts, write


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


def test_a_bad_import_names_its_lines_in_the_reader_s_words(
    session: Session, tmp_path: Path, language: i18n.Language
) -> None:
    before = counts(session)
    with i18n.reading(language), pytest.raises(imports.ImportRejected) as rejected:
        imports.import_file(session, "invoices", write(tmp_path, BAD_INVOICES), actor="credit")
    problems = {p.line: p.message for p in rejected.value.problems}
    message = rejected.value.message
    assert counts(session) == before and rejected.value.exit_code == 2 and "{" not in message
    if language == "es":
        assert message.startswith("file.csv: 8 línea(s) errónea(s), no se ha importado nada\n")
        assert problems[4] == "no existe el cliente C9999" and problems[8] == "X-1 repite la línea 2"
        assert "línea 7, currency: USD no es la moneda del cliente, EUR" in message
    else:
        assert message.startswith("file.csv: 8 bad line(s), nothing imported\n")
        assert problems[4] == "no customer C9999" and "line 7, currency: USD is not the customer's" in message


def test_an_unknown_login_is_refused_in_the_reader_s_words(kamflow: Any, language: i18n.Language) -> None:
    code, refused = kamflow("credit", "exposure", "C0001", "--as", "nobody.here")
    said = {
        "es": "no hay ningún empleado con el usuario 'nobody.here'",
        "en": "no employee with login 'nobody.here'",
    }
    assert code == 4 and said[language] in refused["message"]
