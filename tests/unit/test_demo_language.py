"""`KAMFLOW_LANGUAGE=es kamflow demo` prints its outcomes in Spanish. The whole demo starts a Prefect server (about
a minute), so this runs the demo's own story in-process instead: its requests (`demo.plan`) decided by the rules
on the demo company, the escalated ones answered as the demo answers them (`demo.answers`) the way its flow does
(open the task, decide, apply), and the outcomes printed by the demo's own summary (`DemoSummary.text`) — in
Spanish with KAMFLOW_LANGUAGE=es, in English by default."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from kamflow import approvals, discounts, i18n
from kamflow.app import demo
from kamflow.discounts import service as discount_requests
from kamflow.discounts import views as discount_views
from kamflow.settings import Settings, use_settings
from tests.conftest import NOW, TODAY, customer
from tests.unit.test_discounts import norm


def outcomes(session: Session, settings: Settings) -> list[demo.Outcome]:
    """The demo's requests as they end: decided by the rules, or answered by the department head."""
    given = iter(demo.answers(norm(session)))
    ended = []
    for ask in demo.plan(norm(session), norm(session, "C0002")):
        request = ask.request(customer(session, ask.customer).kam.login).model_copy(update={"requested_on": TODAY})
        row = discount_requests.submit(session, request=request, flow_run_id=None, now=NOW)
        escalated = row.status == "pending"
        if escalated:
            task = approvals.open_task(
                session,
                process=discounts.PROCESS,
                subject_id=row.id,
                title=f"Discount for {row.customer.code}",
                explanation="",
                role=row.decision["role"],
                requester=row.requester,
                flow_run_id=None,
                now=NOW,
                deadline=settings.approval_deadline,
            )
            answer = next(given)
            approvals.decide(
                session,
                task=task,
                login=task.owner.login,
                action=answer.action,
                comment=answer.comment,
                payload=answer.model_dump(exclude_none=True),
                check=discount_requests.check_answer(row),
                now=NOW,
                on=TODAY,
            )
            discount_requests.apply_answer(session, subject_id=row.id, task_id=task.id, now=NOW)
        shown = discount_views.view(session, row.id)
        ended.append(demo.Outcome(label=ask.label, escalated=escalated, request=shown))
    return ended


def printed(session: Session, settings: Settings) -> str:
    """What the demo prints of its outcomes, in the company's language (KAMFLOW_LANGUAGE)."""
    ended = outcomes(session, settings)
    return demo.DemoSummary(
        customers=200,
        invoices=2154,
        outcomes=ended,
        rules_version=ended[0].request.rules_version,
        prefect_home="/tmp/prefect",
        prefect_ui="http://127.0.0.1:4200",
        workspace="http://127.0.0.1:8000/",
    ).text()


@pytest.mark.parametrize("language", ["es", "en"])
def test_the_demo_prints_its_outcomes_in_the_company_s_language(
    session: Session, settings: Settings, language: i18n.Language
) -> None:
    use_settings(settings.model_copy(update={"language": language}))  # KAMFLOW_LANGUAGE
    try:
        assert i18n.current() == language
        text = printed(session, settings)
    finally:
        use_settings(settings)
    lines = text.splitlines()
    assert [line.split(" (")[1].split(")")[0] for line in lines if line.startswith("#")] == [
        {"es": "dentro de la norma", "en": "within the norm"}[language],
        {"es": "por encima de la norma", "en": "above the norm"}[language],
        {"es": "de nuevo por encima de la norma", "en": "above the norm again"}[language],
        {"es": "cliente con deuda vencida", "en": "customer with overdue debt"}[language],
        {"es": "por encima del techo", "en": "above the ceiling"}[language],
    ]
    assert "{" not in text
    if language == "es":
        assert (
            lines[0] == "kamflow demo — 200 clientes, 2.154 facturas; los jefes de departamento deciden lo elevado"
        )
        asked = next(line for line in lines if "dentro de la norma" in line)
        assert " pidió " in asked and asked.endswith("APROBADO por las reglas, concedido 13 %")
        assert "pidió 45 % (por encima del techo): RECHAZADO por las reglas" in text
        assert "cada decisión está en el registro de auditoría" in text and "Espacio de trabajo" in text
    else:
        assert lines[0] == "kamflow demo — 200 customers, 2,154 invoices; department heads decide escalations"
        assert "asked 45% (above the ceiling): REJECTED by the rules" in text
