"""What `kamflow doc revise` does: check (writing nothing when wrong), resume the document's flow run, and read
back what the domain database says."""

from __future__ import annotations

from flows.processes import Decided
from kamflow import clock
from kamflow.app.runs import Answer, decide
from kamflow.db import unit_of_work
from kamflow.documents import answers


def revise(document_id: int, *, login: str, content: str, comment: str) -> Decided:
    """The author's new version of a returned document: the chain starts again from its first stage."""
    with unit_of_work() as session:
        task = answers.revision_task(session, document_id, login=login, on=clock.today())
        task_id = task.id
    return decide(task_id, login=login, answer=Answer(action="revise", content=content, comment=comment))
