"""`kamflow demo`: the main job end to end on embedded defaults.

It resets the domain database to the demo company, starts `kamflow serve` (local Prefect server and the
deployments), sends discount requests that the rules approve, reject and escalate, answers the escalated
ones as the department head would (approve, counter, reject), and prints what happened and why. Each step shows
on stderr as it happens (`kamflow.app.progress`); the summary is what the command prints on stdout.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from decimal import Decimal
from functools import partial
from typing import Any
from uuid import UUID

from sqlalchemy import select

from flows.runs import wait_for
from kamflow import clock, customers, discounts, migrate
from kamflow.app.progress import Progress, say
from kamflow.app.runs import Answer, decide, start
from kamflow.app.serve import api_ready, prefect_environment
from kamflow.db import get_engine, unit_of_work
from kamflow.demo_data import generate
from kamflow.discounts.service import DiscountRequestIn
from kamflow.discounts.tables import DiscountNorm, PriceColumn
from kamflow.discounts.views import DiscountView
from kamflow.errors import ServiceUnavailable
from kamflow.i18n import _
from kamflow.models import Customer
from kamflow.reports import pct, percent
from kamflow.settings import get_settings
from kamflow.views import Part, View, said

COLUMN = 3
CUSTOMERS = 200


def _norm(customer: str) -> Decimal:
    with unit_of_work() as session:
        return session.execute(
            select(DiscountNorm.max_pct)
            .join(PriceColumn, PriceColumn.id == DiscountNorm.price_column_id)
            .join(Customer, Customer.customer_class == DiscountNorm.customer_class)
            .where(Customer.code == customer, PriceColumn.number == COLUMN)
        ).scalar_one()


def _kam(customer: str) -> str:
    with unit_of_work() as session:
        return customers.by_code(session, customer).kam.login


def _shown(view: View) -> DiscountView:
    """A discount process's subject, as the process shows it."""
    assert isinstance(view, DiscountView), view
    return view


def _request(ask: DiscountRequestIn) -> DiscountView:
    return _shown(start(discounts.PROCESS, ask))


def _first_request(ask: DiscountRequestIn) -> DiscountView:
    """The runner needs a moment to register its deployments; retry the first request until it can."""

    def attempt() -> DiscountView | None:
        try:
            return _request(ask)
        except ServiceUnavailable:
            return None

    return wait_for("`kamflow serve` to start", attempt, timeout=180)


class Outcome(Part):
    """One of the demo's requests as it ended: decided by the rules, or by the person it was escalated to."""

    label: str
    escalated: bool
    request: DiscountView


class DemoSummary(View):
    """What `kamflow demo` prints (and `--json` gives): the company, each request's outcome, where to look next."""

    customers: int
    invoices: int
    outcomes: list[Outcome]
    rules_version: str
    prefect_home: str
    prefect_ui: str
    workspace: str

    def text(self) -> str:
        lines = [
            _(
                "kamflow demo — {customers} customers, {invoices} invoices; department heads decide escalations"
            ).format(customers=self.customers, invoices=self.invoices),
            "",
        ]
        for outcome in self.outcomes:
            view = outcome.request
            granted = (
                "" if view.granted_pct is None else _(", granted {pct}").format(pct=percent(view.granted_pct))
            )
            decided = (
                view.verdict.text()
                if view.verdict
                else _("{status} by the rules{granted}").format(status=said(view.status), granted=granted)
            )
            asked = _("#{request} {customer} asked {pct} ({label})").format(
                request=view.request_id,
                customer=view.customer,
                pct=percent(view.discount_pct),
                label=outcome.label,
            )
            lines.append(f"{asked}: {decided}")
            lines += [f"    {r.rule}: {r.text}" for r in view.reasons]
        return "\n".join(
            [
                *lines,
                "",
                _("Rule set version {version}; every decision is in the audit trail.").format(
                    version=self.rules_version[:12]
                ),
                _("Flow runs: PREFECT_HOME={home} .venv/bin/prefect flow-run ls").format(home=self.prefect_home),
                _("Prefect UI on the same data: ./dev kamflow serve, then open {url}").format(url=self.prefect_ui),
                _("Workspace (inbox, tasks, my requests): ./dev kamflow serve, then open {url}").format(
                    url=self.workspace
                ),
            ]
        )


