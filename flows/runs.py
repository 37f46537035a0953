"""Run control the flows share with the App: wait for something to show up, and resume a run waiting for input.
The flows resume the runs of orders a new limit released; `kamflow decide` resumes a run with a person's answer."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from kamflow import i18n
from kamflow.errors import InvalidInput, NotFound, ServiceUnavailable
from kamflow.i18n import N_, _

T = TypeVar("T")
WAIT_SECONDS = 90.0
WATCH_SECONDS = 3.0
"""How often a command that waits on a run checks that the run can still go on (`watch`)."""
UNSERVED_SECONDS = 20.0
"""A deployment nobody has polled for this long has nothing serving it (`kamflow serve` and `kamflow worker` poll
every half second)."""
STOPPED = {"CRASHED", "FAILED", "CANCELLED", "CANCELLING"}
AFTER_STOP = N_(
    "Under `kamflow serve` (and on the workers) the recovery sweep, run with the deadlines sweep, starts a "
    "crashed or failed run of a waiting task again, and closes a cancelled one's task and subject: see "
    "`kamflow tasks`."
)


def wait_for(
    what: str, probe: Callable[[], T | None], timeout: float = WAIT_SECONDS, *, run: UUID | None = None
) -> T:
    """Poll `probe` until it returns something; ServiceUnavailable after `timeout` seconds, or as soon as the flow
    run it waits on cannot go on by itself (`watch`, every few seconds)."""
    deadline = time.monotonic() + timeout
    watched = time.monotonic()
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise ServiceUnavailable(
                _("timed out waiting for {what}; is `kamflow serve` running?").format(what=what)
            )
        if run is not None and time.monotonic() - watched > WATCH_SECONDS:
            watch(run, what=what)
            watched = time.monotonic()
        time.sleep(0.2)


def watch(run_id: UUID, *, what: str) -> None:
    """ServiceUnavailable, saying what happened and what to do, when the run will not go on by itself: Prefect's
    API does not answer, the run crashed, failed or was cancelled, or it is on its way (scheduled, pending,
    running) while nobody serves its deployment — its runner is gone."""
    import httpx
    from prefect import get_client
    from prefect.settings import PREFECT_API_URL

    api = PREFECT_API_URL.value()
    try:
        httpx.get(f"{api}/health", timeout=WATCH_SECONDS).raise_for_status()
    except httpx.HTTPError as exc:
        raise ServiceUnavailable(
            _(
                "stopped waiting for {what}: Prefect's API at {api} does not answer ({error}); is `kamflow serve` "
                "running? Nothing is lost: once it runs again, what was started goes on."
            ).format(what=what, api=api, error=exc)
        ) from exc
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
        state = run.state
        if state is not None and state.type.value in STOPPED:
            said = f": {state.message}" if state.message else ""
            raise ServiceUnavailable(
                _("{what}: its flow run {run} is {state}{said}. {after}").format(
                    what=what, run=run.name, state=state.name, said=said, after=_(AFTER_STOP)
                )
            )
        if state is None or run.deployment_id is None or state.is_final() or state.is_paused():
            return
        polled = client.read_deployment(run.deployment_id).last_polled
    idle = None if polled is None else (dt.datetime.now(dt.UTC) - polled).total_seconds()
    if idle is None or idle > UNSERVED_SECONDS:
        since = _("never") if idle is None else _("last {seconds} s ago").format(seconds=i18n.number(round(idle)))
        raise ServiceUnavailable(
            _(
                "stopped waiting for {what}: nobody serves its deployment (polled {since}); is `kamflow serve` "
                "(or a worker) running? Flow run {run} is {state}: once one is, it goes on (a run that lost its "
                "process with the service is started again by the recovery sweep when it waits for a person; run "
                "the command again otherwise)."
            ).format(what=what, since=since, run=run.name, state=state.name)
        )


def resume_waiting(flow_run_id: UUID, *, run_input: dict[str, Any], what: str) -> None:
    """Resume a run waiting for input. A run that has just opened its task may not have suspended yet:
    give it a moment rather than refuse."""
    from prefect import get_client
    from prefect.client.schemas.responses import SetStateStatus
    from prefect.exceptions import ObjectNotFound

    def paused() -> bool | None:
        with get_client(sync_client=True) as client:
            try:
                state = client.read_flow_run(flow_run_id).state
            except ObjectNotFound as exc:
                raise NotFound(
                    _(
                        "the flow run of {what} was deleted; the recovery sweep starts a fresh run in its place, "
                        "which goes on from what is recorded"
                    ).format(what=what),
                    field="task",
                ) from exc
        if state is not None and state.type.value in STOPPED:
            raise ServiceUnavailable(
                _(
                    "your answer was not given: the flow run of {what} is {state}. {after} Once the task waits "
                    "again, decide again."
                ).format(what=what, state=state.name, after=_(AFTER_STOP))
            )
        if state is not None and state.is_final():
            raise InvalidInput(
                _("{what} is not waiting for an answer any more ({reason})").format(what=what, reason=state.name),
                field="task",
            )
        return True if state is not None and state.is_paused() else None

    wait_for(_("the flow run of {what} to wait for its answer").format(what=what), paused, timeout=30)
    try:
        with get_client(sync_client=True) as client:
            result = client.resume_flow_run(flow_run_id, run_input=run_input)
    except Exception as exc:  # the Prefect client raises many kinds
        gone = _("{what} is not waiting for an answer any more: {reason}").format(what=what, reason=exc)
        raise InvalidInput(gone, field="task") from exc
    if result.status != SetStateStatus.ACCEPT:  # another answer got there first: the server aborts this one
        reason = getattr(result.details, "reason", result.status.value)
        gone = _("{what} is not waiting for an answer any more: {reason}").format(what=what, reason=reason)
        raise InvalidInput(gone, field="task")


def cancel_run(flow_run_id: UUID, *, reason: str) -> None:
    """End a run whose subject nobody waits for any more (withdrawn): it is cancelled, whether it waits suspended,
    watches in its warm wait or has just started; a run already finished is left as it is."""
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound
    from prefect.states import Cancelled

    with get_client(sync_client=True) as client:
        try:
            state = client.read_flow_run(flow_run_id).state
        except ObjectNotFound:
            return
        if state is None or not state.is_final():
            client.set_flow_run_state(flow_run_id, Cancelled(message=reason), force=True)


def deployment_path(process: str) -> str:
    """Every process is served as one deployment named like its flow: `name/name`."""
    return f"{process}/{process}"
