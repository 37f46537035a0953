"""Discount requests: facts from the database, the rules' decision, what is stored and audited."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kamflow import audit, i18n, org, rulesets
from kamflow.discounts import service as discounts
from kamflow.discounts import views
from kamflow.discounts.tables import DiscountRequest, Promotion
from kamflow.errors import InvalidInput, NotFound, NotPermitted
from kamflow.models import RuleSetVersion
from kamflow.settings import Settings, use_settings
from tests.conftest import NOW, TODAY, customer


def ask(session: Session, code: str = "C0001", **changes: Any) -> discounts.DiscountRequestIn:
    values: dict[str, Any] = {
        "customer": code,
        "price_column": 3,
        "discount_pct": "5",
        "order_total": "150000",
        "requester": customer(session, code).kam.login,
        "requested_on": TODAY,
    }
    return discounts.DiscountRequestIn.model_validate(values | changes)


def norm(session: Session, code: str = "C0001", column: int = 3) -> Decimal:
    facts = discounts.facts(session, ask(session, code, price_column=column), on=TODAY)[2]
    return Decimal(facts["norm_pct"])


def test_within_the_norm_is_approved_and_audited_with_its_reasons(session: Session) -> None:
    row = discounts.submit(session, request=ask(session, discount_pct=norm(session)), flow_run_id="r1", now=NOW)
    assert row.status == "approved" and row.granted_pct == row.discount_pct
    [event] = audit.trail(session, subject_type="discount_request", subject_id=row.id)
    assert event.action == "discount_approve" and event.rules_version == row.rules_version
    assert event.reasons and all(r["text"] for r in event.reasons)
    assert session.get(RuleSetVersion, row.rules_version) is not None


def test_above_the_norm_waits_for_the_department_head(session: Session) -> None:
    row = discounts.submit(session, request=ask(session, discount_pct=norm(session) + 1), flow_run_id="r", now=NOW)
    assert row.status == "pending" and row.decision["role"] == "department_head"
    assert "above-norm" in [r["rule"] for r in row.decision["reasons"]]


def test_overdue_receivables_escalate(session: Session) -> None:
    small = norm(session, "C0002") / 2
    row = discounts.submit(session, request=ask(session, "C0002", discount_pct=small), flow_run_id="r", now=NOW)
    assert row.status == "pending"
    assert Decimal(row.decision["facts"]["overdue_amount"]) > 0


def test_above_the_ceiling_is_rejected(session: Session) -> None:
    row = discounts.submit(session, request=ask(session, discount_pct="60"), flow_run_id="r", now=NOW)
    assert row.status == "rejected" and row.decided_at is not None


def test_the_same_flow_run_records_one_request(session: Session) -> None:
    first = discounts.submit(session, request=ask(session), flow_run_id="same", now=NOW)
    again = discounts.submit(session, request=ask(session, discount_pct="1"), flow_run_id="same", now=NOW)
    assert first.id == again.id
    assert session.scalar(select(func.count()).select_from(DiscountRequest)) == 1


def test_an_unknown_customer_is_named(session: Session) -> None:
    with pytest.raises(NotFound) as err:
        discounts.facts(session, ask(session).model_copy(update={"customer": "C9999"}), on=TODAY)
    assert err.value.field == "customer"


def test_a_column_that_does_not_exist_is_named(session: Session) -> None:
    with pytest.raises(InvalidInput) as err:
        discounts.facts(session, ask(session, price_column=42), on=TODAY)
    assert err.value.field == "price_column" and "42" in err.value.message


def test_a_kam_may_not_ask_for_another_kams_customer(session: Session) -> None:
    owner = customer(session, "C0001").kam.login
    other = next(k for k in ("kam.north1", "kam.south1") if k != owner)
    with pytest.raises(NotPermitted) as err:
        discounts.facts(session, ask(session, requester=other), on=TODAY)
    assert err.value.field == "requester"
    boss = org.superiors(customer(session, "C0001").kam)[0].login
    discounts.facts(session, ask(session, requester=boss), on=TODAY)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("discount_pct", "0"),
        ("discount_pct", "100"),
        ("discount_pct", "-3"),
        ("discount_pct", "abc"),
        ("order_total", "0"),
        ("order_total", "ten"),
        ("price_column", "x"),
        ("customer", "ACME"),
    ],
)
def test_bad_values_name_their_field(session: Session, field: str, value: str) -> None:
    with pytest.raises(ValidationError) as err:
        ask(session, **{field: value})
    assert err.value.errors()[0]["loc"] == (field,)


def test_an_active_promotion_escalates_a_discount_on_top(session: Session) -> None:
    promo = session.scalars(select(Promotion).where(Promotion.valid_to >= TODAY)).first()
    assert promo is not None
    promo.customer_class = None
    row = discounts.submit(session, request=ask(session, discount_pct="1"), flow_run_id="p", now=NOW)
    assert "promotion" in [r["rule"] for r in row.decision["reasons"]] and row.status == "pending"


def test_the_counter_offer_must_be_lower(session: Session) -> None:
    row = discounts.submit(session, request=ask(session, discount_pct=norm(session) + 2), flow_run_id="c", now=NOW)
    check = discounts.check_answer(row)
    with pytest.raises(InvalidInput) as err:
        check(None, {"action": "counter", "discount_pct": str(row.discount_pct)})  # type: ignore[arg-type]
    assert err.value.field == "discount_pct"
    check(None, {"action": "counter", "discount_pct": "1"})  # type: ignore[arg-type]


def test_requested_on_defaults_to_the_company_today(session: Session) -> None:
    request = ask(session).model_copy(update={"requested_on": None})
    row = discounts.submit(
        session, request=request, flow_run_id="d", now=dt.datetime(2026, 3, 16, 23, 30, tzinfo=dt.UTC)
    )
    assert row.id > 0


def test_processes_decide_with_the_rule_files_of_the_configured_folder(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "company-rules"
    folder.mkdir()
    text = (settings.rules_dir / "discount.yaml").read_text()
    (folder / "discount.yaml").write_text(text.replace("value: 35}", "value: 4}", 1))
    use_settings(settings.model_copy(update={"rules_dir": folder}))
    row = discounts.submit(session, request=ask(session, discount_pct="5"), flow_run_id="own", now=NOW)
    assert row.status == "rejected" and "ceiling" in [r["rule"] for r in row.decision["reasons"]]


def test_the_same_discount_decision_shows_its_reasons_in_spanish_and_in_english(session: Session) -> None:
    asked = norm(session, "C0002") + Decimal("1.5")
    row = discounts.submit(session, request=ask(session, "C0002", discount_pct=asked), flow_run_id="r", now=NOW)
    facts = row.decision["facts"]
    with i18n.reading("es"):
        spanish, markdown = views.view(session, row.id), views.decision_markdown(row)
        overdue, total = i18n.number(facts["overdue_amount"], 2), i18n.number(facts["order_total"], 2)
        shown = f"{i18n.number(asked)} %"
    with i18n.reading("en"):
        english = views.view(session, row.id)
    assert [reason.model_dump() for reason in english.reasons] == row.decision["reasons"]  # as the rules made them
    assert [r.rule for r in spanish.reasons] == [r.rule for r in english.reasons] == ["above-norm", "overdue"]
    assert spanish.reasons[0].text.startswith(f"El descuento del {shown} supera la norma del ")
    assert spanish.reasons[1].text == f"El cliente tiene {overdue} vencidos; este pedido es de {total}"
    assert "," in shown and total == "150.000,00"
    assert all(r.text in markdown and "{" not in r.text for r in spanish.reasons)


def test_reasons_stay_as_stored_when_their_version_is_not_kept(session: Session) -> None:
    row = discounts.submit(session, request=ask(session), flow_run_id="r", now=NOW)
    unknown = row.decision | {"version": "0" * 64}
    assert rulesets.reasons_in(session, unknown, "es") == row.decision["reasons"]
    assert rulesets.reasons_in(session, row.decision, "es") != row.decision["reasons"]
