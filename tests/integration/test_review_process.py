"""The nightly credit review end to end: two shards through the CLI and the shard deployment `kamflow serve`
serves, and a failure in the shard a deployment run took coming back to the review. Its run name, artifacts and
scheduled night are tested in process in tests/flows/test_review.py."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from uuid import UUID

import pytest
from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from sqlalchemy import func, select, text, update

from flows.labels import artifact_key
from flows.review import LEVELS_KEY, PROGRESS_KEY, RISKS_KEY, SUMMARY_KEY, nightly_credit_review
from kamflow import clock, figures, ledger, migrate
from kamflow.credit import policy as credit_policy
from kamflow.db import get_engine, unit_of_work
from kamflow.demo_data import generate
from kamflow.models import Customer, Invoice
from kamflow.review import service
from kamflow.review.tables import CollectionTask, CreditReview, CustomerReview
from kamflow.settings import Settings
from tests.conftest import NOW, TODAY
from tests.integration.conftest import Stack, logs
from tests.integration.test_postgres import URL as PG_URL
from tests.integration.test_postgres import pg_settings  # noqa: F401  (the fixture)

pytestmark = pytest.mark.integration


def artifacts_of(flow_run_id: UUID) -> dict[str, Any]:
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return {(artifact.key or "").removesuffix(artifact_key("")): artifact for artifact in found}


def tasks_of(day: dt.date) -> int:
    with unit_of_work() as session:
        return session.scalar(select(func.count()).where(CollectionTask.business_date == day)) or 0


def test_two_shards_through_the_cli_and_the_served_deployment_create_nothing_twice(live: Stack) -> None:
    day = clock.today()  # a review may be dated today at the latest
    done = live.kamflow("review", "--as-of", day.isoformat(), "--shards", "2", "--json")
    assert done.returncode == 0, done.stdout + done.stderr + logs(live.settings.data_dir / "runner.log")
    view = json.loads(done.stdout)  # stdout is the answer alone; the progress went to stderr, in plain lines
    assert (view["status"], view["customers"], view["business_date"]) == ("completed", 40, day.isoformat())
    shown = [line for line in done.stderr.splitlines() if line.startswith(f"credit review of {day}")]
    assert shown[0] == f"credit review of {day} …" and shown[-1].startswith(f"credit review of {day}: 100%, done")
    flow_run_id = UUID(view["flow_run_id"])
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(flow_run_id)
        tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
        children = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(parent_task_run_id={"any_": [t.id for t in tasks]})
        )
    assert run.deployment_id is not None and run.name == f"credit-review-{day}"
    # shard 0 in the review's own process; shard 1 started by its task as a run of the shard deployment
    [shard_task] = [t for t in tasks if t.name.startswith("shard-")]
    assert shard_task.name == "shard-1-of-2" and shard_task.state is not None and shard_task.state.is_completed()
    assert {c.name: c.deployment_id is not None for c in children} == {
        f"credit-review-{day}-shard-0-of-2": False,
        f"credit-review-{day}-shard-1-of-2": True,
    }
    assert all(c.state is not None and c.state.is_completed() for c in children)
    assert set(artifacts_of(flow_run_id)) >= {PROGRESS_KEY, LEVELS_KEY, RISKS_KEY, SUMMARY_KEY}

    made = tasks_of(day)
    again = nightly_credit_review(business_date=day, shards=1, return_state=True)  # the same night again
    assert again.is_completed(), again.message
    assert tasks_of(day) == made
    with unit_of_work() as session:
        assert session.scalar(select(func.count()).where(CreditReview.business_date == day)) == 1


def test_a_failed_review_is_a_failed_run_naming_the_customer_that_broke_it(live: Stack) -> None:
    """The customer's shard is a deployment run (its id is odd: shard 1 of 2): its failure comes back to the
    review run from the database, naming the customer."""
    day = clock.today() + dt.timedelta(days=2)
    with unit_of_work() as session:
        invoice = session.scalars(
            select(Invoice).join(Customer).where(Customer.code == "C0003").order_by(Invoice.id)
        ).first()
        assert invoice is not None and invoice.customer_id % 2 == 1
        amount = invoice.amount
        session.execute(text("UPDATE invoices SET amount = 1e999 WHERE id = :id"), {"id": invoice.id})  # corrupt
        figures.refresh(session, {invoice.customer_id})  # what an SQL change outside kamflow needs (README)
    try:
        state = nightly_credit_review(business_date=day, shards=2, return_state=True)
    finally:
        with unit_of_work() as session:
            session.execute(update(Invoice).where(Invoice.id == invoice.id).values(amount=amount))
            figures.refresh(session, {invoice.customer_id})
    assert state.is_failed() and state.message and "customer C0003" in state.message
    with unit_of_work() as session:
        review = session.scalars(select(CreditReview).where(CreditReview.business_date == day)).one()
        assert review.status == "failed" and review.error and "C0003" in review.error


@pytest.mark.postgres
@pytest.mark.skipif(PG_URL is None, reason="set KAMFLOW_TEST_POSTGRES_URL to a PostgreSQL server")
def test_the_review_agrees_with_the_ledger_on_postgresql(pg_settings: Settings) -> None:  # noqa: F811
    migrate.upgrade(pg_settings)
    generate(get_engine(pg_settings), customers=20, seed=7, today=TODAY)
    with unit_of_work() as session:
        service.start_review(session, as_of=TODAY, shards=2, now=NOW)
    for shard in range(2):
        with unit_of_work() as session:
            service.run_review(session, as_of=TODAY, shard=shard, shards=2, now=NOW)
    with unit_of_work() as session:
        summary = service.finish_review(session, as_of=TODAY, now=NOW)
        grace = credit_policy.current().grace_days
        owed = {row.customer_id: row for row in session.execute(ledger.receivables(TODAY, grace_days=grace))}
        found = session.scalars(select(CustomerReview)).all()
    assert summary.totals.customers == len(found) == 20 and summary.tasks
    for row in found:
        theirs = owed.get(row.customer_id)
        assert row.dunnable == (theirs.overdue_amount if theirs else 0)
        assert row.not_due + row.overdue == (theirs.open_amount if theirs else 0)
