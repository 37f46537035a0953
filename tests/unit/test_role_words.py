"""Reports and the resume form name roles as people say them (the department head), never by their ids."""

from __future__ import annotations

from sqlalchemy.orm import Session

from flows.human import task_markdown
from kamflow.credit import reports, solvency
from kamflow.demo_data import EMPLOYEES
from kamflow.discounts.views import decision_markdown
from kamflow.reports import words
from kamflow.settings import Settings
from tests.conftest import NOW, customer
from tests.unit.credit.conftest import change, headroom, order
from tests.unit.test_processes import waiting_discount

ROLE_IDS = {role for *_person, role, _manager in EMPLOYEES if "_" in role}  # department_head, credit_controller …


def names_a_role_id(text: str) -> bool:
    return any(role in text for role in ROLE_IDS)


def test_words() -> None:
    assert words("department_head") == "department head"
    assert words("credit_controller") == "credit controller"
    assert (words("kam"), words("hr"), words("director")) == ("KAM", "HR", "director")
    assert (words("kam_call"), words("propose_limit_change")) == ("KAM call", "propose limit change")


def test_credit_reports_name_whom_the_rules_sent_a_decision_to(session: Session) -> None:
    blocked = order(session, "C0001", headroom(session, "C0001") + 1)
    text = reports.order_markdown(blocked)
    assert "said **block** (to the **credit controller**):" in text and not names_a_role_id(text)

    far_over = reports.order_markdown(order(session, "C0001", headroom(session, "C0001") + 60000))
    assert "(to the **department head**)" in far_over

    old_limit = customer(session, "C0001").credit_limit
    assert old_limit is not None
    kam_asks = change(session, "C0001", old_limit + 1000, requester="kam.north1")
    assert "(to the **credit controller**)" in reports.limit_markdown(kam_asks)

    request = solvency.SolvencyCheckIn.model_validate({"customer": "C0002", "requester": "credit"})
    distress = reports.solvency_markdown(solvency.submit(session, request=request, flow_run_id=None, now=NOW))
    assert "(to the **department head**)" in distress and not names_a_role_id(distress)


def test_the_discount_report_and_the_form_text_name_the_role(session: Session, settings: Settings) -> None:
    row, task = waiting_discount(session, settings)
    assert "said **escalate** (to the **department head**):" in decision_markdown(row)
    text = task_markdown(task, assignee="head.north")
    assert "for **head.north** (department head)" in text and not names_a_role_id(text)
