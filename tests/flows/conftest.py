"""The in-process lane: each flow's logic runs in this process against the session's Prefect API (Prefect's test
harness, `prefect_api`), on a private copy of a demo-company database. No runner, no mock.

A run starts as a served one does: created through its flow's deployment (Prefect suspends only a run that has
one), then executed here by Prefect's flow engine (`run_flow`, what a runner does in its child process) until it
ends or suspends. An answer resumes it through kamflow's run control (`flows.runs.resume_waiting`, the path of
`kamflow decide` and the UI's form); executed here again, the flow re-runs from the top, finds its task in the
database and reads the answer. With a warm wait (`warm_wait_seconds`), an answer given while the execution still
watches its suspended run goes on in that same execution."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from prefect import Flow, get_client
from prefect.client.schemas.filters import ArtifactCollectionFilter, ArtifactCollectionFilterKey
from prefect.client.schemas.objects import State
from prefect.deployments.runner import RunnerDeployment
from prefect.exceptions import Pause
from prefect.flow_engine import run_flow
from prefect.types.entrypoint import EntrypointType
from pydantic import BaseModel
from typer.testing import CliRunner

from flows.discount import discount_authorization
from flows.documents import document_approval
from flows.labels import artifact_key
from flows.order_credit import credit_limit_change, order_credit_check
from flows.review import nightly_credit_review
from flows.runs import resume_waiting
from flows.solvency import solvency_check
from kamflow import clock, migrate
from kamflow.app.cli import app
from kamflow.db import dispose_engines, get_engine
from kamflow.demo_data import generate
from kamflow.settings import Settings, use_settings
from tests.support import approval_code

IN_PROCESS = "in-process"
"""The deployments' name here: no `kamflow serve` serves it, so no runner ever takes these runs."""

FLOWS: tuple[Flow[..., Any], ...] = (
    discount_authorization,
    document_approval,
    order_credit_check,
    credit_limit_change,
    solvency_check,
    nightly_credit_review,
)


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo company as of the real today, for the flows read the date from the clock."""
    folder = tmp_path_factory.mktemp("flows-template")
    settings = Settings(data_dir=folder)
    migrate.upgrade(settings)
    generate(get_engine(settings), customers=40, seed=7, today=clock.today())
    dispose_engines()
    return folder / "kamflow.db"


def deploy(flow: Flow[..., Any], name: str) -> UUID:
    """The flow's deployment under `name`, applied: its id. Called outside any event loop, Prefect's sync-or-async
    methods run synchronously and return their value, not a coroutine."""
    deployment = flow.to_deployment(name=name, entrypoint_type=EntrypointType.MODULE_PATH)
    assert isinstance(deployment, RunnerDeployment)
    deployment_id = deployment.apply()
    assert isinstance(deployment_id, UUID)
    return deployment_id


@pytest.fixture(scope="session")
def deployments(prefect_api: str) -> dict[str, UUID]:
    """Each flow's deployment, applied once per session, by flow name."""
    return {flow.name: deploy(flow, IN_PROCESS) for flow in FLOWS}


@pytest.fixture
def settings(tmp_path: Path, template_db: Path, prefect_api: str) -> Iterator[Settings]:
    """Settings on a private copy of the demo company, pointed at the session's Prefect API. A kamflow command run
    in this process configures Prefect through the environment: the environment is given back afterwards. A run
    that waits for a person gives its process back at once (no warm wait) unless a test asks for one."""
    shutil.copy(template_db, tmp_path / "kamflow.db")
    settings = Settings(
        data_dir=tmp_path, prefect_api_url=prefect_api, approval_deadline_hours=48, warm_wait_seconds=0
    )
    use_settings(settings)
    saved = dict(os.environ)
    yield settings
    os.environ.clear()
    os.environ.update(saved)
    dispose_engines()


@dataclass
class Runs:
    """Flow runs started through their deployments and executed in this process."""

    deployments: dict[str, UUID]

    def start(self, flow: Flow[..., Any], *, state: State | None = None, **parameters: Any) -> UUID:
        """Create a run of the flow's deployment, as `kamflow` or a schedule does (in `state`, default Scheduled
        now); nothing executes it yet."""
        given = {k: v.model_dump(mode="json") if isinstance(v, BaseModel) else v for k, v in parameters.items()}
        with get_client(sync_client=True) as client:
            run = client.create_flow_run_from_deployment(
                self.deployments[flow.name], parameters=given, state=state
            )
        return run.id

    def execute(self, flow: Flow[..., Any], run_id: UUID) -> State:
        """Execute the run here, as a runner's child process would, until it ends or suspends; its state."""
        with get_client(sync_client=True) as client:
            run = client.read_flow_run(run_id)
        try:
            return run_flow(flow, flow_run=run, return_type="state")  # type: ignore[return-value]
        except Pause as suspended:
            assert suspended.state is not None
            return suspended.state

    def run(self, flow: Flow[..., Any], **parameters: Any) -> tuple[UUID, State]:
        run_id = self.start(flow, **parameters)
        return run_id, self.execute(flow, run_id)

    def state(self, run_id: UUID) -> State:
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(run_id).state
        assert state is not None
        return state

    def answer(self, run_id: UUID, *, task_id: int, login: str, code: str | None = None, **fields: Any) -> None:
        """Resume the waiting run with `login`'s typed answer to the task (their own approval code unless `code`
        is given), as `kamflow decide` and the UI's form do."""
        run_input = {
            "approver": login,
            "approval_code": approval_code(task_id, login) if code is None else code,
            "task": task_id,
            **fields,
        }
        resume_waiting(run_id, run_input=run_input, what=f"task {task_id}")

    def artifact(self, key: str) -> str | None:
        """The latest artifact under the key (made this installation's), as the UI shows it."""
        keys = [artifact_key(key)]
        with get_client(sync_client=True) as client:
            found = client.read_latest_artifacts(
                artifact_filter=ArtifactCollectionFilter(key=ArtifactCollectionFilterKey(any_=keys))
            )
        return str(found[0].data) if found else None


@pytest.fixture
def runs(settings: Settings, deployments: dict[str, UUID]) -> Runs:
    return Runs(deployments)


def suspended(state: State) -> bool:
    """The run waits, suspended: no process holds it."""
    return state.is_paused() and state.name == "Suspended"


def cli(*args: str) -> tuple[int, Any]:
    """A `kamflow` command run in this process with `--json`: its exit code and what it printed. Only commands that
    need no runner: reads, and refusals that happen before a run is started or resumed."""
    done = CliRunner().invoke(app, [*args, "--json"])
    return done.exit_code, json.loads(done.stdout)
