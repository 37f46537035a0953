"""A subject's history, "my requests" and the decision register in Spanish and in English: every placeholder
filled, the reader's words, and numbers, money and dates written their way — on a discount a department head
countered."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from kamflow import decision_register, i18n
from kamflow.discounts import PROCESS
from kamflow.settings import get_settings
from kamflow.started import started_by
from kamflow.timeline import timeline
from tests.conftest import NOW, TODAY
from tests.unit.test_requests import counter, escalated


def filled(text: str) -> bool:
    return "{" not in text and "}" not in text


def test_the_history_of_a_countered_discount_in_spanish_and_english(session: Session) -> None:
    row, task = escalated(session)
    counter(session, row, task, "12.5")
    with i18n.reading("es"):
        spanish = [step.text() for step in timeline(session, process=PROCESS, subject_id=row.id)]
    english = [step.text() for step in timeline(session, process=PROCESS, subject_id=row.id)]
    assert all(filled(line) for line in spanish + english)
    rules, opened, decided = spanish
    assert rules.startswith(f"{TODAY:%d/%m/%Y} ") and "las reglas dijeron elevar" in rules
    assert f"[versión {row.rules_version[:12]}]" in rules
    assert f"tarea {task.id} abierta para head.north (jefe de departamento)" in opened
    assert f"CONTRAOFERTA 12,5 % (tarea {task.id})" in decided and "'Meet halfway.'" in decided
    assert english[0].startswith(f"{TODAY.isoformat()} ") and "the rules said escalate" in english[0]
    assert f"COUNTERED 12.5% (task {task.id})" in english[2]


def test_my_requests_in_spanish_and_english(session: Session) -> None:
    row, task = escalated(session)

    def mine() -> str:
        [found] = [s for s in started_by(session, row.requester.login) if s.subject_id == row.id]
        assert found.process == PROCESS
        return found.text()

    with i18n.reading("es"):
        waiting = mine()
    counter(session, row, task, "12.5")
    with i18n.reading("es"):
        decided = mine()
    english = mine()
    assert all(filled(text) for text in (waiting, decided, english))
    assert (row.discount_pct, row.order_total, row.currency) == (Decimal(17), Decimal(150000), "EUR")
    assert f"Descuento 17 % en la columna {row.price_column} — C0001, 17 % solicitado" in waiting
    assert "pedido 150.000,00 EUR: PENDIENTE" in waiting
    assert f"esperando a head.north, tarea {task.id}" in waiting and f"abierto el {TODAY:%d/%m/%Y} " in waiting
    assert "12,5 % concedido" in decided and "CONTRAOFERTA 12,5 % por " in decided
    assert "12.5% granted" in english and f"opened {TODAY.isoformat()} " in english and ": APPROVED" in english


def test_the_decision_register_names_the_subject_and_the_outcome_in_the_reader_s_words(session: Session) -> None:
    row, task = escalated(session)
    counter(session, row, task, "12.5")

    def lines() -> list[tuple[str | None, ...]]:
        view = decision_register.register(
            session, start=TODAY, end=TODAY, tz=get_settings().tz, kams=None, kam=None
        )
        return [line.cells() for line in view.decisions if line.subject_id == row.id]

    with i18n.reading("es"):
        spanish = lines()
    english = lines()
    assert [(cells[2], cells[4]) for cells in spanish] == [
        (f"solicitud de descuento {row.id}", "elevar"),
        (f"solicitud de descuento {row.id}", "CONTRAOFERTA"),
    ]
    assert [(cells[2], cells[4]) for cells in english] == [
        (f"discount request {row.id}", "escalate"),
        (f"discount request {row.id}", "COUNTERED"),
    ]
    assert spanish[0][0] is not None and spanish[0][0].startswith(f"{TODAY:%d/%m/%Y} ")


def test_the_register_reads_the_outcome_at_the_end_of_each_action() -> None:
    def outcome(action: str, by_rules: bool) -> str:
        line = decision_register.DecisionLine(
            at=NOW,
            actor="someone",
            subject_type="order_credit_check",
            subject_id=1,
            customer="C0001",
            action=action,
            reasons=[],
            rules_version="v" if by_rules else None,
        )
        return line.outcome()

    asked = [
        ("order_release_with_prepayment", False),
        ("collection_propose_limit_change", True),
        ("order_released_on_recheck", False),
        ("document_returned", False),
    ]
    with i18n.reading("es"):
        spanish = [outcome(action, by_rules) for action, by_rules in asked]
    assert spanish == [
        "LIBERADO CON ANTICIPO",
        "proponer cambio de límite",
        "pedido liberado al volver a comprobarlo",
        "DEVUELTO",
    ]
    assert [outcome(action, by_rules) for action, by_rules in asked] == [
        "RELEASED WITH PREPAYMENT",
        "propose limit change",
        "order released on recheck",
        "RETURNED",
    ]
