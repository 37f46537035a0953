"""The nightly credit review run in this process, one shard: named after its date, with its artifacts checked
through Prefect's client (key, type, rows); a scheduled run given no date reviews the night it was scheduled
for."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.states import Crashed, Running, Scheduled
from sqlalchemy import select

from flows.labels import artifact_key
from flows.review import (
    AGEING_KEY,
    DECISIONS_KEY,
    LEVELS_KEY,
    PROGRESS_KEY,
    RETURNS_KEY,
    RISKS_KEY,
    SUMMARY_KEY,
    nightly_credit_review,
    refuse_running,
)
from kamflow import clock, decision_register, ledger
from kamflow.db import unit_of_work
from kamflow.errors import InvalidInput
from kamflow.models import CreditNote, Customer
from kamflow.review import service
from kamflow.review.tables import CreditReview
from kamflow.settings import Settings
from tests.flows.conftest import Runs

pytestmark = pytest.mark.flows


def artifacts_of(flow_run_id: UUID) -> dict[str, Any]:
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return {(artifact.key or "").removesuffix(artifact_key("")): artifact for artifact in found}


def rows(artifact: Any) -> list[dict[str, Any]]:
    data = json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data
    assert isinstance(data, list)
    return data


def test_the_review_is_named_after_its_date_and_publishes_its_artifacts(runs: Runs, settings: Settings) -> None:
    day = clock.today()
    with unit_of_work() as session:  # goods returned on an open invoice five days ago
        balances = ledger.invoice_balances(day, open_only=True).subquery()
        invoice_id, customer_id = session.execute(select(balances.c.invoice_id, balances.c.customer_id)).first()  # type: ignore[misc]
        session.add(
            CreditNote(
                number="CN-T1",
                invoice_id=invoice_id,
                issued_on=day - dt.timedelta(days=5),
                amount=Decimal("1.00"),
                reason="returned",
            )
        )
        code = session.get_one(Customer, customer_id).code
    run_id, state = runs.run(nightly_credit_review, business_date=day.isoformat())
    assert state.is_completed(), state.message
    with get_client(sync_client=True) as client:
        assert client.read_flow_run(run_id).name == f"credit-review-{day}"

    found = artifacts_of(run_id)
    assert {
        key: found[key].type
        for key in (PROGRESS_KEY, LEVELS_KEY, RISKS_KEY, AGEING_KEY, RETURNS_KEY, DECISIONS_KEY, SUMMARY_KEY)
    } == {
        PROGRESS_KEY: "progress",
        LEVELS_KEY: "table",
        RISKS_KEY: "table",
        AGEING_KEY: "table",
        RETURNS_KEY: "table",
        DECISIONS_KEY: "table",
        SUMMARY_KEY: "markdown",
    }
    assert found[PROGRESS_KEY].data == 100.0
    levels = rows(found[LEVELS_KEY])
    assert [row["level"] for row in levels] == [0, 1, 2, 3, 4] and sum(row["customers"] for row in levels) == 40
    risks = rows(found[RISKS_KEY])
    assert 0 < len(risks) <= 10 and all(row["reasons"] and row["customer"].startswith("C") for row in risks)
    assert f"# Credit review of {day}: completed" in found[SUMMARY_KEY].data
    ageing = rows(found[AGEING_KEY])
    assert [row["name"] for row in ageing] == [
        *(f"total of {kam}" for kam in ("kam.north1", "kam.north2", "kam.south1", "kam.south2")),
        "total",
    ]
    assert {"not due", "1-30 days", "over 90 days", "past due", "total"} <= set(ageing[-1])
    credited = rows(found[RETURNS_KEY])
    assert [(row["customer"], row["returned"]) for row in credited if row["customer"]] == [(code, "1.00")]
    assert (credited[-1]["name"], credited[-1]["total"]) == ("total", "1.00")
    with unit_of_work() as session:
        register = decision_register.register(session, start=day, end=day, tz=settings.tz, kams=None, kam=None)
    assert register.decisions and rows(found[DECISIONS_KEY]) == register.table().records()


def test_a_scheduled_run_started_late_reviews_the_night_it_was_scheduled_for(
    runs: Runs, settings: Settings
) -> None:
    """A nightly run carries no date: retried or started after midnight, it still reviews its own night."""
    night = clock.today() - dt.timedelta(days=1)
    scheduled = dt.datetime.combine(night, dt.time(2), tzinfo=settings.tz)
    run_id = runs.start(nightly_credit_review, state=Scheduled(scheduled_time=scheduled))
    state = runs.execute(nightly_credit_review, run_id)
    assert state.is_completed(), state.message
    with unit_of_work() as session:
        review = session.scalars(select(CreditReview).where(CreditReview.flow_run_id == str(run_id))).one()
    assert review.business_date == night and review.status == "completed"


def test_a_review_dated_ahead_is_refused_from_the_prefect_ui_as_from_the_cli(runs: Runs) -> None:
    """The Prefect UI's custom run (and the schedule) pass only through the flow: the date is checked there too."""
    run_id = runs.start(nightly_credit_review, business_date="2099-01-01")
    state = runs.execute(nightly_credit_review, run_id)
    assert state.is_failed() and "2099-01-01 is after" in (state.message or "")
    with unit_of_work() as session:
        assert session.scalars(select(CreditReview)).all() == []


def test_a_review_of_a_date_another_run_is_reviewing_is_refused_until_that_run_ends(runs: Runs) -> None:
    """Two runs of one date would reopen each other's shards: the second is refused while the first is on its way
    (here Running with no process, as a killed serve leaves it), from the flow and from the CLI alike, and runs
    once the first has ended (Crashed, as a restarted serve or the heartbeat automation marks it)."""
    day = clock.today()
    first = runs.start(nightly_credit_review, business_date=day.isoformat())
    with unit_of_work() as session:
        service.start_review(session, as_of=day, shards=1, now=clock.now(), flow_run_id=str(first))
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(first, Running(), force=True)
        name = client.read_flow_run(first).name

    second = runs.start(nightly_credit_review, business_date=day.isoformat())
    state = runs.execute(nightly_credit_review, second)
    assert state.is_failed() and f"already running as flow run {name} (Running)" in (state.message or "")
    with pytest.raises(InvalidInput, match="cancel that run in the Prefect UI"):
        refuse_running(day, this_run=None)
    with unit_of_work() as session:
        assert service.running_run(session, day) == str(first)  # the refused run changed nothing

    with get_client(sync_client=True) as client:
        client.set_flow_run_state(first, Crashed(), force=True)
    third = runs.start(nightly_credit_review, business_date=day.isoformat())
    assert runs.execute(nightly_credit_review, third).is_completed()
    with unit_of_work() as session:
        review = session.scalars(select(CreditReview).where(CreditReview.business_date == day)).one()
    assert (review.status, review.flow_run_id) == ("completed", str(third))
