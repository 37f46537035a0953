"""The recovery sweep: every open task is tied to a live waiting run, and kamflow makes it so.

`kamflow serve` runs it from its start and every 10 s; the deadlines flow (`approval_deadlines`) runs it too, which
is how the workers of the production shape run it. It reads the states of the runs of every waiting task
(`kamflow.recovery.waiting_tasks`) in one call to Prefect's API per 200 runs and brings back each run that no
process will carry on:

- cancelled (the Prefect UI's Cancel, a person's deliberate act): nobody will decide its subject — its tasks and
  the subject close as cancelled (`kamflow.recovery.withdraw`, audited);
- deleted (housekeeping or a mistake, not a decision): a fresh run of the process's deployment takes its place
  for the same subject and the same tasks (`_replace`), with the request the subject was started from as its
  parameter (`kamflow.started.Kind.request_of`). It is created held (scheduled years ahead, so that no runner
  takes it), the subject and its tasks are tied to it in one transaction, audited on each task (`run_rerun`,
  naming the run it `replaces`), and only then is it scheduled now: it never starts before it can find its
  subject, and a transaction that fails deletes it. It re-runs the process from the top as below;
- crashed or failed, stuck Pending ("Submitting": its runner died before starting it) or left Running by a killed
  process for longer than `KAMFLOW_RECOVERY_GRACE_SECONDS` (marked Crashed first), held by a sweep that stopped
  before letting it go (scheduled later than the grace), or suspended while its task was decided in the database:
  the same run is scheduled again (`run_rerun`, audited on each of its tasks). It re-runs from the top: its
  subject and its task are found by the run's id, an answer Prefect still holds is read again, and a decision in
  the database is carried over, never taken twice (the one guarded claim, `approvals.claim`).

A deleted, crashed or failed run brought back `KAMFLOW_RECOVERY_RERUNS` times is left to a person: audited once
more (`run_rerun` with `rerun: false`) and logged as an error. A run still waiting (suspended), scheduled (resumed,
for a runner to take) or within its grace is left alone.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from uuid import UUID

from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.logging import get_logger
from prefect.states import Crashed, Scheduled

from flows.runs import deployment_path
from kamflow import approvals, recovery
from kamflow.audit import record_many
from kamflow.db import unit_of_work
from kamflow.i18n import _
from kamflow.models import ApprovalTask
from kamflow.settings import get_settings

PAGE = 200
"""Runs read per call: the Prefect API's largest page."""
CANCELLED = {StateType.CANCELLED, StateType.CANCELLING}
BROKEN = {StateType.CRASHED, StateType.FAILED}
STUCK = {StateType.PENDING, StateType.RUNNING}
DECIDED_WITHIN = dt.timedelta(days=7)
"""How far back a decision whose run never carried it over is looked for."""
HELD = dt.timedelta(days=3650)
"""How far ahead a fresh run is scheduled until its subject is tied to it: no runner takes it meanwhile."""


@dataclass(frozen=True)
class Recovered:
    """What one sweep did, by flow run id: closed as cancelled, started again (or, deleted, replaced by a fresh
    run), left to a person."""

    withdrawn: list[str]
    rerun: list[str]
    left: list[str]


def read_runs(run_ids: list[str]) -> dict[str, FlowRun]:
    """The runs that still exist, by id, read a page at a time."""
    found: dict[str, FlowRun] = {}
    with get_client(sync_client=True) as client:
        for start in range(0, len(run_ids), PAGE):
            page = [UUID(run_id) for run_id in run_ids[start : start + PAGE]]
            runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=page)), limit=PAGE)
            found.update({str(run.id): run for run in runs})
    return found


def verdict(run: FlowRun | None, tasks: list[ApprovalTask], *, now: dt.datetime, grace: dt.timedelta) -> str:
    """What the sweep does with a run and the tasks tied to it: `withdraw`, `rerun` (for a deleted run, `None`: a
    fresh run takes its place) or `live`."""
    if run is None or run.state is None:
        return "rerun"
    state = run.state
    if state.type in CANCELLED:
        return "withdraw"
    if state.type in BROKEN:
        return "rerun"
    since = state.timestamp
    late = since is not None and since < now - grace
    due = state.state_details.scheduled_time
    if state.is_scheduled() and due is not None and due > now + grace:  # held by a sweep that stopped (`HELD`)
        return "rerun"
    if state.type in STUCK and late:
        return "rerun"
    if state.is_paused() and all(task.status == "decided" for task in tasks):
        decided = [task.decided_at for task in tasks if task.decided_at is not None]
        return "rerun" if decided and max(decided) < now - grace else "live"
    return "live"


def _why(run: FlowRun | None) -> str:
    """Why the sweep acts on a run, in the company's language: it becomes the run's state message and the audit's
    reason."""
    if run is None or run.state is None:
        return _("its flow run was deleted")
    why = _("its flow run {run} is {state}").format(run=run.name, state=run.state.name)
    return why + (f": {run.state.message}" if run.state.message else "")


