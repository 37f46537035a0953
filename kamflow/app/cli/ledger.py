"""`kamflow ledger verify`: recompute the ledger's running figures (`kamflow.figures`) from the ledger and compare
them with those kept. Reads only; exit 0 when they are equal, 2 (as `kamflow audit verify`) listing each difference
by customer. kamflow.app.cli registers this."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import typer

from kamflow import i18n
from kamflow.app.cli.common import Json, run_report
from kamflow.i18n import N_, _

ledger_app = typer.Typer(
    help="The ledger's running figures: verify them against the ledger.", no_args_is_help=True
)
FIGURES = {
    "latest": N_("latest date in the ledger"),
    "sales": N_("sales in the window"),
    "paid": N_("paid in the window"),
    "paid_days": N_("amount paid × days late"),
    "open_orders": N_("open orders"),
}


def _value(value: Any) -> str:
    if value is None:
        return _("none")
    if isinstance(value, Decimal):
        return i18n.number(value, 2)
    if isinstance(value, dt.date):
        return i18n.day(value)
    due, amount, disputed = value  # an open item
    shown = _("{amount} due {due}").format(amount=i18n.number(amount, 2), due=i18n.day(due))
    return _("{item}, disputed").format(item=shown) if disputed else shown


def _figure(found: dict[str, Any]) -> str:
    if found["figure"] != "open_item":
        return _(FIGURES[found["figure"]])
    if found["instalment_id"] is None:
        return _("open item of invoice {invoice}").format(invoice=found["invoice"])
    return _("open item of invoice {invoice}, instalment {instalment}").format(
        invoice=found["invoice"], instalment=found["instalment_id"]
    )


def _verify_text(report: dict[str, Any]) -> str:
    if report["ok"]:
        return _("The running figures of {customers} customers equal the ledger.").format(
            customers=i18n.number(report["customers"])
        )
    lines = [
        i18n.ngettext(
            "{count} running figure differs from the ledger:",
            "{count} running figures differ from the ledger:",
            len(report["differences"]),
        ).format(count=i18n.number(len(report["differences"])))
    ]
    lines += [
        _("{customer}: {figure}: kept {kept}, the ledger says {ledger}").format(
            customer=found["customer"],
            figure=_figure(found),
            kept=_value(found["kept"]),
            ledger=_value(found["ledger"]),
        )
        for found in report["differences"]
    ]
    return "\n".join(lines)


@ledger_app.command("verify")
def verify(as_json: Json = False) -> None:
    """Recompute every customer's running figures and open items from the ledger and compare them with those kept:
    exit 0 when equal, 2 listing the differences by customer."""

    def body() -> dict[str, Any]:
        from sqlalchemy.orm import Session

        from kamflow import figures
        from kamflow.db import get_engine

        with Session(get_engine()) as session:
            customers, found = figures.differences(session)
        return {
            "ok": not found,
            "customers": customers,
            "differences": [dataclasses.asdict(difference) for difference in found],
        }

    run_report(as_json, body, _verify_text)
