"""The workspace's pages in-process: sign-in in both modes, the form token on every POST, the inbox with its
figures, filters and order, the task page with only the valid actions, refusals shown as refusals, and access
refused (403, audited) to those the policy keeps out."""

from __future__ import annotations

import html
import re
from decimal import Decimal

from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from kamflow.demo_data import give_demo_passwords
from kamflow.models import ApprovalTask, AuditEvent, Customer, Employee
from kamflow.people.tables import ApiToken
from kamflow.reports import plain
from kamflow.review.tables import CollectionTask
from kamflow.review.views import title
from kamflow.settings import Settings, use_settings
from tests.conftest import NOW
from tests.unit.test_discounts import norm
from tests.unit.test_processes import waiting_discount
from tests.unit.web.conftest import csrf, sign_in


def waiting(session: Session, settings: Settings) -> ApprovalTask:
    """C0001's discount asked one point above the norm by kam.north1, waiting for head.north (committed)."""
    _row, task = waiting_discount(session, settings)
    session.commit()
    return task


def test_nobody_signed_in_is_sent_to_the_sign_in_page_which_says_demo_mode(client: TestClient) -> None:
    answer = client.get("/", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/signin"
    page = client.get("/signin").text
    assert "Demo mode" in page and 'value="head.north"' in page


def test_every_post_without_the_sessions_form_token_is_refused(
    client: TestClient, session: Session, settings: Settings
) -> None:
    task = waiting(session, settings)
    assert client.post("/signin", data={"login": "head.north"}).status_code == 403
    assert client.post("/signin", data={"login": "head.north", "csrf": "forged"}).status_code == 403
    sign_in(client, "head.north")
    answer = client.post(f"/tasks/{task.id}", data={"action": "approve", "csrf": "forged"})
    assert answer.status_code == 403
    assert client.post("/signout", data={}).status_code == 403
    session.refresh(task)
    assert task.status == "pending"


def test_the_inbox_shows_the_task_with_its_figures_and_filters_server_side(
    client: TestClient, session: Session, settings: Settings
) -> None:
    task = waiting(session, settings)
    sign_in(client, "head.north")
    page = client.get("/").text
    asked, the_norm = plain(norm(session) + 1), plain(norm(session))
    assert f'href="/tasks/{task.id}"' in page and "Discount for C0001" in page
    assert f"asks {asked}% vs norm {the_norm}%" in page
    assert "overdue" in page  # opened at NOW, long past its deadline by the real clock
    assert f'href="/tasks/{task.id}"' not in client.get("/", params={"process": "order-credit-check"}).text
    assert f'href="/tasks/{task.id}"' not in client.get("/", params={"q": "C0002"}).text
    assert f'href="/tasks/{task.id}"' in client.get("/", params={"q": "c0001", "overdue": "true"}).text
    sign_in(client, "kam.north2")
    assert f'href="/tasks/{task.id}"' not in client.get("/").text


def test_the_inbox_puts_overdue_tasks_first(client: TestClient, session: Session, settings: Settings) -> None:
    late = waiting(session, settings)
    fresh_settings = settings.model_copy(update={"approval_deadline_hours": 24 * 3650})
    use_settings(fresh_settings)
    row, fresh = waiting_discount(session, fresh_settings)  # a second request: due in ten years
    session.commit()
    use_settings(settings)
    sign_in(client, "head.north")
    page = client.get("/", params={"sort": "opened"}).text
    assert page.index(f'href="/tasks/{late.id}"') < page.index(f'href="/tasks/{fresh.id}"')
    assert fresh.created_at == NOW and row.status == "pending"


def test_the_task_page_shows_facts_reasons_history_and_only_the_valid_actions(
    client: TestClient, session: Session, settings: Settings
) -> None:
    task = waiting(session, settings)
    sign_in(client, "head.north")
    page = client.get(f"/tasks/{task.id}").text
    assert re.findall(r'name="action" value="(\w+)" required>', page) == ["approve", "reject", "counter"]
    assert "checked" not in page  # no decision chosen for them: a stray submit decides nothing
    assert "<th>norm (%)</th><td>15</td>" in page
    form = {"csrf": csrf(client, f"/tasks/{task.id}"), "comment": "sent without choosing"}
    unchosen = client.post(f"/tasks/{task.id}", data=form)
    assert unchosen.status_code == 400 and "Refused:" in unchosen.text and "action" in unchosen.text
    session.refresh(task)
    assert task.status == "pending"
    assert "above-norm" in page  # the rule that sent it here
    assert f"task {task.id} opened for" in page
    sign_in(client, "kam.north1")  # the requester sees it, and may not decide it
    page = client.get(f"/tasks/{task.id}").text
    assert "Discount for C0001" in page and 'name="action"' not in page


def test_a_number_people_cannot_read_is_refused_on_the_page_and_nothing_is_decided(
    client: TestClient, session: Session, settings: Settings
) -> None:
    task = waiting(session, settings)
    sign_in(client, "head.north")
    form = {"csrf": csrf(client, f"/tasks/{task.id}"), "action": "counter", "discount_pct": "12,5,5"}
    answer = client.post(f"/tasks/{task.id}", data=form)
    assert answer.status_code == 400
    assert "Refused:" in answer.text and "discount_pct: write a number" in answer.text
    assert "Decided." not in answer.text
    session.refresh(task)
    assert task.status == "pending"


def test_the_requester_deciding_their_own_request_is_refused_and_audited(
    client: TestClient, session: Session, settings: Settings
) -> None:
    task = waiting(session, settings)
    sign_in(client, "kam.north1")
    form = {"csrf": csrf(client, f"/tasks/{task.id}"), "action": "approve"}
    answer = client.post(f"/tasks/{task.id}", data=form)
    assert answer.status_code == 403 and "Refused:" in answer.text and "may not decide it" in answer.text
    session.refresh(task)
    assert task.status == "pending"


def test_a_kam_may_not_open_another_kams_task_or_customer(
    client: TestClient, session: Session, settings: Settings
) -> None:
    task = waiting(session, settings)
    sign_in(client, "kam.north2")
    assert client.get(f"/tasks/{task.id}").status_code == 403
    assert client.get("/customers/C0001").status_code == 403
    refusals = session.scalars(select(AuditEvent).where(AuditEvent.action == "access_refused")).all()
    assert [(r.actor, r.detail["field"]) for r in refusals] == [("kam.north2", "customer")] * 2
    sign_in(client, "kam.north1")
    page = client.get("/customers/C0001")
    assert page.status_code == 200 and "Credit exposure" in page.text


def test_under_required_sign_in_a_password_signs_in_and_sign_out_revokes_the_token(
    client: TestClient, session: Session, settings: Settings
) -> None:
    give_demo_passwords(session, now=NOW)
    session.commit()
    use_settings(settings.model_copy(update={"auth": "required"}))
    assert "Demo mode" not in client.get("/signin").text
    form = {"csrf": csrf(client), "login": "head.north", "password": "wrong"}
    refused = client.post("/signin", data=form)
    assert refused.status_code == 403 and "wrong login or password" in refused.text
    sign_in(client, "head.north", "kamflow-demo")
    assert client.get("/", follow_redirects=False).status_code == 200
    client.post("/signout", data={"csrf": csrf(client, "/")}, follow_redirects=False)
    assert client.get("/", follow_redirects=False).status_code == 303
    [token] = session.scalars(select(ApiToken)).all()
    session.refresh(token)
    assert token.revoked_at is not None


def test_a_token_revoked_elsewhere_ends_the_session(
    client: TestClient, session: Session, settings: Settings
) -> None:
    from kamflow import org
    from kamflow.people import tokens

    give_demo_passwords(session, now=NOW)
    session.commit()
    use_settings(settings.model_copy(update={"auth": "required"}))
    sign_in(client, "head.north", "kamflow-demo")
    assert client.get("/", follow_redirects=False).status_code == 200
    tokens.revoke_all(session, org.employee(session, "head.north"), now=NOW)
    session.commit()
    assert client.get("/", follow_redirects=False).headers["location"] == "/signin"


def test_a_signed_mail_link_opens_its_task_and_dies_with_the_decision(
    client: TestClient, session: Session, settings: Settings
) -> None:
    from kamflow import approvals, links, org

    task = waiting(session, settings)
    token = links.link_token(task, "head.north", settings.approval_secret)
    opened = client.get(f"/links/{token}", follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == f"/tasks/{task.id}"
    assert 'name="action" value="counter"' in client.get(f"/tasks/{task.id}").text  # signed in as head.north
    # a full character of the signature changed: its last one has spare bits, and 3 others decode the same
    changed = token[:-3] + ("B" if token[-3] == "A" else "A") + token[-2:]
    assert client.get(f"/links/{changed}").status_code == 403
    head = org.employee(session, "head.north")
    approvals.claim(session, task, by=head, action="approve", comment="", payload={}, now=NOW)
    session.commit()
    dead = client.get(f"/links/{token}")
    assert dead.status_code == 410 and f"this link is dead: task {task.id} was decided" in dead.text


def test_my_requests_lists_what_i_started_and_a_withdrawn_one_leaves_the_approvers_inbox(
    client: TestClient, session: Session, settings: Settings
) -> None:
    task = waiting(session, settings)
    sign_in(client, "kam.north1")
    page = client.get("/requests").text
    assert "waiting for head.north" in page and 'action="/requests/discount-authorization/' in page
    history = client.get(f"/requests/discount-authorization/{task.subject_id}").text
    assert f"task {task.id} opened for head.north" in history

    sign_in(client, "kam.north2")  # not theirs to take back
    form = {"csrf": csrf(client, "/requests"), "reason": "mine now"}
    taken = client.post(f"/requests/discount-authorization/{task.subject_id}/withdraw", data=form)
    assert taken.status_code == 403 and "only kam.north1 may withdraw" in taken.text
    assert client.get(f"/requests/discount-authorization/{task.subject_id}").status_code == 403

    sign_in(client, "kam.north1")
    form = {"csrf": csrf(client, "/requests"), "reason": "the customer changed the order"}
    done = client.post(f"/requests/discount-authorization/{task.subject_id}/withdraw", data=form)
    assert done.status_code == 200 and "Withdrawn." in done.text and "WITHDRAWN" in done.text
    session.refresh(task)
    assert task.status == "cancelled"
    sign_in(client, "head.north")
    assert f'href="/tasks/{task.id}"' not in client.get("/").text


def test_a_documents_task_shows_its_text_and_the_answers_of_its_step(client: TestClient, session: Session) -> None:
    from tests.unit.documents.conftest import submit
    from tests.unit.documents.conftest import waiting as document_waiting

    document = submit(session)  # a job description by head.north: legal, hr, planning and a head agree first
    task = document_waiting(session, document)["legal"]
    session.commit()
    sign_in(client, "legal")
    inbox = client.get("/").text
    assert f'href="/tasks/{task.id}"' in inbox and "job description, version 1" in inbox
    page = client.get(f"/tasks/{task.id}").text
    assert re.findall(r'name="action" value="(\w+)"', page) == ["approve", "return", "reject"]
    assert "General provisions" in page  # the text, readable
    assert 'name="content"' not in page  # an agreement does not correct the text; the director's approval may


def test_a_blocked_order_shows_in_the_credit_controllers_inbox_with_its_amount_over_the_limit(
    client: TestClient, session: Session, settings: Settings
) -> None:
    from kamflow import approvals
    from kamflow.credit import orders
    from tests.unit.credit.test_orders import blocked_order

    check = blocked_order(session)
    task = approvals.open_task(
        session,
        process=orders.PROCESS,
        subject_id=check.id,
        title=f"Order for {check.customer.code}",
        explanation="",
        role=check.decision["role"],
        requester=check.requester,
        flow_run_id=None,
        now=NOW,
        deadline=settings.approval_deadline,
    )
    session.commit()
    sign_in(client, task.owner.login)
    row = client.get("/").text.split(f'href="/tasks/{task.id}"', 1)[1].split("</tr>", 1)[0]
    assert "C0001" in row and "over the limit" in row
    page = client.get(f"/tasks/{task.id}").text
    assert re.findall(r'name="action" value="(\w+)"', page) == ["release", "release_with_prepayment", "reject"]
    assert 'name="amount"' in page


def test_under_required_sign_in_a_mail_link_asks_its_person_to_sign_in_and_then_opens_the_task(
    client: TestClient, session: Session, settings: Settings
) -> None:
    from kamflow import links

    give_demo_passwords(session, now=NOW)
    task = waiting(session, settings)
    use_settings(settings.model_copy(update={"auth": "required"}))
    token = links.link_token(task, "head.north", settings.approval_secret)
    asked = client.get(f"/links/{token}")
    assert asked.status_code == 200 and "sign in as head.north to open this task" in asked.text
    form = {"csrf": csrf(client, f"/links/{token}"), "login": "head.north", "password": "kamflow-demo"}
    done = client.post("/signin", data=form, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/tasks/{task.id}"


def test_the_session_cookie_is_signed_strict_and_secure_when_the_workspace_is_served_over_https(
    settings: Settings,
) -> None:
    from kamflow.app.server import create_app

    served = settings.model_copy(update={"server_url": "https://kamflow.example.com"})
    with TestClient(create_app(served), base_url="https://kamflow.example.com") as client:
        cookie = client.get("/signin").headers["set-cookie"].lower()
    assert cookie.startswith("kamflow_session=") and "secure" in cookie
    assert "samesite=strict" in cookie and "httponly" in cookie


def test_a_discount_for_a_customer_with_overdue_debt_shows_it_in_the_inbox(
    client: TestClient, session: Session, settings: Settings
) -> None:
    from kamflow import approvals, discounts
    from kamflow.discounts import service as discount_requests
    from tests.unit.test_discounts import ask

    row = discount_requests.submit(
        session, request=ask(session, "C0002", discount_pct="1"), flow_run_id=None, now=NOW
    )
    overdue = Decimal(row.decision["facts"]["overdue_amount"])
    assert overdue > 0  # C0002 is more than 30 days overdue in the demo company
    task = approvals.open_task(
        session,
        process=discounts.PROCESS,
        subject_id=row.id,
        title="Discount for C0002",
        explanation="",
        role="department_head",
        requester=row.requester,
        flow_run_id=None,
        now=NOW,
        deadline=settings.approval_deadline,
    )
    session.commit()
    sign_in(client, task.owner.login)
    line = client.get("/").text.split(f'href="/tasks/{task.id}"', 1)[1].split("</tr>", 1)[0]
    assert f"{overdue:,.2f} overdue" in line


def a_collection_task(session: Session, login: str) -> CollectionTask:
    """The nightly review of TODAY, and one of the open collection tasks it gave `login` (committed)."""
    from kamflow import org
    from kamflow.review import collection
    from tests.conftest import TODAY
    from tests.unit.review.conftest import review

    review(session, TODAY)
    task, _code = collection.tasks_for(session, org.employee(session, login), on=TODAY)[0]
    return task


def test_a_collection_task_is_in_its_kams_inbox_and_done_on_its_page_then_gone(
    client: TestClient, session: Session
) -> None:
    task = a_collection_task(session, "kam.north2")
    sign_in(client, "kam.north2")
    row = client.get("/").text.split(f'href="/collection/{task.id}"', 1)[1].split("</tr>", 1)[0]
    assert f"{task.amount:,.2f} overdue" in row and "nightly credit review" in row
    assert f'href="/collection/{task.id}"' in client.get("/", params={"process": "collection"}).text
    discounts_only = client.get("/", params={"process": "discount-authorization"}).text
    assert f'href="/collection/{task.id}"' not in discounts_only
    page = client.get(f"/collection/{task.id}").text
    assert task.reasons[0]["text"] in page and 'name="note"' in page
    heading = title(task, session.get_one(Customer, task.customer_id).code)
    assert f"<h1>{html.escape(heading)} <small>" in page and heading.endswith(" for C0002")  # kam.north2's

    answer = client.post(f"/collection/{task.id}", data={"note": "called, pays Friday"})
    assert answer.status_code == 403  # no form token
    session.refresh(task)
    assert task.status == "open"

    form = {"csrf": csrf(client, f"/collection/{task.id}"), "note": "called, pays Friday"}
    done = client.post(f"/collection/{task.id}", data=form)
    assert done.status_code == 200 and "Done." in done.text and 'name="note"' not in done.text
    session.refresh(task)
    assert (task.status, task.note) == ("done", "called, pays Friday")
    [event] = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "collection_task_done", AuditEvent.subject_id == task.id)
    ).all()
    assert event.actor == "kam.north2"
    assert f'href="/collection/{task.id}"' not in client.get("/").text
    again = client.post(f"/collection/{task.id}", data=form)
    assert again.status_code == 400 and "Refused:" in again.text and "already done" in again.text


def test_another_kam_may_not_open_a_collection_task_and_one_who_sees_it_may_not_complete_it(
    client: TestClient, session: Session
) -> None:
    task = a_collection_task(session, "kam.north2")
    sign_in(client, "kam.south1")
    assert client.get(f"/collection/{task.id}").status_code == 403
    refusal = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert refusal is not None and (refusal.action, refusal.actor) == ("access_refused", "kam.south1")
    sign_in(client, "credit")  # the credit controller sees every customer, and is not the assignee
    page = client.get(f"/collection/{task.id}")
    assert page.status_code == 200 and 'name="note"' not in page.text
    form = {"csrf": csrf(client, f"/collection/{task.id}"), "note": "not mine"}
    refused = client.post(f"/collection/{task.id}", data=form)
    assert refused.status_code == 403 and "Refused:" in refused.text and "is for kam.north2" in refused.text
    session.refresh(task)
    assert task.status == "open"


def test_a_number_in_an_address_beyond_any_key_is_refused_before_the_database_is_asked(
    client: TestClient, session: Session, settings: Settings
) -> None:
    task = waiting(session, settings)
    sign_in(client, "head.north")
    for number in ("0", "9223372036854775808", "99999999999999999999999"):
        assert client.get(f"/tasks/{number}").status_code == 422
        assert client.get(f"/collection/{number}").status_code == 422
        assert client.get(f"/requests/discount-authorization/{number}").status_code == 422
    assert client.get(f"/tasks/{task.id}").status_code == 200


def test_a_collection_tasks_page_gives_its_reasons_in_the_readers_language(
    client: TestClient, session: Session
) -> None:
    task = a_collection_task(session, "kam.north2")
    sign_in(client, "kam.north2")
    kept = [reason["text"] for reason in task.reasons]
    assert all(f"<li>{escape(text)}</li>" in client.get(f"/collection/{task.id}").text for text in kept)
    reader = session.scalars(select(Employee).where(Employee.login == "kam.north2")).one()
    reader.language = "es"
    session.commit()
    page = client.get(f"/collection/{task.id}").text
    shown = re.findall(r"<li>(.*?)</li>", page.split('<ul class="reasons">', 1)[1].split("</ul>", 1)[0])
    assert len(shown) == len(kept) and not set(shown) & {str(escape(text)) for text in kept}
    if task.action == "dunning":
        assert shown[0].startswith(f"Nivel de reclamación {task.level} (")


def test_a_customers_page_shows_the_latest_review_and_its_open_collection_tasks(
    client: TestClient, session: Session
) -> None:
    """What the nightly review found for the customer (ageing, payment behaviour, the rules' decision and why)
    and the collection tasks still open, each linked; before any review, it says so."""
    from kamflow.review.tables import CreditReview, CustomerReview

    sign_in(client, "credit")  # sees every customer
    before = client.get("/customers/C0002").text
    assert "No completed credit review has reviewed this customer yet." in before and "None open." in before
    task = a_collection_task(session, "kam.north2")
    code = session.get_one(Customer, task.customer_id).code
    page = client.get(f"/customers/{code}").text
    found = session.scalars(select(CustomerReview).where(CustomerReview.customer_id == task.customer_id)).one()
    [review] = session.scalars(select(CreditReview)).all()
    assert review.rules_version is not None
    assert "Latest credit review" in page and f"dunning level {found.dunning_level};" in page
    decided = f"the rules' decision: {found.outcome.replace('_', ' ')} (rules version {review.rules_version[:12]})"
    assert decided in page
    assert review.bucket_labels == ["1-30", "31-60", "61-90", "over 90"]
    assert all(f'<th class="num">{days}</th>' in page for days in ("1-30 days", "61-90 days", "over 90 days"))
    assert f'<td class="num">{found.overdue:,.2f}</td>' in page
    assert found.reasons and all(f"<li>{escape(reason['text'])}</li>" in page for reason in found.reasons)
    opened = session.scalars(
        select(CollectionTask).where(
            CollectionTask.customer_id == task.customer_id, CollectionTask.status == "open"
        )
    ).all()
    assert opened and all(f'<a href="/collection/{t.id}">{t.id}</a>' in page for t in opened)
    reads = session.scalars(select(AuditEvent).where(AuditEvent.action == "customer_read")).all()
    assert [(e.actor, e.detail["what"]) for e in reads] == [("credit", "exposure and credit review")] * 2


def test_a_limit_change_task_shows_the_exposure_against_the_limit_in_the_inbox(
    client: TestClient, session: Session
) -> None:
    from kamflow.models import Employee
    from kamflow.review.tables import CustomerReview

    a_collection_task(session, "kam.north2")  # the night's review
    task = session.scalars(
        select(CollectionTask).where(CollectionTask.action == "propose_limit_change").order_by(CollectionTask.id)
    ).first()
    assert task is not None
    found = session.scalars(
        select(CustomerReview).where(
            CustomerReview.review_id == task.review_id, CustomerReview.customer_id == task.customer_id
        )
    ).one()
    assert found.credit_limit is not None
    sign_in(client, session.get_one(Employee, task.assignee_id).login)
    row = client.get("/").text.split(f'href="/collection/{task.id}"', 1)[1].split("</tr>", 1)[0]
    assert f"exposure {found.exposure:,.2f} of limit {found.credit_limit:,.2f}" in row, row
