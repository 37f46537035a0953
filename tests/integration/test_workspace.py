"""The approvers' workspace in a real browser: headless Chromium (Debian's) against the workspace a real
`kamflow serve` runs, over a real runner and Prefect API. One browser for the module; each person in their own
browser context (their own session cookie). Screenshots of the inbox, the task page and its timeline are kept
under KAMFLOW_TEST_ARTIFACTS (default test-artifacts/)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from kamflow import approvals, links, org
from kamflow.app.runs import Answer, decide, start
from kamflow.db import unit_of_work
from kamflow.discounts import PROCESS
from kamflow.discounts import service as discounts
from kamflow.discounts.tables import DiscountRequest
from kamflow.documents import service as documents
from kamflow.documents import text as document_text
from kamflow.documents.tables import Signature
from kamflow.reports import plain
from kamflow.views import View
from tests.integration.conftest import Stack, logs
from tests.integration.test_document_process import task_of, write_agreement
from tests.production.conftest import CHROMIUM, chromium_missing, require
from tests.production.test_approver_ui import CHROMIUM_FLAGS
from tests.support import kam_and_norm

pytestmark = pytest.mark.integration

ARTIFACTS = Path(os.environ.get("KAMFLOW_TEST_ARTIFACTS") or "test-artifacts")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require(chromium_missing())
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield chromium
        chromium.close()


def signed_in(browser: Any, stack: Stack, login: str) -> Any:
    """A page of a fresh browser session in which `login` signed in through the demo mode's person picker."""
    context = browser.new_context(base_url=stack.settings.web_url, viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto("/signin")
    page.get_by_label("Person").select_option(login)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
    return page


def off_loop(work: Callable[[], View]) -> dict[str, Any]:
    """Run a command's work in a thread of its own: Playwright's sync API keeps an event loop running in this one,
    where Prefect's sync client would hand back coroutines."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(work).result().model_dump(mode="json")


def request(pct: Decimal) -> dict[str, Any]:
    """C0001's KAM asks a discount (in this process, through the real runner, as `kamflow discount request`)."""
    kam, _ = kam_and_norm()
    asked = discounts.DiscountRequestIn(
        customer="C0001", price_column=3, discount_pct=pct, order_total=Decimal(150000), requester=kam
    )
    return off_loop(lambda: start(PROCESS, asked))


def approve(task_id: str, login: str) -> dict[str, Any]:
    """`login` approves a task in this process (as `kamflow decide` does)."""
    return off_loop(lambda: decide(int(task_id), login=login, answer=Answer(action="approve")))


def ok(stack: Stack, *args: str) -> dict[str, Any]:
    done = stack.kamflow(*args, "--json")
    assert done.returncode == 0, done.stdout + done.stderr + logs(stack.settings.data_dir / "runner.log")
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_a_head_counters_in_the_browser_and_the_kam_sees_it_while_another_kam_is_kept_out(
    live: Stack, browser: Any
) -> None:
    from playwright.sync_api import expect

    kam, norm = kam_and_norm()
    view = request(norm + 2)
    task_id, head = view["task_id"], view["assignee"]
    with unit_of_work() as session:
        head_name = org.employee(session, head).full_name
    page = signed_in(browser, live, head)
    row = page.locator("tr", has=page.locator(f'a[href="/tasks/{task_id}"]'))
    expect(row).to_contain_text(f"Discount {view['request_id']} for C0001")
    expect(row).to_contain_text(f"asks {plain(norm + 2)}% vs norm {plain(norm)}%")
    page.screenshot(path=ARTIFACTS / "inbox.png", full_page=True)

    row.get_by_role("link", name=f"Discount {view['request_id']} for C0001").click()
    expect(page.get_by_role("radio")).to_have_count(3)  # approve, reject, counter: nothing else
    page.screenshot(path=ARTIFACTS / "task.png", full_page=True)
    page.get_by_role("radio", name="counter").check()
    page.get_by_label("Counter-offer (%)").fill("12,5")
    page.get_by_label("Comment").fill("Within the class's norm for this volume")
    page.get_by_role("button", name="Submit").click()
    expect(page.locator(".decided")).to_contain_text(f"COUNTERED 12.5% by {head_name}")
    expect(page.locator(".refused")).to_have_count(0)
    page.locator("ol.timeline").screenshot(path=ARTIFACTS / "timeline.png")
    with unit_of_work() as session:
        assert session.get_one(DiscountRequest, view["request_id"]).granted_pct == Decimal("12.5")

    mine = signed_in(browser, live, kam)
    mine.get_by_role("link", name="My requests").click()
    asked = mine.locator(
        "tr", has=mine.locator(f'a[href="/requests/discount-authorization/{view["request_id"]}"]')
    )
    expect(asked).to_contain_text(f"COUNTERED 12.5% by {head_name}")
    expect(asked).to_contain_text("Within the class's norm for this volume")
    asked.get_by_role("link").first.click()
    expect(mine.locator("ol.timeline")).to_contain_text(f"{head_name}")
    expect(mine.locator("ol.timeline")).to_contain_text("COUNTERED 12.5%")

    other = signed_in(browser, live, "kam.north2")
    assert other.goto(f"/tasks/{task_id}").status == 403
    expect(other.locator(".refused")).to_contain_text("may not see customer C0001")
    assert other.goto("/customers/C0001").status == 403


def test_a_signed_mail_link_opens_the_task_and_is_dead_after_the_decision(live: Stack, browser: Any) -> None:
    from playwright.sync_api import expect

    _, norm = kam_and_norm()
    view = request(norm + 1)
    with unit_of_work() as session:
        task = approvals.get(session, view["task_id"])
        link = links.link_url(
            live.settings.web_url, links.link_token(task, view["assignee"], live.settings.approval_secret)
        )
    context = browser.new_context()
    page = context.new_page()
    page.goto(link)
    page.get_by_role("radio", name="approve").check()
    page.get_by_role("button", name="Submit").click()
    expect(page.locator(".decided")).to_contain_text("APPROVED")
    dead = page.goto(link)
    assert dead is not None and dead.status == 410
    expect(page.locator(".refused")).to_contain_text(f"task {view['task_id']} was decided")


def test_a_directors_correction_in_the_text_area_becomes_the_signed_version(live: Stack, browser: Any) -> None:
    from playwright.sync_api import expect

    view = ok(
        live, "doc", "submit", write_agreement(live), "--type", "discount_agreement", "--field", "customer=C0001",
        "--as", "kam.north1",
    )  # fmt: skip
    approve(task_of(view, "head.north"), "head.north")
    view = approve(task_of(view, "credit"), "credit")
    task_id = task_of(view, "commercial")
    page = signed_in(browser, live, "commercial")
    page.goto(f"/tasks/{task_id}")
    text = page.get_by_label("Corrected text")
    corrected = text.input_value().replace("Column 4, 12 %.", "Column 4, 11.5 %, on orders above 10,000.")
    text.fill(corrected)
    page.get_by_role("radio", name="approve").check()
    page.get_by_role("button", name="Submit").click()
    expect(page.locator(".decided")).to_contain_text("APPROVED")
    expect(page.locator("pre.diff")).to_contain_text("+Column 4, 11.5 %, on orders above 10,000.")
    with unit_of_work() as session:
        document = documents.get(session, view["document_id"])
        signed = documents.version(session, document)
        assert (document.effective_version, signed.number) == (2, 2)
        assert signed.content == document_text.normalise(corrected)
        [signature] = session.scalars(
            select(Signature).where(Signature.document_id == document.id, Signature.kind == "approved")
        )
        assert (signature.version, signature.content_hash) == (2, signed.content_hash)


def test_a_withdrawn_request_disappears_from_the_heads_inbox(live: Stack, browser: Any) -> None:
    from playwright.sync_api import expect

    kam, norm = kam_and_norm()
    view = request(norm + 1)
    head = signed_in(browser, live, view["assignee"])
    expect(head.locator(f'a[href="/tasks/{view["task_id"]}"]').first).to_be_visible()
    mine = signed_in(browser, live, kam)
    mine.goto("/requests")
    asked = mine.locator(
        "tr", has=mine.locator(f'a[href="/requests/discount-authorization/{view["request_id"]}"]')
    )
    asked.get_by_role("textbox").fill("the customer ordered less")
    asked.get_by_role("button", name="Withdraw").click()
    expect(mine.locator(".decided")).to_contain_text("Withdrawn.")
    head.reload()
    expect(head.locator(f'a[href="/tasks/{view["task_id"]}"]')).to_have_count(0)
    with unit_of_work() as session:
        assert session.get_one(DiscountRequest, view["request_id"]).status == "withdrawn"