def recover(*, now: dt.datetime) -> Recovered:
    """One sweep over every waiting task's run (see the module's docstring)."""
    settings = get_settings()
    grace = dt.timedelta(seconds=settings.recovery_grace_seconds)
    with unit_of_work() as session:
        tied: dict[str, list[ApprovalTask]] = defaultdict(list)
        for task in recovery.waiting_tasks(session, decided_since=now - DECIDED_WITHIN):
            assert task.flow_run_id is not None
            tied[task.flow_run_id].append(task)
        session.expunge_all()
    if not tied:
        return Recovered([], [], [])
    runs = read_runs(sorted(tied))
    done = Recovered([], [], [])
    for run_id, tasks in tied.items():
        run = runs.get(run_id)
        what = verdict(run, tasks, now=now, grace=grace)
        if what == "withdraw":
            _withdraw(tasks, reason=_why(run), now=now)
            done.withdrawn.append(run_id)
        elif what == "rerun" and (rerun := _rerun(run, run_id, tasks, why=_why(run), now=now)) is not None:
            (done.rerun if rerun else done.left).append(run_id)
    return done


def _withdraw(tasks: list[ApprovalTask], *, reason: str, now: dt.datetime) -> None:
    with unit_of_work() as session:
        for process, subject_id in {(task.process, task.subject_id) for task in tasks}:
            recovery.withdraw(session, process=process, subject_id=subject_id, now=now, reason=reason)
    get_logger("kamflow.recovery").warning("closed as cancelled: %s (%s)", _subjects(tasks), reason)


def _rerun(
    run: FlowRun | None, run_id: str, tasks: list[ApprovalTask], *, why: str, now: dt.datetime
) -> bool | None:
    """Schedule the run again, or replace a deleted one by a fresh run (audited on each task): True. False when it
    has been brought back too often already: it is audited once more for a person to act on, and logged; None once
    it has been, or when another sweep replaced the deleted run first."""
    limit = get_settings().recovery_reruns
    with unit_of_work() as session:
        before = max(recovery.reruns(session, [task.id for task in tasks]).values(), default=0)
    if before > limit:
        return None
    detail = {"flow_run_id": run_id, "why": why, "attempt": before + 1, "rerun": before < limit}
    logger = get_logger("kamflow.recovery")
    if before == limit:
        _audit(tasks, detail, now=now)
        logger.error(
            "%s: %s; brought back %d times already, so left to a person (%s)",
            _subjects(tasks),
            why,
            limit,
            "its requester may withdraw it"
            if run is None
            else "retry the run in the Prefect UI, or cancel it there to close the task",
        )
        return False
    if run is None:
        new = _replace(run_id, tasks, detail=detail, now=now)
        if new is None:
            return None
        logger.warning("%s: %s; flow run %s takes its place", _subjects(tasks), why, new)
        return True
    with get_client(sync_client=True) as client:
        if run.state is not None and run.state.type in STUCK:  # its process is gone
            client.set_flow_run_state(
                UUID(run_id), Crashed(message=_("kamflow's recovery: {why}").format(why=why)), force=True
            )
        client.set_flow_run_state(UUID(run_id), Scheduled(), force=True)
    _audit(tasks, detail, now=now)
    logger.warning("%s: %s; its run is started again", _subjects(tasks), why)
    return True


def _audit(tasks: list[ApprovalTask], detail: dict[str, object], *, now: dt.datetime) -> None:
    with unit_of_work() as session:
        record_many(
            session, [approvals.task_event(task, recovery.RERUN, now=now, detail=detail) for task in tasks]
        )


def _replace(old: str, tasks: list[ApprovalTask], *, detail: dict[str, object], now: dt.datetime) -> str | None:
    """A fresh run of the process's deployment in place of the deleted run `old`, for the same subject and tasks,
    with the request the subject was started from as its one parameter; returns its id. Held until the subject and
    its tasks are tied to it (audited), then scheduled now; deleted again if they cannot be. None when the subject
    is tied to another run already."""
    [(process, subject_id)] = {(task.process, task.subject_id) for task in tasks}
    with unit_of_work() as session:
        asked = recovery.request_of(session, process=process, subject_id=subject_id, run_id=old)
    if asked is None:
        return None
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(deployment_path(process))
        [parameter] = (deployment.parameter_openapi_schema or {})["properties"]
        run = client.create_flow_run_from_deployment(
            deployment.id,
            parameters={parameter: asked.model_dump(mode="json")},
            state=Scheduled(scheduled_time=now + HELD),
        )
        new = str(run.id)
        try:
            with unit_of_work() as session:
                tied = recovery.replace_run(
                    session,
                    process=process,
                    subject_id=subject_id,
                    tasks=tasks,
                    old=old,
                    new=new,
                    now=now,
                    detail=detail | {"flow_run_id": new, "replaces": old},
                )
        except BaseException:
            client.delete_flow_run(run.id)
            raise
        if not tied:
            client.delete_flow_run(run.id)
            return None
        client.set_flow_run_state(run.id, Scheduled(), force=True)
    return new


def _subjects(tasks: list[ApprovalTask]) -> str:
    return ", ".join(sorted({f"{task.process} {task.subject_id} (task {task.id})" for task in tasks}))
