"""The CLI in the reader's language: `--lang`, else the acting person's language, else the company's
(KAMFLOW_LANGUAGE). The same discount decision reads in Spanish and in English with every placeholder filled, its
--json the same in both; numbers are typed either way, and a number Spanish would read as thousands is refused."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import get_args

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from kamflow import org
from kamflow.app.cli import app
from kamflow.app.serve import prefect_environment
from kamflow.discounts.tables import DiscountRequest
from kamflow.models import AuditEvent, Employee
from kamflow.settings import Settings, use_settings
from tests.unit.test_discounts import norm
from tests.unit.test_processes import waiting_discount

Run = Callable[..., Result]


@pytest.fixture
def run(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Run:
    """`kamflow ...` in-process as people read it (no --json): its result."""
    for name, value in prefect_environment(settings).items():
        monkeypatch.setenv(name, value)
    return lambda *args: CliRunner().invoke(app, list(args))


def waiting(session: Session, settings: Settings) -> tuple[int, int, str]:
    """A discount request above the norm, waiting for its approver: its number, its task's and the approver."""
    row, task = waiting_discount(session, settings)
    session.commit()
    return row.id, task.id, task.owner.login


def speak(session: Session, login: str, language: str | None) -> None:
    session.get_one(Employee, org.employee(session, login).id).language = language
    session.commit()


def filled(text: str) -> str:
    assert "{" not in text and "}" not in text, text
    return text


def test_the_same_discount_decision_reads_in_spanish_and_in_english_and_its_json_in_neither(
    session: Session, settings: Settings, run: Run
) -> None:
    request, task, head = waiting(session, settings)
    english = filled(run("--lang", "en", "discount", "show", str(request), "--as", head).stdout)
    spanish = filled(run("--lang", "es", "discount", "show", str(request), "--as", head).stdout)
    assert f"request {request} for C0001: PENDING" in english and f"waiting for {head} — task {task}" in english
    assert f"solicitud {request} de C0001: PENDIENTE" in spanish
    assert f"esperando a {head} — tarea {task}" in spanish
    assert "versión de las reglas" in spanish and "rules version" in english

    counter = (norm(session) + Decimal("0.5")).normalize()
    written = f"{counter:f}".replace(".", ",")
    decided = run("--lang", "es", "decide", str(task), "counter", "--discount-pct", written, "--as", head)
    assert decided.exit_code == 0, decided.output
    assert f"CONTRAOFERTA {written} % por " in filled(decided.stdout)
    english = filled(run("--lang", "en", "discount", "show", str(request), "--as", head).stdout)
    assert f"COUNTERED {counter:f}% by " in english and "CONTRAOFERTA" not in english
    shown = {
        language: json.loads(
            run("--lang", language, "discount", "show", str(request), "--as", head, "--json").stdout
        )
        for language in ("es", "en")
    }
    reasons = {language: shown[language].pop("reasons") for language in shown}  # in the language asked for
    assert shown["es"] == shown["en"] and shown["en"]["verdict"]["outcome"] == "COUNTERED"
    assert [r["rule"] for r in reasons["es"]] == [r["rule"] for r in reasons["en"]]
    assert reasons["es"][0]["text"].startswith("El descuento") and reasons["en"][0]["text"].startswith("Discount")
    assert Decimal(shown["en"]["granted_pct"]) == counter


def test_a_decimal_comma_and_a_decimal_point_give_the_same_counter_offer(
    session: Session, settings: Settings, run: Run
) -> None:
    counter = (norm(session) + Decimal("0.5")).normalize()
    granted = []
    for written in (f"{counter:f}".replace(".", ","), f"{counter:f}"):
        request, task, head = waiting(session, settings)
        assert run("decide", str(task), "counter", "--discount-pct", written, "--as", head).exit_code == 0
        session.expire_all()
        granted.append(session.get_one(DiscountRequest, request).granted_pct)
    assert granted == [counter, counter]


def test_lang_beats_the_persons_language_which_beats_the_companys(
    session: Session, settings: Settings, run: Run
) -> None:
    request, _task, head = waiting(session, settings)

    def show(*lang: str) -> str:
        return filled(run(*lang, "discount", "show", str(request), "--as", head).stdout)

    assert show().startswith("request ")  # the company's language: English by default
    use_settings(settings.model_copy(update={"language": "es"}))
    assert show().startswith("solicitud ")
    speak(session, head, "en")
    assert show().startswith("request ")  # the person's own beats the company's
    assert show("--lang", "es").startswith("solicitud ")  # --lang beats the person's
    use_settings(settings)
    speak(session, head, "es")
    assert show().startswith("solicitud ")
    assert show("--lang", "en").startswith("request ")


