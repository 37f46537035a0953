"""`kamflow credit …`, `kamflow order …` and `kamflow import …`: solvency checks, exposure, credit limits,
orders through the credit check, and data from CSV files. kamflow.app.cli registers these."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from kamflow.app.cli.common import (
    AsOf,
    AsUser,
    CustomerArgument,
    CustomerOption,
    Json,
    id_argument,
    run_command,
    run_op,
)
from kamflow.i18n import _
from kamflow.views import View

credit_app = typer.Typer(help="Credit control: solvency checks, exposure and credit limits.", no_args_is_help=True)
limit_app = typer.Typer(help="Credit limits: base, temporary and sub-limits.", no_args_is_help=True)
credit_app.add_typer(limit_app, name="limit")
order_app = typer.Typer(help="Orders: every order passes the order credit check.", no_args_is_help=True)
import_app = typer.Typer(
    help="Import a CSV file (UTF-8, comma-separated, a header line; amounts like 1234.50, dates YYYY-MM-DD). "
    "Every row is checked; a file with a bad row imports nothing and the error names each bad line and field.",
    no_args_is_help=True,
)

IMPORT_COLUMNS = {
    "customers": "code, name, customer_class (A|B|C), company_type (private|public_manufacturer|"
    "non_manufacturer), kam (login), credit_limit, currency, payment_terms_days, open_orders_limit*, "
    "open_invoices_limit*, overdue_limit* (a limit's empty cell: no limit set, not checked; 0: no credit, for "
    "overdue none tolerated)",
    "invoices": "number, customer, issue_date, due_date, amount, currency*, order* (order number), disputed*",
    "instalments": "invoice (number), due_date, amount (an invoice's rows sum to its amount)",
    "payments": "invoice* (number), customer* (to pay its oldest open instalments and invoices first), "
    "instalment* (from 1, of the invoice), paid_on, amount",
    "credit_notes": "number, invoice (number), issued_on, amount, "
    "reason (returned|refused|damaged|price_dispute), instalment*",
    "orders": "number, customer, order_date, amount, currency*, status* (open|invoiced)",
    "statements": "customer, period_end, current_assets, current_liabilities, inventory, total_assets, "
    "total_liabilities, equity, retained_earnings, ebit, sales, market_value_equity*",
}


@credit_app.command("check")
def credit_check(
    customer: CustomerArgument,
    purpose: Annotated[str, typer.Option(help="request | contract | first_order")] = "request",
    order_amount: Annotated[str, typer.Option(help="The first order's amount, if the check is for one.")] = "0",
    acting: AsUser = None,
    as_json: Json = False,
) -> None:
    """Check a customer's solvency: ratios, Altman score, payment history → risk class and decision."""
    asked = {"customer": customer, "purpose": purpose, "order_amount": order_amount}
    run_op("credit check", asked, acting, as_json)


@credit_app.command("exposure")
def credit_exposure(
    customer: CustomerArgument,
    as_of: AsOf = None,
    acting: AsUser = None,
    as_json: Json = False,
) -> None:
    """A customer's exposure by category against the limits in force (to those who may see the customer)."""
    run_op("credit exposure", {"customer": customer, "as_of": as_of}, acting, as_json)


@limit_app.command("set")
def limit_set(
    customer: CustomerArgument,
    amount: Annotated[
        str | None, typer.Argument(help="The new limit: 0 is no credit (for overdue: none tolerated).")
    ] = None,
    clear: Annotated[
        bool, typer.Option("--none", help="Clear the limit instead: no limit set, so it is not checked.")
    ] = False,
    until: Annotated[
        str | None, typer.Option(help="Last day (YYYY-MM-DD) of a temporary total limit; then the base applies.")
    ] = None,
    category: Annotated[str, typer.Option(help="total | open_orders | open_invoices | overdue")] = "total",
    confirm: Annotated[bool, typer.Option("--confirm", help="Set it even below the current exposure.")] = False,
    reason: Annotated[str, typer.Option(help="Why (audited).")] = "",
    acting: AsUser = None,
    as_json: Json = False,
) -> None:
    """Set a credit limit, or clear it with --none. Above the rules' threshold (and to clear one) it waits for
    approval; once in force, the customer's blocked orders are re-checked."""
    asked = {"customer": customer, "amount": amount, "clear": clear, "until": until, "category": category}
    run_op("credit limit set", asked | {"confirm": confirm, "reason": reason}, acting, as_json)


@order_app.command("submit")
def order_submit(
    customer: CustomerOption,
    amount: Annotated[str, typer.Option(help="Order amount in the customer's currency.")],
    number: Annotated[str | None, typer.Option(help="Order number (default: assigned).")] = None,
    acting: AsUser = None,
    as_json: Json = False,
) -> None:
    """Enter an order: approved within the credit conditions, or blocked for the credit controller."""
    run_op("order submit", {"customer": customer, "amount": amount, "number": number}, acting, as_json)


