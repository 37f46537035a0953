"""`kamflow requests` (what the acting person started), `kamflow history` (a subject's history) and `kamflow
withdraw` (take back a request that still waits). kamflow.app.cli registers these."""

from __future__ import annotations

from typing import Annotated

import typer

from kamflow.app.cli.common import AsUser, Json, id_argument, run_op

Process = Annotated[
    str,
    typer.Argument(
        help="discount-authorization | order-credit-check | credit-limit-change | solvency-check | "
        "document-approval"
    ),
]
SubjectId = Annotated[int, id_argument("The request's, order check's, change's, check's or document's number.")]


def requests(acting: AsUser = None, as_json: Json = False) -> None:
    """Everything the acting person started, newest first: its status, and who it waits for or how it was
    decided."""
    run_op("requests", {}, acting, as_json)


def history(process: Process, subject_id: SubjectId, acting: AsUser = None, as_json: Json = False) -> None:
    """A subject's history, oldest first: who (name and position), when, what, the comment, the version (to
    those who may see its customer or document)."""
    run_op("history", {"process": process, "subject_id": subject_id}, acting, as_json)


def withdraw(
    process: Process,
    subject_id: SubjectId,
    reason: Annotated[str, typer.Option(help="Why (audited).")] = "",
    acting: AsUser = None,
    as_json: Json = False,
) -> None:
    """Take back a request that still waits for a person (its requester, or whoever stands in for them): its task
    is closed and its run ended; exit 3 otherwise."""
    run_op("withdraw", {"process": process, "subject_id": subject_id, "reason": reason}, acting, as_json)
