"""What the tests share beyond fixtures: they answer waiting tasks as the people named would."""

from __future__ import annotations

import glob
import socket
from decimal import Decimal
from pathlib import Path

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


def descendants(pid: int) -> list[int]:
    """Every process `pid` started and they started in turn, read from /proc."""
    children: dict[int, list[int]] = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = Path(stat).read_text().split(") ", 1)[1].split()
        except (FileNotFoundError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.split("/")[2]))
    found, todo = [], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""
