"""kamflow's HTTP API under KAMFLOW_AUTH=required, in process (FastAPI's test client, the real application): a
person signs in for a token and every operation proves them by it; refusals are 401 (sign-in) or 403 (access),
audited as the CLI's are; the answer carries the views' data and their text."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from kamflow import clock, customers, org
from kamflow.app.server import create_app
from kamflow.db import unit_of_work
from kamflow.discounts import service as discounts
from kamflow.people import passwords
from kamflow.settings import Settings
from tests.conftest import NOW
from tests.support import approval_code
from tests.unit.credit.test_orders import blocked_order
from tests.unit.people.conftest import PASSWORD, events
from tests.unit.test_processes import waiting_discount


@pytest.fixture
def api(required: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(required)) as client:
        yield client


def with_password(*logins: str) -> None:
    with unit_of_work() as session:
        for login in logins:
            passwords.set_password(session, org.employee(session, login), PASSWORD, actor="setup", now=NOW)


def token_of(api: TestClient, login: str) -> str:
    with_password(login)
    signed = api.post("/api/login", json={"login": login, "password": PASSWORD})
    assert signed.status_code == 200, signed.text
    assert signed.json()["login"] == login
    return str(signed.json()["token"])


def perform(
    api: TestClient,
    name: str,
    token: str | None,
    *,
    as_: str | None = None,
    language: str | None = None,
    **params: Any,
) -> httpx.Response:
    headers = ({"Authorization": f"Bearer {token}"} if token else {}) | (
        {"Accept-Language": language} if language else {}
    )
    answer: httpx.Response = api.post(f"/api/ops/{name}", json={"as": as_, "params": params}, headers=headers)
    return answer


def test_a_wrong_password_is_401_and_audited(api: TestClient, required: Settings) -> None:
    with_password("head.north")
    refused = api.post("/api/login", json={"login": "head.north", "password": "not the password"})
    assert refused.status_code == 401
    assert refused.json() == {"error": "not_permitted", "field": "password", "message": "wrong login or password"}
    assert [e.detail["reason"] for e in events(required, "sign_in_failed")] == ["wrong_password"]


def test_without_a_live_token_every_operation_is_401_and_audited(api: TestClient, required: Settings) -> None:
    token = token_of(api, "head.north")
    assert perform(api, "tasks", None).status_code == 401
    assert perform(api, "tasks", "not-a-token").status_code == 401
    assert api.post("/api/logout", headers={"Authorization": f"Bearer {token}"}).json() == {
        "signed_out": "head.north"
    }
    revoked = perform(api, "tasks", token)
    assert revoked.status_code == 401 and revoked.json()["field"] == "token"
    assert "revoked" in revoked.json()["message"]
    reasons = [e.detail["reason"] for e in events(required, "sign_in_refused")]
    assert reasons == ["no_token", "unknown_token", "revoked"]


def test_an_approver_sees_their_own_code_and_the_requester_may_not_decide(
    api: TestClient, required: Settings, session: Session
) -> None:
    row, task = waiting_discount(session, required)
    session.commit()
    head = token_of(api, task.owner.login)
    shown = perform(api, "tasks", head)
    assert shown.status_code == 200, shown.text
    [line] = [t for t in shown.json()["data"] if t["task_id"] == task.id]
    assert line["approval_code"] == approval_code(task.id, task.owner.login)
    assert f"task {task.id}: " in shown.json()["text"]

    kam = token_of(api, row.requester.login)
    refused = perform(api, "decide", kam, task=task.id, action="approve")
    assert refused.status_code == 403 and refused.json()["field"] == "approver", refused.text
    with unit_of_work() as fresh:
        assert discounts.get(fresh, row.id).status == "pending"
    kam_tasks = perform(api, "tasks", kam).json()
    assert kam_tasks == {"data": [], "text": "no pending tasks"}


def test_a_kam_reading_another_kams_customer_is_403_and_audited(api: TestClient, required: Settings) -> None:
    other = token_of(api, "kam.south1")
    refused = perform(api, "credit exposure", other, customer="C0001")
    assert refused.status_code == 403 and refused.json()["field"] == "customer"
    assert [e.actor for e in events(required, "access_refused")] == ["kam.south1"]

    kam = "kam.north1"  # C0001's KAM
    seen = perform(api, "credit exposure", token_of(api, kam), customer="C0001")
    assert seen.status_code == 200, seen.text
    assert seen.json()["data"]["customer"] == "C0001" and "C0001" in seen.json()["text"]
    assert [e.actor for e in events(required, "customer_read")] == [kam]


def test_bad_params_are_400_naming_the_field_and_an_unknown_operation_404(api: TestClient) -> None:
    token = token_of(api, "head.north")
    bad = perform(api, "discount show", token, request_id="x")
    assert bad.status_code == 400 and bad.json()["field"] == "request_id", bad.text
    unknown = perform(api, "drop tables", token)
    assert unknown.status_code == 404 and unknown.json()["field"] == "operation"
    assert {"tasks", "decide", "discount request", "credit exposure"} <= set(api.get("/api/ops").json())


def test_an_order_is_shown_to_those_who_may_see_its_customer(
    api: TestClient, required: Settings, session: Session
) -> None:
    check = blocked_order(session)
    session.commit()
    refused = perform(api, "order show", token_of(api, "kam.south1"), check_id=check.id)
    assert refused.status_code == 403 and refused.json()["field"] == "customer"
    shown = perform(api, "order show", token_of(api, "credit"), check_id=check.id)
    assert shown.status_code == 200, shown.text
    assert shown.json()["data"]["check_id"] == check.id and shown.json()["data"]["status"] == "blocked"
    assert shown.json()["text"].strip()


def test_the_text_is_in_the_language_asked_else_the_token_persons_and_the_data_in_none_but_reasons(
    api: TestClient, required: Settings, session: Session
) -> None:
    check = blocked_order(session)
    org.employee(session, "credit").language = "es"
    session.commit()
    token = token_of(api, "credit")
    spanish = perform(api, "order show", token, check_id=check.id).json()
    english = perform(api, "order show", token, language="en-GB,en;q=0.9", check_id=check.id).json()
    assert spanish["text"].startswith(f"pedido {check.order.number} de C0001") and "BLOQUEADO" in spanish["text"]
    assert english["text"].startswith(f"order {check.order.number} for C0001") and "BLOCKED" in english["text"]
    reasons = [answer["data"].pop("reasons") for answer in (spanish, english)]  # in the language asked for
    assert spanish["data"] == english["data"]
    assert [r["rule"] for r in reasons[0]] == [r["rule"] for r in reasons[1]]
    assert reasons[0][0]["text"].startswith("El riesgo") and reasons[1][0]["text"].startswith("Exposure")
    refused = perform(api, "order show", token_of(api, "kam.south1"), language="es", check_id=check.id).json()
    assert refused["message"] == "kam.south1 no puede ver al cliente C0001"


def test_a_promise_to_pay_is_recorded_by_the_customers_kam_alone(api: TestClient, required: Settings) -> None:
    next_week = (clock.today() + dt.timedelta(days=7)).isoformat()
    promise = {"customer": "C0002", "amount": "1250.00", "date": next_week}
    with unit_of_work() as session:
        kam, other = customers.by_code(session, "C0002").kam.login, "kam.south1"
    assert kam != other
    refused = perform(api, "collection promise", token_of(api, other), **promise)
    assert refused.status_code == 403 and refused.json()["field"] == "requester", refused.text
    recorded = perform(api, "collection promise", token_of(api, kam), **promise)
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["data"]["customer"] == "C0002" and "1,250.00 EUR" in recorded.json()["text"]
