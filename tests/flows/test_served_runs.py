"""What serve's and a worker's runner record of each run they start: its process, on its flow run, through
Prefect's own starter (`prefect.runner._starter_direct`), against the session's Prefect API."""

from __future__ import annotations

import asyncio
import socket

import pytest
from prefect import flow, get_client
from prefect.runner import _starter_direct

from kamflow.app.serve import _record_holders


@flow(name="served-probe")
def served_probe() -> int:
    return 1


async def _start_and_record() -> tuple[int | None, str | None]:
    async with get_client() as client:
        run = await client.create_flow_run(served_probe)
        start = _starter_direct.run_flow_in_subprocess  # type: ignore[attr-defined]
        process = start(served_probe, flow_run=run)  # as the runner's starter calls it
        await asyncio.to_thread(process.join)
        for _ in range(100):  # the record is sent from the loop, beside the run
            if (recorded := (await client.read_flow_run(run.id)).infrastructure_pid) is not None:
                break
            await asyncio.sleep(0.05)
        return process.pid, recorded


def test_a_started_run_records_its_process_on_its_flow_run(
    prefect_api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefects = _starter_direct.run_flow_in_subprocess  # type: ignore[attr-defined]
    monkeypatch.setattr(_starter_direct, "run_flow_in_subprocess", prefects)  # put back after the test
    _record_holders()
    pid, recorded = asyncio.run(_start_and_record())
    assert pid is not None and recorded == f"{socket.gethostname()}:{pid}"
