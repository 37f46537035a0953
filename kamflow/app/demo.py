"""`kamflow demo`: the main job end to end on embedded defaults.

It resets the domain database to the demo company, starts `kamflow serve` (local Prefect server and the
deployments), sends discount requests that the rules approve, reject and escalate, answers the escalated
ones as the department head would (approve, counter, reject), and prints what happened and why. Each step shows
on stderr as it happens (`kamflow.app.progress`); the summary is what the command prints on stdout. Both are in
the reader's language (`KAMFLOW_LANGUAGE=es kamflow demo` in Spanish), and so is the demo company it builds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from decimal import Decimal
from functools import partial
from typing import Any, NamedTuple
from uuid import UUID

from sqlalchemy import select

from flows.runs import wait_for
from kamflow import clock, customers, discounts, i18n, migrate
from kamflow.app.progress import Progress, say
from kamflow.app.runs import Answer, decide, start
from kamflow.app.serve import api_ready, prefect_environment
from kamflow.db import get_engine, unit_of_work
from kamflow.demo_data import generate
from kamflow.discounts.service import DiscountRequestIn
from kamflow.discounts.tables import DiscountNorm, PriceColumn
from kamflow.discounts.views import DiscountView
from kamflow.errors import ServiceUnavailable
from kamflow.i18n import N_, _
from kamflow.models import Customer
from kamflow.reports import pct
from kamflow.settings import get_settings
from kamflow.views import Part, View, said

COLUMN = 3
CUSTOMERS = 200
HEALTHY, LATE = "C0001", "C0002"
"""A discount request's status as the demo prints it."""
ACTIONS = {"approve": N_("approve"), "counter": N_("counter"), "reject": N_("reject")}
"""The department head's answers in the demo, as its progress lines name them."""


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
    """What the request tries (English, as marked for the catalog; printed in the reader's language)."""
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
            ).format(customers=i18n.number(self.customers), invoices=i18n.number(self.invoices)),
            "",
        ]
        for outcome in self.outcomes:
            view = outcome.request
            lines.append(
                _("#{id} {customer} asked {pct} ({label}): {decided}").format(
                    id=view.request_id,
                    customer=view.customer,
                    pct=pct(view.discount_pct),
                    label=_(outcome.label),
                    decided=view.verdict.text() if view.verdict else _by_the_rules(view),
                )
            )
            lines += [f"    {r.rule}: {r.text}" for r in view.reasons]
        return "\n".join(
            [
                *lines,
                "",
                _("Rule set version {version}; every decision is in the audit trail.").format(
                    version=self.rules_version[:12]
                ),
                _("Flow runs: {command}").format(
                    command=f"PREFECT_HOME={self.prefect_home} .venv/bin/prefect flow-run ls"
                ),
                _("Prefect UI on the same data: ./dev kamflow serve, then open {address}").format(
                    address=self.prefect_ui
                ),
                _("Workspace (inbox, tasks, my requests): ./dev kamflow serve, then open {address}").format(
                    address=self.workspace
                ),
            ]
        )


def _by_the_rules(view: DiscountView) -> str:
    """ "APPROVED by the rules, granted 12%": what the rules decided, without a person."""
    status = said(view.status)
    if view.granted_pct is None:
        return _("{status} by the rules").format(status=status)
    return _("{status} by the rules, granted {pct}").format(status=status, pct=pct(view.granted_pct))


def run() -> DemoSummary:
    settings = get_settings()
    with Progress(_("resetting the database {address}").format(address=settings.db_url)):
        migrate.downgrade(settings, "base")
        migrate.upgrade(settings)
    with Progress(
        _("building the demo company ({customers} customers, their invoices and payments)").format(
            customers=CUSTOMERS
        )
    ):
        company = generate(get_engine(settings), customers=CUSTOMERS, seed=7, today=clock.today())
    log = (settings.prefect_home_dir / "demo-serve.log").open("ab")
    starting = _("starting kamflow serve: the local Prefect server at {address} (log: {log})")
    with Progress(starting.format(address=settings.api_url, log=log.name)):
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
        with Progress(_("stopping kamflow serve")):
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


class Ask(NamedTuple):
    """One of the demo's requests: what it tries, and the KAM's request (its note marked for the catalog)."""

    label: str
    customer: str
    discount_pct: Decimal
    order_total: Decimal
    note: str

    def request(self, requester: str) -> DiscountRequestIn:
        """The request as the customer's KAM sends it, its note in the reader's language."""
        return DiscountRequestIn(
            customer=self.customer,
            price_column=COLUMN,
            discount_pct=self.discount_pct,
            order_total=self.order_total,
            note=_(self.note),
            requester=requester,
        )


def plan(norm: Decimal, late_norm: Decimal) -> list[Ask]:
    """The demo's requests on column COLUMN, whose norm is `norm` for C0001 (healthy) and `late_norm` for C0002
    (overdue): the rules approve the first, escalate the next three and reject the last."""
    return [
        Ask(N_("within the norm"), HEALTHY, norm - 2, Decimal(150000), N_("regular spring order")),
        Ask(N_("above the norm"), HEALTHY, norm + 3, Decimal(420000), N_("competitor offer on the table")),
        Ask(N_("above the norm again"), HEALTHY, norm + 5, Decimal(380000), N_("volume for the new store")),
        Ask(N_("customer with overdue debt"), LATE, late_norm - 1, Decimal(90000), N_("repeat order")),
        Ask(N_("above the ceiling"), HEALTHY, Decimal(45), Decimal(50000), N_("clearance")),
    ]


def answers(norm: Decimal) -> list[Answer]:
    """The department heads' answers to the escalated requests, in turn: approve, counter, reject."""
    return [
        Answer(action="approve", comment=_("Strategic account; matches the competitor.")),
        Answer(action="counter", discount_pct=str(norm + 2), comment=_("Meet halfway.")),
        Answer(action="reject", comment=_("Settle the overdue invoices first.")),
    ]


def _story(company: Any) -> DemoSummary:
    norm = _norm(HEALTHY)
    asks = [(ask.label, ask.request(_kam(ask.customer))) for ask in plan(norm, _norm(LATE))]
    results = []
    for i, (label, ask) in enumerate(asks, start=1):
        asking = _("request {number} of {count}: {customer} asks {pct}, {label}").format(
            number=i, count=len(asks), customer=ask.customer, pct=pct(ask.discount_pct), label=_(label)
        )
        first = _(" (the first waits for the deployments to be served)") if i == 1 else ""
        with Progress(asking + first):
            view = _first_request(ask) if i == 1 else _request(ask)
        status = said(view.status)
        waits = (
            _(", waiting for {assignee} (task {task})").format(assignee=view.assignee, task=view.task_id)
            if view.task_id is not None
            else ""
        )
        say(f"    #{view.request_id} {status}{waits}")
        results.append((label, view))
    given = iter(answers(norm))
    final: list[tuple[str, DiscountView, bool]] = []
    for label, view in results:
        if view.task_id is None or view.assignee is None:  # decided by the rules
            final.append((label, view, False))
            continue
        answer = next(given)
        answering = _("{assignee} answers task {task} (#{id}): {action}").format(
            assignee=view.assignee, task=view.task_id, id=view.request_id, action=_(ACTIONS[answer.action])
        )
        with Progress(answering):
            answered = _shown(decide(view.task_id, login=view.assignee, answer=answer).subject)
        assert answered.verdict is not None, answered
        say(f"    #{answered.request_id} {answered.verdict.text()}")
        final.append((label, answered, True))
    with Progress(_("the waiting runs go on from the decisions to their end")):
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
