"""What the Prefect UI shows, in Spanish and in English: a decision's artifact in the company's language
(KAMFLOW_LANGUAGE) with its numbers and money as its readers write them, and the resume form — its titles, its
descriptions, its text — in the language of the person the run waits for, who may type "15,5" or "15.5"."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from prefect import get_client
from prefect.client.schemas.filters import ArtifactCollectionFilter, ArtifactCollectionFilterKey
from sqlalchemy import update

from flows.discount import discount_authorization
from flows.labels import artifact_key
from flows.order_credit import order_credit_check
from kamflow import i18n, reports
from kamflow.credit.orders import OrderIn
from kamflow.db import unit_of_work
from kamflow.discounts import PROCESS
from kamflow.models import Employee
from kamflow.settings import Settings, use_settings
from tests.flows.conftest import Runs, suspended
from tests.flows.test_credit import over_limit, settled
from tests.flows.test_discount import waiting
from tests.support import kam_and_norm

pytestmark = pytest.mark.flows


Speak = Callable[[i18n.Language], None]


@pytest.fixture
def company_speaks(settings: Settings) -> Iterator[Speak]:
    """Set the company's language (KAMFLOW_LANGUAGE) for this test; its own settings are given back after."""
    yield lambda language: use_settings(settings.model_copy(update={"language": language}))
    use_settings(settings)


def prefer(language: i18n.Language, *, role: str) -> None:
    """Everyone in `role` prefers `language`."""
    with unit_of_work() as session:
        session.execute(update(Employee).where(Employee.role == role).values(language=language))


def stored_form(run_id: UUID) -> tuple[dict[str, Any], str]:
    """The resume form the suspended run left for the UI to draw: its schema and its text."""
    with get_client(sync_client=True) as client:
        stored = client.filter_flow_run_input(
            flow_run_id=run_id, key_prefix="suspended", limit=100, exclude_keys=set()
        )
    [schema] = [json.loads(i.value) for i in stored if i.key.endswith("-schema")]
    [text] = [json.loads(i.value) for i in stored if i.key.endswith("-description")]
    return schema, text


def waiting_description(request_id: int) -> str:
    key = artifact_key(f"{PROCESS}-{request_id}-waiting")
    with get_client(sync_client=True) as client:
        by_key = ArtifactCollectionFilter(key=ArtifactCollectionFilterKey(any_=[key]))
        [found] = client.read_latest_artifacts(artifact_filter=by_key)
    return str(found.description)


WORDS = {
    "es": ("**Decidido:** ", "(al **jefe de departamento**)"),
    "en": ("**Decided:** ", "(to the **department head**)"),
}


def test_the_same_discount_decision_reads_in_spanish_and_in_english(runs: Runs, company_speaks: Speak) -> None:
    """The same request, escalated and countered by a head who types the counter-offer as they write numbers
    ("15,5" / "15.5"); the artifact is in the company's language, every placeholder filled. (The rules' reasons
    and the decision's outcome word come from the rule sets and the views, and are not asserted here.)"""
    _, norm = kam_and_norm()
    counter = norm + Decimal("0.5")
    written = {"es": reports.plain(counter).replace(".", ","), "en": reports.plain(counter)}
    shown = {"es": f"{written['es']} %", "en": f"{written['en']}%"}
    found: dict[str, str] = {}
    for language in ("es", "en"):
        company_speaks(language)
        prefer(language, role="department_head")
        run_id, view = waiting(runs, 2)
        runs.answer(
            run_id,
            task_id=view["task_id"],
            login=view["assignee"],
            action="counter",
            discount_pct=written[language],
        )
        state = runs.execute(discount_authorization, run_id)
        assert state.is_completed(), state
        assert state.result().granted_pct == counter
        report = runs.artifact(f"discount-request-{view['request_id']}")
        assert report is not None and "{" not in report and "}" not in report
        decided, to_whom = WORDS[language]
        assert decided in report and to_whom in report and shown[language] in report, report
        found[language] = report
    assert "Decided" not in found["es"] and "al **" not in found["en"]


@pytest.mark.parametrize(("company", "approver"), [("en", "es"), ("es", "en")])
def test_the_resume_form_is_in_the_language_of_the_person_it_waits_for(
    runs: Runs, company_speaks: Speak, company: i18n.Language, approver: i18n.Language
) -> None:
    company_speaks(company)
    prefer(approver, role="department_head")
    run_id, view = waiting(runs, 2)
    schema, text = stored_form(run_id)
    fields = schema["properties"]
    titles = (fields["action"]["title"], fields["approver"]["title"], fields["discount_pct"]["title"])
    head, task = view["assignee"], view["task_id"]
    if approver == "es":
        assert titles == ("Decisión", "Su usuario", "Contraoferta (%)")
        assert (
            "contraofertar" in fields["action"]["description"] and "coma" in fields["discount_pct"]["description"]
        )
        assert f"**Tarea {task}** para **{head}** (jefe de departamento), vence el " in text
        assert text.startswith(f"## Descuento {view['request_id']} para C0001: ")  # the subject, in Spanish too
    else:
        assert titles == ("Decision", "Your login", "Counter-offer (%)")
        assert f"**Task {task}** for **{head}** (department head), due " in text
        assert text.startswith(f"## Discount {view['request_id']} for C0001: ")
    assert fields["action"]["enum"] == [
        "approve",
        "reject",
        "counter",
    ]  # the values are the same in every language
    assert "{" not in text
    # the ops console's artifact of the wait is the company's
    assert (
        waiting_description(view["request_id"])
        == {"es": "En espera de", "en": "Waiting for"}[company] + f" {head}"
    )


def test_a_prepayment_typed_with_a_decimal_comma_is_in_the_spanish_report_as_spanish_money(
    runs: Runs, company_speaks: Speak
) -> None:
    company_speaks("es")
    prefer("es", role="credit_controller")
    run_id, state = runs.run(
        order_credit_check, order=OrderIn(customer="C0001", amount=over_limit(3000), requester="kam.north1")
    )
    assert suspended(state), state
    view = settled("order-credit-check", run_id)
    runs.answer(
        run_id, task_id=view["task_id"], login="credit", action="release_with_prepayment", amount="1234,50"
    )
    state = runs.execute(order_credit_check, run_id)
    assert state.is_completed() and state.result().status == "awaiting_prepayment"
    report = runs.artifact(f"order-credit-check-{view['check_id']}")
    assert report is not None and "{" not in report
    assert f"### Pedido {view['order']} de C0001 " in report and ": PENDIENTE DE PAGO ANTICIPADO" in report
    assert "Liberado contra un pago anticipado de **1.234,50\xa0€**." in report
    assert "dijeron **bloquear** (al **responsable de crédito**):" in report and "Registrado por " in report
