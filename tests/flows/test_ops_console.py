"""What the ops console (Prefect's UI) shows of a waiting run: its subject's name, tags to filter on (process,
customer, who it waits for, kept current through an escalation), an artifact of what it waits for, a refused
answer as the run's state message, and artifact keys of this installation."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

import pytest
from prefect import get_client
from prefect.client.schemas.filters import ArtifactCollectionFilter, ArtifactCollectionFilterKey
from sqlalchemy import update

from flows.discount import discount_authorization
from flows.labels import artifact_key
from flows.processes import approval_deadlines
from kamflow import clock
from kamflow.db import unit_of_work
from kamflow.discounts import PROCESS
from kamflow.installation import installation_id
from kamflow.models import ApprovalTask
from tests.flows.conftest import Runs, suspended
from tests.flows.test_discount import waiting

pytestmark = pytest.mark.flows


def run_of(run_id: UUID) -> Any:
    with get_client(sync_client=True) as client:
        return client.read_flow_run(run_id)


def waiting_artifact(request_id: int) -> Any:
    key = artifact_key(f"{PROCESS}-{request_id}-waiting")
    with get_client(sync_client=True) as client:
        by_key = ArtifactCollectionFilter(key=ArtifactCollectionFilterKey(any_=[key]))
        [found] = client.read_latest_artifacts(artifact_filter=by_key)
    return found


def test_a_waiting_run_is_named_and_tagged_after_its_subject_and_follows_its_task_up_the_line(runs: Runs) -> None:
    run_id, view = waiting(runs, 2)
    head, request_id = view["assignee"], view["request_id"]
    run = run_of(run_id)
    assert run.name == f"discount-{request_id}-C0001"
    assert {f"process:{PROCESS}", "customer:C0001", f"assignee:{head}"} <= set(run.tags)
    artifact = waiting_artifact(request_id)
    assert artifact.description == f"Waiting for {head}"
    assert f"Discount {request_id} for C0001: " in str(artifact.data) and f"**{head}**" in str(artifact.data)

    with unit_of_work() as session:  # the head lets the deadline pass
        session.execute(update(ApprovalTask).values(due_at=clock.now() - dt.timedelta(seconds=1)))
    [escalated] = approval_deadlines()
    with unit_of_work() as session:
        boss = session.get_one(ApprovalTask, escalated).owner.login
    assert boss != head
    tags = set(run_of(run_id).tags)
    assert f"assignee:{boss}" in tags and f"assignee:{head}" not in tags

    runs.answer(run_id, task_id=escalated, login=boss, code="AAAA-AAAA", action="approve")
    assert suspended(runs.execute(discount_authorization, run_id))
    with get_client(sync_client=True) as client:
        messages = [state.message or "" for state in client.read_flow_run_states(run_id)]
    refusal = f"Answer refused: wrong approval code for task {escalated} and {boss}"
    assert any(message.startswith(refusal) for message in messages)

    runs.answer(run_id, task_id=escalated, login=boss, action="approve")
    assert runs.execute(discount_authorization, run_id).is_completed()
    done = run_of(run_id)
    assert done.name == f"discount-{request_id}-C0001"
    assert not [tag for tag in done.tags if tag.startswith("assignee:")]  # it waits for nobody now


def test_artifact_keys_carry_the_installations_id() -> None:
    with unit_of_work() as session:
        installation = installation_id(session)
    assert len(installation) == 8 and artifact_key("discount-request-2") == f"discount-request-2-{installation}"
