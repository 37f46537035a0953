"""`kamflow doc …` (internal documents through their approval chains) and `kamflow delegate` (clause 1.4).
kamflow.app.cli registers these."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kamflow.app.cli.common import AsUser, Json, id_argument, run_op
from kamflow.bounds import read_bounded_text
from kamflow.errors import InvalidInput
from kamflow.i18n import _
from kamflow.settings import get_settings

doc_app = typer.Typer(
    help="Internal documents: submit a draft into its approval chain, revise it, read its sheet.",
    no_args_is_help=True,
)
DocId = Annotated[int, id_argument("Document number.")]
TextFile = Annotated[Path, typer.Argument(help="The text, Markdown with sections.")]


def read_text(path: Path) -> str:
    """A document's text: at most the `max_document_bytes` setting, UTF-8."""
    return read_bounded_text(path, get_settings().max_document_bytes, what="the document")


def _fields(pairs: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise InvalidInput(_("--field wants NAME=VALUE, got {pair}").format(pair=repr(pair)), field="field")
        found[name.strip()] = value.strip()
    return found


@doc_app.command("submit")
def doc_submit(
    file: TextFile,
    doc_type: Annotated[
        str, typer.Option("--type", help="job_description | customer_contract | shortage_act | discount_agreement")
    ],
    title: Annotated[str | None, typer.Option(help="Title; default: the text's first heading.")] = None,
    field: Annotated[
        list[str] | None,
        typer.Option(help="A field the type asks for, NAME=VALUE (repeat), e.g. department=Sales North"),
    ] = None,
    acting: AsUser = None,
    as_json: Json = False,
) -> None:
    """Submit a draft: its type's chain starts (the draft must have the type's sections and fields)."""

    def draft() -> dict[str, object]:
        return {"doc_type": doc_type, "title": title, "content": read_text(file), "fields": _fields(field or [])}

    run_op("doc submit", draft, acting, as_json)


@doc_app.command("revise")
def doc_revise(
    document_id: DocId,
    file: TextFile,
    comment: Annotated[str, typer.Option(help="What changed (audited).")] = "",
    acting: AsUser = None,
    as_json: Json = False,
) -> None:
    """The author's new version of a returned document; the chain asks everyone again, showing the diff."""

    def revision() -> dict[str, object]:
        return {"document_id": document_id, "content": read_text(file), "comment": comment}

    run_op("doc revise", revision, acting, as_json)


@doc_app.command("show")
def doc_show(document_id: DocId, acting: AsUser = None, as_json: Json = False) -> None:
    """A document: status, version and hash, the current round's steps and who it waits for."""
    run_op("doc show", {"document_id": document_id}, acting, as_json)


@doc_app.command("sheet")
def doc_sheet(document_id: DocId, acting: AsUser = None, as_json: Json = False) -> None:
    """The approval sheet (Markdown): APPROVED and AGREED blocks, each signature with its date and version hash."""
    run_op("doc sheet", {"document_id": document_id}, acting, as_json)


@doc_app.command("acks")
def doc_acks(document_id: DocId, acting: AsUser = None, as_json: Json = False) -> None:
    """The acknowledgment journal of the effective version: who has acknowledged it and who has not."""
    run_op("doc acks", {"document_id": document_id}, acting, as_json)


def delegate(
    frm: Annotated[str, typer.Option("--from", help="Login of the person who will be absent.")],
    to: Annotated[str, typer.Option("--to", help="Login of the person who acts for them.")],
    from_date: Annotated[str, typer.Option(help="First day, YYYY-MM-DD.")],
    to_date: Annotated[str, typer.Option(help="Last day, YYYY-MM-DD.")],
    order_ref: Annotated[str, typer.Option(help="The order naming the delegate, e.g. 'Order 12/2026'.")],
    acting: AsUser = None,
    as_json: Json = False,
) -> None:
    """Name a delegate for an absence (clause 1.4): their pending and new tasks go to the delegate within the
    window and come back after it. Self-delegation and cycles are refused."""
    order = {"from": frm, "to": to, "from_date": from_date, "to_date": to_date, "order_ref": order_ref}
    run_op("delegate", order, acting, as_json)
