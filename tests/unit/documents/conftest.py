"""Helpers for the document chain's unit tests: submit a draft and answer its tasks the way the flow does
(approvals.decide, then answers.apply, in one transaction) — without Prefect."""

from __future__ import annotations

import datetime as dt
import textwrap
from typing import Any

from sqlalchemy.orm import Session

from kamflow import approvals, org
from kamflow.documents import answers, service, submission
from kamflow.documents.chains import Chains, parse
from kamflow.documents.tables import Document
from kamflow.models import ApprovalTask, Delegation
from tests.conftest import NOW, TODAY

WEEK = TODAY + dt.timedelta(days=6)

DRAFT = """# Job description of the test clerk

## 1. General provisions

1.1. The clerk is a specialist.

## 2. Duties

2.1. Files the papers.

## 3. Rights

3.1. May ask for papers.

## 4. Responsibility

4.1. Within the labour code.
"""


def submit(
    session: Session,
    *,
    author: str = "head.north",
    doc_type: str = "job_description",
    content: str = DRAFT,
    fields: dict[str, str] | None = None,
    chains: Chains | None = None,
    now: dt.datetime = NOW,
) -> Document:
    return submission.submit(
        session,
        document=submission.DocumentIn(
            doc_type=doc_type,
            content=content,
            author=author,
            fields={"department": "Sales North", "position": "Key Account Manager"} if fields is None else fields,
        ),
        flow_run_id=None,
        now=now,
        chains=chains,
    )


def waiting(session: Session, document: Document, *, on: dt.date = TODAY) -> dict[str, ApprovalTask]:
    """The document's pending tasks by the login of who may act on them."""
    return {
        approvals.assignee(session, t, on=on).login: t
        for t in approvals.pending(session, process=service.PROCESS, subject_id=document.id)
    }


def act(
    session: Session,
    task: ApprovalTask,
    login: str,
    action: str = "approve",
    *,
    comment: str = "",
    content: str | None = None,
    now: dt.datetime = NOW,
) -> None:
    payload: dict[str, Any] = {"action": action, "comment": comment, "content": content}
    approvals.decide(
        session,
        task=task,
        login=login,
        action=action,
        comment=comment,
        payload=payload,
        check=answers.check_for(session, task),
        now=now,
        on=now.date(),
    )
    answers.apply(session, task, now)


def agree_all(session: Session, document: Document, *, now: dt.datetime = NOW) -> None:
    for login, task in waiting(session, document).items():
        act(session, task, login, now=now)


def memo_chain(stages: str) -> Chains:
    """A `memo` type with the given stages (YAML, a list at the left margin)."""
    head = "memo:\n  title: Memo\n  required_sections: [Body]\n  stages:\n"
    return parse(head + textwrap.indent(textwrap.dedent(stages), "    "), source="test")


def one_stage_chain(step: str) -> Chains:
    """A chain of one approval stage with the given step (YAML), for quorum tests."""
    return memo_chain(f"- name: approval\n  kind: approve\n  steps:\n    - {step}\n")


def delegate(session: Session, frm: str, to: str, start: dt.date = TODAY, end: dt.date = WEEK) -> Delegation:
    """An order naming `to` to act for `frm`, as `kamflow delegate` records it."""
    return org.delegate(
        session,
        frm=org.employee(session, frm),
        to=org.employee(session, to),
        valid_from=start,
        valid_to=end,
        order_ref="Order 12/2026",
        now=NOW,
    )


MEMO = "# Memo\n\n## Body\n\nText.\n"
