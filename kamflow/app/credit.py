"""What the credit commands do against the running processes: check the input (writing nothing if it is
wrong), start the process's flow run through its deployment, and return what it decided or who it waits
for. The exposure breakdown is read straight from the database."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flows.runs import wait_for
from kamflow import clock
from kamflow.app.runs import start_run
from kamflow.credit import limits, orders, solvency, standing, views
from kamflow.db import unit_of_work
from kamflow.views import Explained

DEPLOYMENTS = {process: f"{process}/{process}" for process in views.VIEWS}
"""Each credit process is served as a deployment named like its flow."""


def _start(process: str, parameters: dict[str, Any]) -> Explained:
    run_id = start_run(DEPLOYMENTS[process], parameters)

    def settled() -> views.CreditView | None:
        with unit_of_work() as session:
            return views.settled_run(session, process, run_id)

    return wait_for(f"flow run {run_id}", settled)


def submit_order(request: orders.OrderIn) -> Explained:
    with unit_of_work() as session:
        orders.prepare(session, request)
        session.rollback()
    return _start(orders.PROCESS, {"order": request.model_dump(mode="json")})


def set_limit(request: limits.LimitChangeIn) -> Explained:
    with unit_of_work() as session:
        limits.prepare(session, request, on=request.requested_on or clock.today())
        session.rollback()
    return _start(limits.PROCESS, {"change": request.model_dump(mode="json")})


def check_solvency(request: solvency.SolvencyCheckIn) -> Explained:
    with unit_of_work() as session:
        solvency.prepare(session, request)
        session.rollback()
    return _start(solvency.PROCESS, {"request": request.model_dump(mode="json")})


def exposure(code: str, *, on: dt.date | None = None) -> standing.ExposureView:
    with unit_of_work() as session:
        client = standing.customer(session, code)
        return standing.exposure_view(standing.standing(session, client, on=on or clock.today()))
