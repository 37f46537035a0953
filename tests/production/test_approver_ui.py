"""A department head decides in the real Prefect UI: headless Chromium (Debian's, never a downloaded one)
logs in to the authenticated UI on loopback, finds the waiting approval among the runs, opens "⋮" → Resume,
reads the decision's reasons, fills the form — plain fields, no task number, one text box for the
counter-offer, a malformed number refused naming the field — and submits a counter-offer; the domain database
shows the exact Decimal granted. A screenshot of the form is kept in tests/production/artifacts/."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from prefect import get_client

from kamflow.db import unit_of_work
from kamflow.discounts.tables import DiscountRequest
from kamflow.reports import plain
from tests.integration.conftest import wait_until
from tests.production.conftest import (
    CHROMIUM,
    Production,
    chromium_missing,
    decisions,
    escalate,
    require,
    settled,
)
from tests.support import approval_code, kam_and_norm

pytestmark = pytest.mark.production

ARTIFACTS = Path(__file__).parent / "artifacts"
# Debian's Chromium as root, offline: the flags the machine's notes give (Playwright adds a fresh profile).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def test_a_department_head_decides_in_the_prefect_ui(prod: Production) -> None:
    require(chromium_missing())
    from playwright.sync_api import expect, sync_playwright

    view = escalate(prod)  # asks 2 points above the norm
    counter = plain(kam_and_norm()[1] + Decimal("1.5"))  # as a person types it: below what was asked, e.g. 16.5
    with get_client(sync_client=True) as client:
        run_name = client.read_flow_run(view["flow_run_id"]).name
    ARTIFACTS.mkdir(exist_ok=True)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 2200})
            page.set_default_timeout(30_000)
            page.goto(prod.ui_url)
            page.get_by_placeholder("admin:pass").fill(prod.auth_string)
            page.get_by_role("button", name="Login").click()
            page.get_by_role("link", name="Runs", exact=True).click()
            page.get_by_role("link", name=run_name, exact=True).click()
            page.get_by_role("button", name="Open menu").click()
            page.get_by_role("menuitem", name="Resume").click()

            form = page.get_by_role("dialog", name="Resume Flow Run")
            # The reasons arrive as rendered markdown: a table of the request and a list of the rules that fired.
            expect(form.locator("table")).to_contain_text("C0001")
            expect(form.locator("li").filter(has_text="above-norm")).to_be_visible()
            expect(form).not_to_contain_text("**")
            expect(form).to_contain_text("(to the department head)")
            expect(form).to_contain_text("for head.north (department head)")
            expect(form).not_to_contain_text("department_head")
            # The fields a department head fills, and nothing else: no task number, no choice of value types.
            expect(form.locator("label")).to_have_text(
                [
                    "Your login",
                    "Your approval code",
                    "Decision",
                    "Counter-offer (%) (Optional)",
                    "Comment (Optional)",
                ]
            )
            expect(form.get_by_label(re.compile(r"^Task"))).to_have_count(0)
            expect(form).not_to_contain_text("Property is type")
            for kind in ("float", "str", "None"):
                expect(form.get_by_role("button", name=kind, exact=True)).to_have_count(0)
            expect(form).to_contain_text(
                "Only the person the task is for, or whoever stands in for them, may decide."
            )
            offered = form.get_by_label("Counter-offer (%)")
            expect(offered).to_have_count(1)

            form.get_by_label("Your login").fill("head.north")
            form.get_by_label("Your approval code").fill(approval_code(view["task_id"], "head.north"))
            form.get_by_label("Comment").fill("Counter-offer in the UI: strategic customer")
            form.get_by_label("Decision").click()
            page.get_by_role("option", name="counter", exact=True).click()
            offered.fill("7,5 %")  # not a number: Prefect refuses it, naming the field; the form stays open
            form.get_by_role("button", name="Resume", exact=True).click()
            expect(page.get_by_text("Validation failed for field 'discount_pct'")).to_be_visible()
            offered.fill(counter)
            form.screenshot(path=ARTIFACTS / "approval-form.png")
            form.get_by_role("button", name="Resume", exact=True).click()
            expect(page.get_by_text("Flow run resumed")).to_be_visible()
        finally:
            browser.close()

    assert wait_until("the decision from the UI", lambda: settled(view["request_id"]), timeout=120) == "approved"
    with unit_of_work() as session:
        request = session.get(DiscountRequest, view["request_id"])
        assert request is not None and request.granted_pct == Decimal(counter)
    [event] = decisions(view["task_id"])
    assert event.actor == "head.north"
    assert event.detail.get("comment") == "Counter-offer in the UI: strategic customer"
    assert event.detail["payload"] == {"action": "counter", "discount_pct": counter}