def run() -> DemoSummary:
    settings = get_settings()
    with Progress(f"resetting the database {settings.db_url}"):
        migrate.downgrade(settings, "base")
        migrate.upgrade(settings)
    with Progress(f"building the demo company ({CUSTOMERS} customers, their invoices and payments)"):
        company = generate(get_engine(settings), customers=CUSTOMERS, seed=7, today=clock.today())
    log = (settings.prefect_home_dir / "demo-serve.log").open("ab")
    with Progress(f"starting kamflow serve: the local Prefect server at {settings.api_url} (log: {log.name})"):
        serving = subprocess.Popen(
            [sys.executable, "-m", "kamflow.app.cli", "serve"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **prefect_environment(settings)},
        )
        wait_for("the Prefect server", lambda: api_ready(settings.api_url) or None, timeout=180)
    try:
        return _story(company)
    finally:
        with Progress("stopping kamflow serve"):
            serving.send_signal(signal.SIGINT)
            try:
                serving.wait(30)
            except subprocess.TimeoutExpired:
                serving.kill()


def _finished(run_id: UUID) -> bool | None:
    """True once the flow run has ended (completed, failed, cancelled …)."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        state = client.read_flow_run(run_id).state
    return True if state is not None and state.is_final() else None


def _ask(customer: str, pct: Decimal, total: str, note: str) -> DiscountRequestIn:
    return DiscountRequestIn(
        customer=customer,
        price_column=COLUMN,
        discount_pct=pct,
        order_total=Decimal(total),
        note=note,
        requester=_kam(customer),
    )


def _story(company: Any) -> DemoSummary:
    healthy, late = "C0001", "C0002"
    norm = _norm(healthy)
    asks = [
        ("within the norm", _ask(healthy, norm - 2, "150000", "regular spring order")),
        ("above the norm", _ask(healthy, norm + 3, "420000", "competitor offer on the table")),
        ("above the norm again", _ask(healthy, norm + 5, "380000", "volume for the new store")),
        ("customer with overdue debt", _ask(late, _norm(late) - 1, "90000", "repeat order")),
        ("above the ceiling", _ask(healthy, Decimal("45"), "50000", "clearance")),
    ]
    results = []
    for i, (label, ask) in enumerate(asks, start=1):
        first = " (the first waits for the deployments to be served)" if i == 1 else ""
        with Progress(f"request {i} of {len(asks)}: {ask.customer} asks {pct(ask.discount_pct)}, {label}{first}"):
            view = _first_request(ask) if i == 1 else _request(ask)
        waits = f", waiting for {view.assignee} (task {view.task_id})" if view.task_id is not None else ""
        say(f"    #{view.request_id} {view.status.upper()}{waits}")
        results.append((label, view))
    answers = iter(
        [
            Answer(action="approve", comment="Strategic account; matches the competitor."),
            Answer(action="counter", discount_pct=str(norm + 2), comment="Meet halfway."),
            Answer(action="reject", comment="Settle the overdue invoices first."),
        ]
    )
    final: list[tuple[str, DiscountView, bool]] = []
    for label, view in results:
        if view.task_id is None or view.assignee is None:  # decided by the rules
            final.append((label, view, False))
            continue
        answer = next(answers)
        with Progress(f"{view.assignee} answers task {view.task_id} (#{view.request_id}): {answer.action}"):
            answered = _shown(decide(view.task_id, login=view.assignee, answer=answer).subject)
        assert answered.verdict is not None, answered
        say(f"    #{answered.request_id} {answered.verdict.text()}")
        final.append((label, answered, True))
    with Progress("the waiting runs go on from the decisions to their end"):
        for _label, view, escalated in final:
            if escalated and view.flow_run_id is not None:
                run_id = UUID(view.flow_run_id)
                wait_for(f"flow run {run_id}", partial(_finished, run_id), timeout=120, run=run_id)
    settings = get_settings()
    return DemoSummary(
        customers=company.customers,
        invoices=company.invoices,
        outcomes=[Outcome(label=label, escalated=escalated, request=view) for label, view, escalated in final],
        rules_version=final[0][1].rules_version,
        prefect_home=str(settings.prefect_home_dir),
        prefect_ui=settings.api_url.removesuffix("/api"),
        workspace=f"{settings.web_url}/",
    )
