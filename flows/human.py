"""The one way every process waits for a person.

The task lives in the domain database; the flow run is suspended and resumed with a typed answer from the Prefect
UI's form or `kamflow decide`. An answer from someone who may not decide is refused, audited, and the run waits
again under a new key (`approvals.waiting_key`); once the database holds an answer, Prefect's copy is deleted.

How a run waits (the warm wait). The run is suspended at once (`suspend_flow_run`): from its first moment the
waiting is durable, exactly as if no process held it. Then, for `KAMFLOW_WARM_WAIT_SECONDS` (default 120; 0 gives
the process back at once), the process stays and watches the run every half second. A resume moves a suspended run
to Scheduled; the warm process claims it as a runner would, Scheduled → Pending (the server accepts one Pending: a
runner that sees the run first wins, and this process then simply ends; the runner that started this process
submits no second one for the run while it lives) → Running, reads the answer and goes on in the same process:
0.5 s from the resume call to the decision in the database, against 0.8–1.0 s for a runner's poll and a new process
(forked from serve's fork server, which has done the imports: `kamflow.app.serve._fork_flow_processes`; medians of
bench/bench_flows.py, same run). When the window passes unanswered the process ends as a suspended run's does,
first telling Prefect so (`RELEASED`): the engine's heartbeats go on in the window, and the production crash
detection would otherwise take the silence after the last one for a dead process (deploy/production.sh). A later
answer restarts the flow from the top in a new process, which finds its task in the database and reads the answer.
A kill -9 during the window loses nothing either: the run was suspended all along (if a heartbeat was sent in the
window, the run is marked crashed and the recovery sweep starts it again, to wait as before). Only the first of two
answers counts: Prefect accepts one resume of a suspended run, and one claim of the resumed run. The price: one
flow process per run in its window (`kamflow serve` sets no limit on them; a `kamflow worker`'s limit counts them,
so the production shape's workers wait with no window: deploy/README.md).

Why not `pause_flow_run(timeout=N)` first and `suspend_flow_run` after: a paused run is held by its process alone.
A resume after that process dies (kill -9, a restart) moves it to Running with nobody to run it; a pause that
times out fails the run (`FlowPauseTimeout`, and the server fails any later resume), and Prefect refuses to
suspend a run from Paused (only a Running run may be suspended).

The engine learns of a suspension too (it stops the flow at its next task or at its end): a claimed run gives
its flow context a fresh suspension request (`_claim`), the one Prefect 3.9 internal this module relies on
(tests/flows' warm-wait tests run the whole path).

A subject may have several tasks pending at once (the parallel steps of a document chain): `wait_for_any`
waits for an answer to any of them. The answer's `task` (or else the approver's login) says which one; that
one is decided, and the caller waits again — under the next key — until it has what it needs.

Where a decision is recorded. `kamflow decide` (and the workspace) records it in the domain database itself, in
one transaction with what the process carries onto its subject (`record_answer`), and only then resumes the run:
the run finds the task it is answered for already decided and goes on from there (`_recorded`), deciding nothing
twice. An answer typed into the Prefect UI's form for a task not yet decided is recorded here, the same way.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from prefect import get_client, get_run_logger
from prefect._flow_run_suspension import FlowRunSuspensionRequest
from prefect.client.orchestration import SyncPrefectClient
from prefect.context import FlowRunContext
from prefect.events import emit_event
from prefect.exceptions import Abort, Pause
from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput
from prefect.input.actions import delete_flow_run_input, read_flow_run_input
from prefect.input.run_input import Keyset, keyset_from_base_key
from prefect.runtime import flow_run
from prefect.states import Pending, Running
from prefect.utilities.engine import propose_state_sync
from pydantic import ConfigDict, Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema
from sqlalchemy.orm import Session

from flows import labels
from kamflow import approvals, clock, i18n, org, reports
from kamflow.bounds import MAX_ID
from kamflow.db import unit_of_work
from kamflow.errors import KamflowError
from kamflow.i18n import N_, _
from kamflow.models import ApprovalTask
from kamflow.reports import words
from kamflow.settings import get_settings
from kamflow.types import ApprovalCode, Login, Note


@dataclass(frozen=True)
class DecimalText:
    """A decimal answer as the resume form takes it: `Annotated[Decimal, DecimalText(...)] | None`.

    The form shows one plain text box (not Prefect's choice of number, text or None) whose text must be a
    plain number: digits, a decimal comma or dot ("12,5" and "12.5" are the same), at most `decimals` after it, at
    most `digits` before it, no thousands separators, and above zero when `positive`. Prefect's server checks every
    answer against the form's schema and the model checks the same pattern, so what the form lets through always
    loads, in whichever language the form was drawn; the text becomes the exact Decimal it says, never passing
    through a float. One mark is always the decimal mark: a form takes no thousands separators, and `ambiguous`
    guards that no text reads as a valid number both ways ("1.234": 1.234 or 1234), as `bounds.parse_number`
    would refuse it."""

    digits: int
    decimals: int
    positive: bool = False

    @property
    def pattern(self) -> str:
        number = rf"[0-9]{{1,{self.digits}}}([.,][0-9]{{1,{self.decimals}}})?"
        return rf"(?!0*([.,]0*)?$){number}" if self.positive else number

    @property
    def ambiguous(self) -> bool:
        """Whether a text like "1.234" fits both as a decimal and as a whole number with its thousands grouped."""
        return self.decimals >= 3 and self.digits >= 4

    def text(self, value: object) -> Decimal:
        written = value if isinstance(value, str) else str(value)
        if re.fullmatch(self.pattern, written) is None:
            above = _("a number above 0") if self.positive else _("a number")
            raise ValueError(
                _(
                    "write {number} with digits and a decimal comma or dot, at most {digits} digits before it and "
                    "{decimals} after it, without thousands separators (e.g. 12,5 or 12.5), not {written}"
                ).format(number=above, digits=self.digits, decimals=self.decimals, written=repr(written[:40]))
            )
        return Decimal(written.replace(",", "."))

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(self.text, handler(source))

    def __get_pydantic_json_schema__(self, _schema: Any, _handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {"type": "string", "pattern": f"^{self.pattern}$"}


def _form_schema(schema: dict[str, Any]) -> None:
    """The resume form as a department head should see it: Prefect's UI draws a field for every property.

    Each field's title and description in the reader's language (the schema is drawn as the run suspends, inside
    `i18n.reading` of the person it waits for; the model's texts are English, marked with `N_`); field names and
    the values a field takes stay the same in every language. An optional field is one input left empty when not
    given: not a choice between its type and None, and without a default of null that the form would send. The
    comment comes last. `task` matters only to someone holding several tasks on one subject (`kamflow decide`
    sends it): it is not drawn, yet still accepted and checked, for Prefect's server holds every answer against
    this schema. The model's docstring, written for the code's readers, is not shown."""
    schema.pop("description", None)
    fields = cast(dict[str, dict[str, Any]], schema["properties"])
    for field in fields.values():
        if "anyOf" in field and field.get("default", ...) is None:
            [given] = [choice for choice in field.pop("anyOf") if choice != {"type": "null"}]
            del field["default"]
            field.update(given)
        for text in ("title", "description"):
            field[text] = _(field[text])
    fields["comment"] = fields.pop("comment")
    schema["patternProperties"] = {"^task$": fields.pop("task")}


class ApprovalInput(RunInput):
    """What every approver answers; each process adds its own `action` (titled Decision) and fields."""

    model_config = ConfigDict(json_schema_extra=_form_schema)

    approver: Login = Field(
        title=N_("Your login"),
        description=N_(
            "Your kamflow login, e.g. head.north. Only the person the task is for, or whoever stands in for them, "
            "may decide."
        ),
    )
    approval_code: ApprovalCode = Field(
        title=N_("Your approval code"),
        description=N_("Your personal code for this task; the command kamflow tasks shows it to you."),
    )
    comment: Note = Field(
        default="",
        title=N_("Comment"),
        description=N_("Why you decide so, in a few words; it is kept in the audit trail."),
    )
    task: int = Field(
        default=0,
        ge=0,
        le=MAX_ID,
        title=N_("Task"),
        description=N_("Only if you hold several tasks on this subject: the task number you answer."),
    )

    def payload(self) -> dict[str, Any]:
        """The process-specific part of the answer, JSON-safe."""
        return self.model_dump(mode="json", exclude={"approver", "approval_code", "comment", "task"})


Then = Callable[[Session, ApprovalTask, dt.datetime], None]
Told = Mapping[i18n.Language, tuple[str, str]]
"""A subject's title and report in each language (the task keeps them in the company's): its resume form shows them
in the language of the person it waits for."""


def task_markdown(task: ApprovalTask, *, assignee: str, told: Told | None = None) -> str:
    title, explanation = (task.title, task.explanation) if told is None else told[i18n.current()]
    return _(
        "## {title}\n\n{explanation}\n\n**Task {task}** for **{assignee}** ({role}), due {due}.\n\n"
        "Enter your login and your approval code (`kamflow tasks` shows it), choose your decision and submit."
    ).format(
        title=title,
        explanation=explanation,
        task=task.id,
        assignee=assignee,
        role=words(task.role),
        due=reports.when(task.due_at),
    )


def waiting_markdown(
    waiting: list[ApprovalTask], delegations: org.Delegations, *, told: Told | None = None
) -> str:
    """The resume form's text: the task, or the first task and the list of all that wait."""
    first = waiting[0]
    text = task_markdown(first, assignee=delegations.acting_for(first.owner).login, told=told)
    if len(waiting) == 1:
        return text
    rows = "\n".join(
        f"| {t.id} | {delegations.acting_for(t.owner).login} | {words(t.role)} | {reports.when(t.due_at)} |"
        for t in waiting
    )
    waiting_for = _("**Waiting for**\n\n| task | who | step | due |")
    return f"{text}\n\n{waiting_for}\n|---|---|---|---|\n{rows}"


def form_language(waiting: list[ApprovalTask], delegations: org.Delegations) -> i18n.Language | None:
    """Whose language the resume form is in: the person who may act on the first waiting task (the one its text
    is about), if they prefer one; else the company's (None)."""
    return i18n.language_of(delegations.acting_for(waiting[0].owner).language)


def record_answer(
    session: Session,
    task: ApprovalTask,
    given: ApprovalInput,
    *,
    check_for: approvals.CheckFor,
    then: Then,
    now: dt.datetime,
) -> None:
    """The one way a person's answer is recorded, by a command or by the waiting flow: the task is decided (the
    person may decide it and the answer passes the process's business check, else it raises and writes nothing)
    and `then` carries it onto the subject, in the caller's transaction."""
    approvals.decide(
        session,
        task=task,
        login=given.approver,
        action=str(given.payload().get("action")),
        comment=given.comment,
        payload=given.payload(),
        check=check_for(session, task),
        now=now,
        on=clock.today(now),
    )
    then(session, task, now)


def human_step(
    *,
    process: str,
    subject_id: int,
    title: str,
    explanation: str,
    role: str,
    requester: str,
    answer: type[ApprovalInput],
    check: approvals.Check,
    then: Then,
    told: Told | None = None,
) -> ApprovalTask:
    """Open (or find) the subject's approval task and return it once a permitted person has decided it (and `then`
    has carried the answer onto the subject, in the same transaction). `told`: the title and explanation in each
    language, for the resume form."""
    with unit_of_work() as session:
        task = approvals.open_task(
            session,
            process=process,
            subject_id=subject_id,
            title=title,
            explanation=explanation,
            role=role,
            requester=org.employee(session, requester),
            flow_run_id=str(flow_run.id),
            now=clock.now(),
            deadline=get_settings().approval_deadline,
        )
        if task.status == "decided":
            return task
    return wait_for_any(
        process=process, subject_id=subject_id, answer=answer, check_for=lambda _s, _t: check, then=then, told=told
    )


def wait_for_any(
    *,
    process: str,
    subject_id: int,
    answer: type[ApprovalInput],
    check_for: approvals.CheckFor,
    then: Then,
    told: Told | None = None,
) -> ApprovalTask:
    """Wait (suspended) for a permitted answer to any of the subject's pending tasks; decide that task, run
    `then` in the same transaction, and return the task — or the task a command decided and answered the run
    for. Refused answers are audited and waited past. The resume form is in the language of the person it waits
    for, with the subject as `told` in it (else as its task keeps it)."""
    while True:
        settled = _settled(process=process, subject_id=subject_id)  # decided while the run was on its way here
        if settled is not None:
            labels.retag([str(flow_run.id)])
            return settled
        with unit_of_work() as session:
            now = clock.now()
            key = approvals.waiting_key(session, process=process, subject_id=subject_id)
            waiting = approvals.pending(session, process=process, subject_id=subject_id)
            if not waiting:
                raise RuntimeError(f"{process} {subject_id}: nothing to wait for")
            delegations = org.delegations_on(session, on=clock.today(now))  # read once, whatever the tasks
            language = form_language(waiting, delegations)
            with i18n.reading(language):
                form = answer.with_initial_data(description=waiting_markdown(waiting, delegations, told=told))
            description = waiting_markdown(waiting, delegations, told=told)  # the artifact: the company's language
            waiting_for = labels.assignees(session, [str(flow_run.id)], on=clock.today(now))
        labels.show_waiting(process=process, subject_id=subject_id, markdown=description, waiting_for=waiting_for)
        key = _unspent(key)
        with i18n.reading(language):  # the form's schema is drawn, and its answer read, in the person's language
            given = _suspended_wait(form, key=key)
        decided = (
            _settled(process=process, subject_id=subject_id)
            or _recorded(given, process=process, subject_id=subject_id)
            or _take(given, process=process, subject_id=subject_id, check_for=check_for, then=then)
        )
        # The answer is in the database now, decided or refused; its code is spent either way. Prefect keeps run
        # input readable by anyone who reaches its API: the answer, code included, is not left there.
        delete_flow_run_input(_keyset(key)["response"])
        if decided is not None:
            labels.retag([str(flow_run.id)])
            return decided


WARM_POLL_SECONDS = 0.5
RELEASED = "kamflow.flow-run.released"
"""The event a run's process sends when its warm wait ends with the run still suspended, after the last heartbeat
it sent while it watched: the production crash detection (deploy/production.sh) takes it, like Suspended, for the
end of the run's heartbeats. The engine's heartbeats stop as the flow raises `Pause` right after; the events
worker sends what it holds before the process ends."""


def _keyset(key: str) -> Keyset:
    """Where Prefect keeps the form and the answer of the suspension under `key`."""
    return keyset_from_base_key(f"suspended-{key}")


def _unspent(key: str) -> str:
    """The key to wait under. Prefect takes a key whose suspension has fired before in this run for a resumed one
    and reads its answer; a run started again without one (the recovery sweep's, `flows.recovery`) waits anew
    under the key with a suffix."""
    context = FlowRunContext.get()
    assert context is not None and context.flow_run is not None
    fired = context.flow_run.empirical_policy.pause_keys or set()
    waited, again = key, 0
    while waited in fired and read_flow_run_input(_keyset(waited)["response"]) is None:
        again += 1
        waited = f"{key}-again-{again}"
    return waited


def _suspended_wait(form: type[ApprovalInput], *, key: str) -> ApprovalInput:
    """Suspend the run for an answer under `key`, then keep the process for the warm window: an answer given in
    it is returned here; otherwise the process ends as a suspended run's does (`Pause`). A run that re-runs from
    the top after its resume finds the suspension already fired and gets its answer at once."""
    try:
        return suspend_flow_run(wait_for_input=form, key=key, timeout=None)
    except Pause:
        given = _warm_wait(form, key=key, seconds=get_settings().warm_wait_seconds)
        if given is None:
            raise
        return given


def _warm_wait(form: type[ApprovalInput], *, key: str, seconds: float) -> ApprovalInput | None:
    """Watch the suspended run for `seconds`; once an answer resumes it, claim it and return the answer. None when
    the window passes (the run still suspended: the process says so with a `RELEASED` event), the run is taken by
    another process, or it stops waiting (cancelled)."""
    context = FlowRunContext.get()
    assert context is not None and context.flow_run is not None
    run_id = context.flow_run.id
    deadline = time.monotonic() + seconds
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            time.sleep(WARM_POLL_SECONDS)
            state = client.read_flow_run(run_id).state
            if state is not None and state.is_paused():
                continue
            if state is None or not state.is_scheduled() or not _claim(client, context):
                return None
            get_run_logger().info("answered within the warm wait: going on in this process")
            return cast(ApprovalInput, form.load(_keyset(key), flow_run_id=run_id))
    emit_event(RELEASED, resource={"prefect.resource.id": f"prefect.flow-run.{run_id}"})
    return None


def _claim(client: SyncPrefectClient, context: FlowRunContext) -> bool:
    """Take the resumed run as a runner would (Scheduled → Pending → Running); False if another process took it
    first. The engine was told of the suspension and would stop the flow at its next task or its end: the run's
    context gets a fresh suspension request (the old one may still be marked by Prefect's suspension observer)."""
    assert context.flow_run is not None
    try:
        taken = propose_state_sync(client, Pending(), flow_run_id=context.flow_run.id)
    except Abort:
        return False
    if not taken.is_pending():
        return False
    running = propose_state_sync(client, Running(), flow_run_id=context.flow_run.id)
    if not running.is_running():
        raise RuntimeError(f"the claimed run could not go on: the server answered {running.name}")
    context.flow_run_suspension_request = FlowRunSuspensionRequest()
    return True


def _settled(*, process: str, subject_id: int) -> ApprovalTask | None:
    """The subject's task when a decision made elsewhere ended the wait — a re-check released the subject: its
    task decided by kamflow, nothing pending — else None. The answer that resumed the run is then not read, as a
    run resumed from the top finds its task decided before it waits."""
    with unit_of_work() as session:
        if approvals.pending(session, process=process, subject_id=subject_id):
            return None
        task = approvals.current(session, process=process, subject_id=subject_id)
        return task if task is not None and task.status == "decided" else None


def _recorded(given: ApprovalInput, *, process: str, subject_id: int) -> ApprovalTask | None:
    """The task the answer names when it is already decided — a command recorded the decision and then resumed
    the run with it — else None."""
    if not given.task:
        return None
    with unit_of_work() as session:
        task = session.get(ApprovalTask, given.task)
        if task is None or (task.process, task.subject_id, task.status) != (process, subject_id, "decided"):
            return None
        return task


def _take(
    given: ApprovalInput, *, process: str, subject_id: int, check_for: approvals.CheckFor, then: Then
) -> ApprovalTask | None:
    """Decide the task the answer is for, running `then` in the same transaction; or refuse the answer (audited,
    and its code is spent: the task's codes change with every refused answer) and return None."""
    now = clock.now()
    with unit_of_work() as session:
        task = approvals.answered(
            session,
            process=process,
            subject_id=subject_id,
            login=given.approver,
            task_id=given.task or None,
            on=clock.today(now),
        )
        try:
            approvals.verify_code(
                task, login=given.approver, code=given.approval_code, secret=get_settings().approval_secret
            )
            record_answer(session, task, given, check_for=check_for, then=then, now=now)
            return task
        except KamflowError as refused:
            session.rollback()
            approvals.refuse(session, task=task, login=given.approver, reason=refused.message, now=now)
            get_run_logger().warning("answer refused: %s", refused.message)
            reason = refused.message
    labels.show_refusal(reason)
    return None
