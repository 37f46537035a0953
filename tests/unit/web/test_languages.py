"""The workspace and the mail in their reader's language: the same discount decision's task page and its decided
mail in Spanish and in English, each person's inbox in their own language on one server, the sign-in page in the
company's, and a number the Spanish reader would misread refused on the page in words."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TypedDict

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow import org
from kamflow.discounts.tables import DiscountRequest
from kamflow.models import ApprovalTask
from kamflow.notify.tables import OutboxMessage
from kamflow.reports import plain
from kamflow.settings import Settings, use_settings
from tests.unit.test_discounts import norm
from tests.unit.web.conftest import csrf, sign_in
from tests.unit.web.test_pages import waiting

UNFILLED = re.compile(r"\{[a-z_]*\}")
"""A `{placeholder}` left in a text that should have been filled."""


class Words(TypedDict):
    """What a reader of one language finds: on the task page, once decided, in the decided mail's subject and
    body, the order's total as they write it, and the pattern of an instant."""

    page: list[str]
    decided: list[str]
    subject: str
    mail: list[str]
    order_total: str
    day: str


WORDS: dict[str, Words] = {
    "es": {
        "page": ["Datos", "Su decisión", "Aprobar", "Rechazar", "Contraofertar", "descuento solicitado (%)"],
        "decided": ["Decidido."],
        "subject": "CONTRAOFERTA por",
        "mail": [
            "Hola, ",
            "CONTRAOFERTA por",
            "contraoferta (%): 12,5",
            "Comentario: Hasta aquí",
            "Sus solicitudes",
        ],
        "order_total": "150.000",
        "day": r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}",
    },
    "en": {
        "page": ["Facts", "Your decision", "Approve", "Reject", "Counter-offer", "discount asked (%)"],
        "decided": ["Decided."],
        "subject": "COUNTERED by",
        "mail": ["Hello ", "COUNTERED by", "counter-offer (%): 12.5", "Comment: Hasta aquí", "Your requests:"],
        "order_total": "150,000",
        "day": r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}",
    },
}


def speaks(session: Session, language: str | None, *logins: str) -> None:
    for login in logins:
        org.employee(session, login).language = language
    session.commit()


@pytest.mark.parametrize("language", ["es", "en"])
def test_the_same_discount_decision_on_its_task_page_and_in_its_mail(
    client: TestClient, session: Session, settings: Settings, language: str
) -> None:
    speaks(session, language, "head.north", "kam.north1")
    task = waiting(session, settings)
    words = WORDS[language]
    sign_in(client, "head.north")
    page = client.get(f"/tasks/{task.id}").text
    assert f'<html lang="{language}">' in page
    assert all(word in page for word in words["page"]), [w for w in words["page"] if w not in page]
    assert f"<td>{words['order_total']}</td>" in page  # the order's total, as this reader writes it
    assert re.search(words["day"], page) and not UNFILLED.search(page)

    form = {"csrf": csrf(client, f"/tasks/{task.id}"), "action": "counter", "discount_pct": "12,5"}
    answer = client.post(f"/tasks/{task.id}", data={**form, "comment": "Hasta aquí"})
    assert answer.status_code == 200 and all(word in answer.text for word in words["decided"])
    assert not UNFILLED.search(answer.text)
    session.expire_all()
    assert session.get_one(DiscountRequest, task.subject_id).granted_pct == Decimal("12.5")

    mail = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "decided")).one()
    assert mail.login == "kam.north1" and words["subject"] in mail.subject
    assert all(word in mail.body for word in words["mail"]), mail.body
    assert re.search(words["day"], mail.body)
    assert not UNFILLED.search(mail.subject + mail.body)
    opened = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "opened")).one()
    assert ("le espera" if language == "es" else "waiting for you") in opened.subject
    assert not UNFILLED.search(opened.subject + opened.body)


def test_each_person_reads_the_inbox_in_their_own_language_on_one_server(
    client: TestClient, session: Session, settings: Settings
) -> None:
    task = waiting(session, settings)
    speaks(session, "es", "head.north")
    speaks(session, "en", "kam.north1")
    asked, the_norm = plain(norm(session) + 1), plain(norm(session))  # whole: written alike in both languages
    other = TestClient(client.app)
    sign_in(client, "head.north")
    sign_in(other, "kam.north1")
    for _ in range(2):  # one after the other, on the same server: nothing of one leaks into the other
        spanish, english = client.get("/").text, other.get("/").text
        assert '<html lang="es">' in spanish and "Bandeja de entrada" in spanish and "Cifra clave" in spanish
        assert (
            f'href="/tasks/{task.id}"' in spanish
            and f"solicita {asked} % frente a la norma {the_norm} %" in spanish
        )
        assert "1 abierta" in spanish and "Inbox" not in spanish
        assert '<html lang="en">' in english and "Inbox" in english and "Nothing waits for you." in english
        assert "0 open" in english and "Bandeja" not in english
        assert not UNFILLED.search(spanish + english)


def test_the_sign_in_page_and_a_person_without_a_language_of_their_own_follow_the_company(
    client: TestClient, session: Session, settings: Settings
) -> None:
    use_settings(settings.model_copy(update={"language": "es"}))
    page = client.get("/signin").text
    assert '<html lang="es">' in page and "Iniciar sesión" in page and "Modo de demostración" in page
    speaks(session, None, "head.north")
    sign_in(client, "head.north")
    assert "Bandeja de entrada" in client.get("/").text
    exposure = client.get("/customers/C0001").text
    assert "Riesgo de crédito" in exposure and "facturas abiertas" in exposure and "pedidos abiertos" in exposure
    assert re.search(r"<td class=\"num\">[0-9]{1,3}(\.[0-9]{3})*,[0-9]{2}</td>", exposure)  # 1.234,50
    speaks(session, "en", "head.north")  # their own language, from the next page on
    assert "Inbox" in client.get("/").text


def test_an_ambiguous_number_in_a_spanish_form_is_refused_in_words_and_nothing_is_decided(
    client: TestClient, session: Session, settings: Settings
) -> None:
    speaks(session, "es", "head.north")
    task = waiting(session, settings)
    sign_in(client, "head.north")
    form = {"csrf": csrf(client, f"/tasks/{task.id}"), "action": "counter", "discount_pct": "1.234"}
    answer = client.post(f"/tasks/{task.id}", data=form)
    assert answer.status_code == 400
    assert "Rechazado:" in answer.text and "discount_pct: 1.234 es ambiguo" in answer.text
    assert "puede significar 1234 o 1,234" in answer.text and "Decidido." not in answer.text
    unchosen = client.post(f"/tasks/{task.id}", data={"csrf": form["csrf"], "comment": "sin elegir"})
    assert (
        unchosen.status_code == 400
        and "Debe ser &#39;approve&#39;, &#39;reject&#39; o &#39;counter&#39;" in unchosen.text
    )
    session.expire_all()
    assert session.get_one(ApprovalTask, task.id).status == "pending"
    assert session.get_one(DiscountRequest, task.subject_id).granted_pct is None
