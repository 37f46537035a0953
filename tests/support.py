"""What the tests share beyond fixtures: they answer waiting tasks as the people named would."""

from __future__ import annotations

import socket
from decimal import Decimal

from kamflow import approvals, clock, customers
from kamflow.db import unit_of_work
from kamflow.discounts import service as discounts
from kamflow.settings import get_settings


def approval_code(task_id: int, login: str) -> str:
    """The one-time code `kamflow tasks` shows `login` for a task."""
    with unit_of_work() as session:
        task = approvals.get(session, task_id)
        return approvals.approval_code(task, login=login, secret=get_settings().approval_secret)


def kam_and_norm(code: str = "C0001") -> tuple[str, Decimal]:
    """The customer's KAM and the company's discount norm on price column 3 today."""
    with unit_of_work() as session:
        kam = customers.by_code(session, code).kam.login
        ask = discounts.DiscountRequestIn(
            customer=code, price_column=3, discount_pct=Decimal(1), order_total=Decimal(1), requester=kam
        )
        return kam, Decimal(discounts.facts(session, ask, on=clock.today())[2]["norm_pct"])


def free_port() -> int:
    """A port nothing listens on now, on loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
