"""The reports the Prefect UI shows (credit decisions, the nightly review) in Spanish and in English: every
placeholder filled, the words of the reader's language, numbers, money and dates written their way."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from sqlalchemy.orm import Session

from kamflow import i18n, labels, reports
from kamflow.credit import reports as credit_reports
from kamflow.credit import solvency
from kamflow.review.report import headed
from tests.conftest import NOW, TODAY, customer
from tests.unit.credit.conftest import change, headroom, order
from tests.unit.review.conftest import review

SPANISH_NUMBER = re.compile(r"[0-9]{1,3}(\.[0-9]{3})*,[0-9]{2}\b")
ENGLISH_NUMBER = re.compile(r"[0-9]{1,3}(,[0-9]{3})*\.[0-9]{2}\b")


def filled(text: str) -> bool:
    return "{" not in text and "}" not in text


def test_words_percent_and_instants_follow_the_reader() -> None:
    with i18n.reading("es"):
        assert reports.words("department_head") == "jefe de departamento"
        assert reports.words("kam_call") == "llamada del KAM" and reports.words("block") == "bloquear"
        assert labels.status("awaiting_prepayment") == "pendiente de pago anticipado"
        assert reports.pct(Decimal("12.50")) == "12,5 %"
        assert reports.to_whom({"role": "credit_controller"}) == " (al **responsable de crédito**)"
        assert reports.when(NOW).startswith(f"{TODAY:%d/%m/%Y} ")
        assert reports.words("an_id_of_its_own") == "an id of its own"  # not in the table: spelt out
    assert reports.pct(Decimal("12.50")) == "12.5%" and reports.when(NOW).startswith(f"{TODAY.isoformat()} ")
    assert reports.plain(Decimal("12.50")) == "12.5"  # a machine's number, in every language


def test_the_credit_reports_in_spanish(session: Session) -> None:
    blocked = order(session, "C0001", headroom(session, "C0001") + Decimal("1234.5"))
    old_limit = customer(session, "C0001").credit_limit
    assert old_limit is not None
    limit = change(session, "C0001", old_limit + 1000, requester="kam.north1")
    asked = solvency.SolvencyCheckIn.model_validate({"customer": "C0002", "requester": "credit"})
    check = solvency.submit(session, request=asked, flow_run_id=None, now=NOW)
    with i18n.reading("es"):
        texts = [
            credit_reports.order_markdown(blocked),
            credit_reports.limit_markdown(limit),
            credit_reports.solvency_markdown(check),
        ]
    english = [
        credit_reports.order_markdown(blocked),
        credit_reports.limit_markdown(limit),
        credit_reports.solvency_markdown(check),
    ]
    assert all(filled(text) for text in texts + english)
    order_es, limit_es, solvency_es = texts
    assert f"### Pedido {blocked.order.number} de C0001 " in order_es and ": BLOQUEADO" in order_es
    assert "dijeron **bloquear** (al **responsable de crédito**)" in order_es
    assert f"el {TODAY:%d/%m/%Y}." in order_es and "\xa0€" in order_es and SPANISH_NUMBER.search(order_es)
    assert "| importe | facturas abiertas |" in order_es and "Conjunto de reglas `order_credit`" in order_es
    assert f"### Cambio de límite de crédito {limit.id} de C0001 " in limit_es and "| total |" in limit_es
    assert f"### Análisis de solvencia {check.id} de C0002 " in solvency_es and "clase de riesgo" in solvency_es
    assert "Solicitado por " in solvency_es and ", finalidad: solicitud." in solvency_es
    order_en = english[0]
    assert f"### Order {blocked.order.number} for C0001 " in order_en and ": BLOCKED" in order_en
    assert "€" in order_en and ENGLISH_NUMBER.search(order_en)


def test_the_review_summary_in_spanish(session: Session) -> None:
    review(session, TODAY)
    summary = review(session, TODAY + dt.timedelta(days=1))
    with i18n.reading("es"):
        text = summary.markdown()
        levels = headed(summary.levels_table())
    assert filled(text)
    next_day = TODAY + dt.timedelta(days=1)
    assert text.startswith(f"# Revisión de crédito del {next_day:%d/%m/%Y}: completada\n")
    assert "40 clientes revisados en 1 lote(s)" in text and "Tareas de cobro para esta fecha: " in text
    assert f"## Cambios desde la revisión del {TODAY:%d/%m/%Y}" in text and "- clientes en reclamación: " in text
    assert "| moneda | no vencido |" in text and SPANISH_NUMBER.search(text)
    assert list(levels[0]) == ["nivel", "canal", "clientes", "cambio"]
    assert [row["canal"] for row in levels][:3] == ["ninguno", "llamada del KAM", "carta"]
    assert list(summary.levels_table()[0]) == ["level", "channel", "customers", "change"]  # the data's keys
