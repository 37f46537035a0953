"""What the ops console (Prefect's UI) shows of kamflow's runs: each run named after its subject and tagged with
its process, customer and who it waits for (`assignee:head.north`, kept current when a task escalates or is
delegated), so the runs list filters to "waiting for head.north"; artifact keys that never repeat across
installations.

Tags of a kind kamflow sets (`process:`, `customer:`, `assignee:`) are replaced as a whole; any other tag of the
run (a deployment's) stays."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from functools import cache
from uuid import UUID

from prefect import get_client
from prefect.artifacts import create_markdown_artifact
from prefect.exceptions import ObjectNotFound
from prefect.runtime import flow_run
from prefect.states import Running
from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow import clock, org
from kamflow.db import unit_of_work
from kamflow.i18n import _
from kamflow.installation import installation_id
from kamflow.models import ApprovalTask
from kamflow.settings import get_settings

ASSIGNEE = "assignee:"


@cache
def _installation(db_url: str) -> str:
    """The id of the database at `db_url` (the process's), read once."""
    with unit_of_work() as session:
        return installation_id(session)


def artifact_key(key: str) -> str:
    """`key` made unique to this installation (its database's id): `discount-request-2` of one database is never
    a version of another's."""
    return f"{key}-{_installation(get_settings().db_url)}"


def _merged(current: Iterable[str], wanted: Iterable[str]) -> list[str]:
    """The run's tags with every kind `wanted` names replaced by `wanted`'s."""
    kinds = {tag.split(":", 1)[0] + ":" for tag in wanted}
    return sorted({tag for tag in current if not tag.startswith(tuple(kinds))} | set(wanted))


def label_run(name: str, *, process: str, customer: str | None = None) -> None:
    """Name this run after its subject (e.g. `discount-7-C0001`) and tag it with its process and customer."""
    wanted = [f"process:{process}"] + ([f"customer:{customer}"] if customer else [])
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(flow_run.id)
        client.update_flow_run(run.id, name=name, tags=_merged(run.tags, wanted))


def assignees(session: Session, flow_run_ids: Iterable[str], *, on: dt.date) -> dict[str, set[str]]:
    """Who each run waits for today: whoever may act on each of its pending tasks (the owner or their delegate);
    an empty set for a run that waits for nobody."""
    ids = set(flow_run_ids)
    found: dict[str, set[str]] = {run_id: set() for run_id in ids}
    if not ids:
        return found
    delegations = org.delegations_on(session, on=on)
    pending = session.scalars(
        select(ApprovalTask).where(ApprovalTask.flow_run_id.in_(ids), ApprovalTask.status == "pending")
    )
    waiting: defaultdict[str, set[str]] = defaultdict(set)
    for task in pending:
        waiting[str(task.flow_run_id)].add(delegations.acting_for(task.owner).login)
    return found | waiting


def tag_assignees(waiting_for: dict[str, set[str]]) -> None:
    """Set each run's `assignee:` tags to who it waits for now; a run that is gone is passed by."""
    if not waiting_for:
        return
    with get_client(sync_client=True) as client:
        for run_id, logins in waiting_for.items():
            try:
                run = client.read_flow_run(UUID(run_id))
            except ObjectNotFound:
                continue
            kept = [tag for tag in run.tags if not tag.startswith(ASSIGNEE)]
            client.update_flow_run(run.id, tags=sorted({*kept, *(ASSIGNEE + login for login in logins)}))


def show_waiting(*, process: str, subject_id: int, markdown: str, waiting_for: dict[str, set[str]]) -> None:
    """A waiting run's `assignee:` tags and its artifact of what it waits for and for whom."""
    tag_assignees(waiting_for)
    logins = sorted(set().union(*waiting_for.values()))
    create_markdown_artifact(
        key=artifact_key(f"{process}-{subject_id}-waiting"),
        markdown=markdown,
        description=_("Waiting for {logins}").format(logins=", ".join(logins) or _("nobody")),
    )


def show_refusal(reason: str) -> None:
    """A refused answer as this run's state message (the UI shows it on the run, not only in its logs)."""
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(
            flow_run.id, Running(message=_("Answer refused: {reason}").format(reason=reason)), force=True
        )


def retag(flow_run_ids: Iterable[str | None]) -> None:
    """Bring these runs' `assignee:` tags up to date from the database (after an escalation, a delegation)."""
    with unit_of_work() as session:
        waiting_for = assignees(session, (run_id for run_id in flow_run_ids if run_id), on=clock.today())
    tag_assignees(waiting_for)
