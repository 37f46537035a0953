"""The credit reads people's commands make straight from the database: a customer's exposure breakdown."""

from __future__ import annotations

import datetime as dt

from kamflow import clock
from kamflow.credit import standing
from kamflow.db import unit_of_work


def exposure(code: str, *, on: dt.date | None = None) -> standing.ExposureView:
    with unit_of_work() as session:
        client = standing.customer(session, code)
        return standing.exposure_view(standing.standing(session, client, on=on or clock.today()))
