"""`kamflow requests` (what the acting person started), `kamflow history` (a subject's history) and `kamflow
withdraw` (take back a request that still waits). kamflow.app.cli registers these."""

from __future__ import annotations

from typing import Annotated

import typer

from kamflow.app.cli.common import AsUser, Json, id_argument, listing, run_command
from kamflow.views import View

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

    def body() -> list[View]:
        from kamflow.app import identity
        from kamflow.db import unit_of_work
        from kamflow.started import started_by

        login = identity.acting(acting).login
        with unit_of_work() as session:
            return list(started_by(session, login))

    run_command(as_json, body, listing("nothing started"))


def history(process: Process, subject_id: SubjectId, acting: AsUser = None, as_json: Json = False) -> None:
    """A subject's history, oldest first: who (name and position), when, what, the comment, the version (to
    those who may see its customer or document)."""

    def body() -> list[View]:
        from kamflow.app import identity, reads
        from kamflow.timeline import timeline

        return list(
            reads.of_subject(
                identity.acting(acting),
                process,
                subject_id,
                lambda session: timeline(session, process=process, subject_id=subject_id),
            )
        )

    run_command(as_json, body, listing("no history"))


def withdraw(
    process: Process,
    subject_id: SubjectId,
    reason: Annotated[str, typer.Option(help="Why (audited).")] = "",
    acting: AsUser = None,
    as_json: Json = False,
) -> None:
    """Take back a request that still waits for a person (its requester, or whoever stands in for them): its task
    is closed and its run ended; exit 3 otherwise."""

    def body() -> View:
        from kamflow.app import identity
        from kamflow.app.runs import withdraw as take_back

        return take_back(process, subject_id, login=identity.acting(acting).login, reason=reason)

    run_command(as_json, body)