@order_app.command("show")
def order_show(
    check_id: Annotated[int, id_argument("The order's credit check number (order submit shows it).")],
    acting: AsUser = None,
    as_json: Json = False,
) -> None:
    """An order's credit check: its decision, reasons and who it waits for (to those who may see its customer)."""
    run_op("order show", {"check_id": check_id}, acting, as_json)


OrderNumber = Annotated[str, typer.Argument(help="The order's number, e.g. SO-00000031.")]


def _order_change(what: str, acting: str | None, **fields: str | None) -> View:
    """Change an order as the acting person (`order_changes.CHANGES[what]`), then end the waits of the orders its
    re-check released. The amount is read as the person types it in their language (12,5 or 12.5)."""
    from kamflow import clock
    from kamflow.app import identity
    from kamflow.bounds import parse_number
    from kamflow.credit import order_changes
    from kamflow.db import unit_of_work

    by = identity.acting(acting).login
    given = {name: value for name, value in fields.items() if value is not None}
    if "amount" in given:
        given["amount"] = str(parse_number(given["amount"], field="amount"))
    request = order_changes.OrderChangeIn.model_validate({**given, "by": by})
    with unit_of_work() as session:
        changed = order_changes.CHANGES[what](session, request, now=clock.now())
    _end_waits(changed.released_checks, why=f"{what} of order {request.order}")
    return changed


def _end_waits(released: list[int], *, why: str) -> None:
    """Resume the waiting runs of the orders a re-check released (recorded already); when Prefect cannot be
    reached, say so on stderr rather than fail what is done."""
    if not released:
        return
    from flows.order_credit import end_waits
    from kamflow.app.progress import say

    try:
        end_waits(released, why=why)
    except Exception as error:  # the Prefect client raises many kinds
        say(
            _("the released orders are recorded, but their waiting runs were not resumed: {error}").format(
                error=error
            )
        )


@order_app.command("prepayment")
def order_prepayment(
    order: OrderNumber,
    amount: Annotated[str, typer.Option(help="The prepayment received, in the order's currency.")],
    on: Annotated[
        str | None, typer.Option("--on", help="When it was received, YYYY-MM-DD (default today).")
    ] = None,
    acting: AsUser = None,
    as_json: Json = False,
) -> None:
    """Record a prepayment received for an order: one released against a prepayment counts as released once its
    prepayments reach the amount asked for; a prepayment lowers what an open order adds to exposure."""
    run_command(as_json, lambda: _order_change("prepayment", acting, order=order, amount=amount, on=on))


@order_app.command("change")
def order_change(
    order: OrderNumber,
    amount: Annotated[str, typer.Option(help="The new amount (an open order may only shrink).")],
    acting: AsUser = None,
    as_json: Json = False,
) -> None:
    """Change an order's amount; the customer's blocked orders are re-checked."""
    run_command(as_json, lambda: _order_change("change", acting, order=order, amount=amount))


@order_app.command("cancel")
def order_cancel(
    order: OrderNumber,
    reason: Annotated[str, typer.Option(help="Why (audited).")] = "",
    acting: AsUser = None,
    as_json: Json = False,
) -> None:
    """Cancel an open order, or one awaiting its prepayment; the customer's blocked orders are re-checked."""
    run_command(as_json, lambda: _order_change("cancellation", acting, order=order, reason=reason))


def _import_command(kind: str) -> Callable[..., None]:
    def command(
        file: Annotated[Path, typer.Argument(help="The CSV file.")],
        acting: AsUser = None,
        as_json: Json = False,
    ) -> None:
        def body() -> dict[str, Any]:
            from kamflow.app.identity import IMPORTS, keeper
            from kamflow.app.progress import Progress
            from kamflow.db import unit_of_work
            from kamflow.imports import import_file

            actor = keeper(acting, doing=IMPORTS)
            with (
                Progress(
                    _("importing {kind} from {file}").format(kind=kind, file=file.name), unit=_("rows read")
                ) as shown,
                unit_of_work() as session,
            ):
                done = import_file(session, kind, file, actor=actor, read=shown.update)
            _end_waits(done["released_checks"], why=f"{kind} imported from {file.name}")
            return done

        run_command(as_json, body, _imported_text(kind))

    command.__doc__ = f"Import {kind}. Columns (* optional, any order): {IMPORT_COLUMNS[kind]}."
    return command


def _imported_text(kind: str) -> Callable[[dict[str, Any]], str]:
    def text(done: dict[str, Any]) -> str:
        released = done["released_orders"]
        after = (
            "\n" + _("re-checked blocked orders, released: {orders}").format(orders=", ".join(released))
            if released
            else ""
        )
        return (
            _("imported {count} {kind} from {file}").format(count=done["imported"], kind=kind, file=done["file"])
            + after
        )

    return text


for _kind in IMPORT_COLUMNS:
    import_app.command(_kind.replace("_", "-"))(_import_command(_kind))