def test_a_person_given_spanish_by_the_user_command_reads_spanish(
    session: Session, settings: Settings, run: Run
) -> None:
    request, _task, head = waiting(session, settings)
    assert run("user", "edit", head, "--language", "es").exit_code == 0
    shown = run("discount", "show", str(request), "--as", head)
    assert shown.exit_code == 0 and filled(shown.stdout).startswith(f"solicitud {request} de C0001: PENDIENTE")
    exposure = filled(run("credit", "exposure", "C0001", "--as", "credit").stdout)
    assert exposure.startswith("exposure of C0001")  # another person, without a language of their own


def test_an_unknown_language_is_refused_naming_it(run: Run) -> None:
    refused = run("--lang", "xx", "tasks", "--as", "credit")
    assert refused.exit_code == 2 and "language" in refused.stderr and "'xx'" in refused.stderr


def test_spanish_amounts_are_grouped_with_dots_and_a_decimal_comma(run: Run) -> None:
    english = filled(run("--lang", "en", "credit", "exposure", "C0001", "--as", "credit").stdout)
    spanish = filled(run("--lang", "es", "credit", "exposure", "C0001", "--as", "credit").stdout)
    limit = re.search(r", limit ([0-9,]+\.[0-9]{2})$", english.splitlines()[0])
    assert english.startswith("exposure of C0001") and limit is not None and "," in limit.group(1)
    spanish_limit = limit.group(1).replace(",", " ").replace(".", ",").replace(" ", ".")  # 306.000,00
    assert spanish.startswith("riesgo de C0001") and f"límite {spanish_limit}" in spanish.splitlines()[0]
    assert "facturas abiertas" in spanish and "vencido más antiguo" in spanish


def test_a_number_spanish_reads_as_thousands_is_refused_and_nothing_is_written(
    session: Session, settings: Settings, run: Run
) -> None:
    def written() -> tuple[int, int]:
        return (
            session.scalar(select(func.count()).select_from(DiscountRequest)) or 0,
            session.scalar(select(func.count()).select_from(AuditEvent)) or 0,
        )

    before = written()
    asked = ["discount", "request", "--customer", "C0001", "--column", "3", "--discount-pct", "5"]
    refused = run("--lang", "es", *asked, "--order-total", "1.234", "--as", org_kam(session))
    assert refused.exit_code == 2, refused.output
    assert "order_total" in refused.stderr and "ambiguo" in refused.stderr and "1234" in refused.stderr
    assert written() == before


def test_an_input_out_of_bounds_is_refused_in_the_readers_words_and_nothing_is_written(
    session: Session, settings: Settings, run: Run
) -> None:
    """pydantic writes English only: the mistakes people make read in their language, bounds as they write
    numbers; English reads as pydantic writes it."""
    written = session.scalar(select(func.count()).select_from(AuditEvent))
    asked = ["discount", "request", "--customer", "C0001", "--column", "3", "--order-total", "100"]
    said = {
        (language, mistake): run("--lang", language, *asked, *mistake, "--as", org_kam(session))
        for language in ("es", "en")
        for mistake in (("--discount-pct", "120"), ("--discount-pct", "5", "--note", "a" * 2001))
    }
    assert {key: (done.exit_code, done.stderr.strip().splitlines()[-1]) for key, done in said.items()} == {
        ("es", ("--discount-pct", "120")): (2, "error: discount_pct: Debe ser menor que 100"),
        ("en", ("--discount-pct", "120")): (2, "error: discount_pct: Input should be less than 100"),
        ("es", ("--discount-pct", "5", "--note", "a" * 2001)): (
            2,
            "error: note: Debe tener como máximo 2.000 caracteres",
        ),
        ("en", ("--discount-pct", "5", "--note", "a" * 2001)): (
            2,
            "error: note: String should have at most 2,000 characters",
        ),
    }
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == written
    assert session.scalar(select(func.count()).select_from(DiscountRequest)) == 0


def test_every_input_mistake_kamflow_words_is_one_pydantic_makes() -> None:
    from pydantic_core.core_schema import ErrorType

    from kamflow.i18n import INPUT_ERRORS

    assert set(INPUT_ERRORS) <= set(get_args(ErrorType))


def org_kam(session: Session) -> str:
    from kamflow import customers

    return customers.by_code(session, "C0001").kam.login
