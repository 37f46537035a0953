"""Run control the flows share with the App: wait for something to show up, and resume a run waiting for input.
The flows resume the runs of orders a new limit released; `kamflow decide` resumes a run with a person's answer."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from kamflow.errors import InvalidInput, NotFound, ServiceUnavailable

T = TypeVar("T")
WAIT_SECONDS = 90.0


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = WAIT_SECONDS) -> T:
    """Poll `probe` until it returns something; ServiceUnavailable after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise ServiceUnavailable(f"timed out waiting for {what}; is `kamflow serve` running?")
        time.sleep(0.2)


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
                raise NotFound(f"the flow run of {what} is gone", field="task") from exc
        if state is not None and state.is_final():
            raise InvalidInput(f"{what} is not waiting for an answer any more ({state.name})", field="task")
        return True if state is not None and state.is_paused() else None

    wait_for(f"the flow run of {what} to wait for its answer", paused, timeout=30)
    try:
        with get_client(sync_client=True) as client:
            result = client.resume_flow_run(flow_run_id, run_input=run_input)
    except Exception as exc:  # the Prefect client raises many kinds
        raise InvalidInput(f"{what} is not waiting for an answer any more: {exc}", field="task") from exc
    if result.status != SetStateStatus.ACCEPT:  # another answer got there first: the server aborts this one
        reason = getattr(result.details, "reason", result.status.value)
        raise InvalidInput(f"{what} is not waiting for an answer any more: {reason}", field="task")


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
