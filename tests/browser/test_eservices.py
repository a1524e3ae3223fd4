"""Cross-district filing in a real browser: the demo citizen, registered in 中壢區, files an
application at 桃園區's district office; the item's rule transfers it to 中壢區's office, whose
clerk (the demo clerk) requests a supplement; the citizen supplements with a new file; the clerk
approves; the citizen's timeline shows every step, with both offices visible."""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from civicstack.eservices.demo import blank_form_pdf

from .conftest import log_in

pytestmark = pytest.mark.browser

CITIZEN = ("citizen", "citizen-demo-2019")  # registered in 中壢區 (the demo clerk's district)
CLERK = ("clerk", "clerk-demo-2019")  # a clerk of 中壢區公所
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def pdf(name: str) -> dict:
    return {"name": name, "mimeType": "application/pdf", "buffer": blank_form_pdf("證明文件")}


def new_page(browser, live_demo, violations):
    context = browser.new_context(base_url=live_demo, locale="zh-TW", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("console", lambda msg: "Content Security Policy" in msg.text and violations.append(msg.text))
    return context, page


def test_citizen_files_across_districts_clerk_requests_supplement_then_approves(browser, live_demo):
    violations: list[str] = []
    citizen_context, page = new_page(browser, live_demo, violations)

    # The citizen finds the item by words (segmented search) and applies, prefilled with consent.
    log_in(page, CITIZEN, "/eservices/")
    page.locator("#q").fill("育兒 津貼")
    page.locator("form.filters button[type=submit]").click()
    page.locator("a", has_text="育兒津貼申請").first.click()
    page.wait_for_url("**/eservices/items/SW-CHILD/")
    page.locator("a[href$='apply/?prefill=1']").click()
    assert page.locator("#f-applicant_name").input_value()  # prefilled from the registry
    page.locator("#receiving_office").select_option(label="桃園市桃園區公所")
    page.locator("#f-phone").fill("0912345678")
    page.locator("#f-purpose").select_option("就學")
    # the mailing address question appears only when mail delivery is chosen
    expect(page.locator("#q-mailing_address")).to_be_hidden()  # form.js hides it once it has run
    page.locator("input[name=delivery][value=郵寄]").check()
    expect(page.locator("#q-mailing_address")).to_be_visible()
    page.locator("#f-mailing_address").fill("桃園市中壢區中央西路二段1號")
    page.locator("#f-supporting_document").set_input_files(pdf("在學證明.pdf"))
    page.locator("button[name=continue]").click()
    page.wait_for_url("**/review/")
    assert "在學證明.pdf" in page.locator("table.answers").inner_text()
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/done/")
    number = page.locator("[data-receipt-number]").inner_text().strip()
    assert re.fullmatch(r"E\d{12}", number)
    facts = page.locator("dl.facts").inner_text()
    assert "桃園市桃園區公所" in facts and "桃園市中壢區公所" in facts  # received in 桃園, handled in 中壢
    receipt = page.request.get(f"/eservices/my/{number}/receipt.pdf")
    assert receipt.ok and receipt.body().startswith(b"%PDF-")

    # The clerk of 中壢區公所 (the handling office) receives it and requests a supplement.
    clerk_context, clerk = new_page(browser, live_demo, violations)
    log_in(clerk, CLERK, "/eservices/staff/")
    row = clerk.locator(f"tr[data-number='{number}']")
    assert "跨區" in row.inner_text() or "Cross-district" in row.inner_text()
    row.locator("a", has_text=number).click()
    clerk.wait_for_url(f"**/eservices/staff/{number}/")
    clerk.locator("button[value=receive]").click()
    clerk.wait_for_url(f"**/eservices/staff/{number}/")
    clerk.locator("#reason").fill("請補附三個月內之戶口名簿影本。")
    clerk.locator("button[value=request_supplement]").click()
    clerk.wait_for_url(f"**/eservices/staff/{number}/")
    assert clerk.locator("[data-state]").get_attribute("data-state") == "supplement"

    # The citizen sees the request and supplements with a new file and a note.
    page.goto(f"/eservices/my/{number}/")
    assert "戶口名簿" in page.locator("[data-supplement-request]").inner_text()
    page.locator("#f-supporting_document").set_input_files(pdf("戶口名簿影本.pdf"))
    page.locator("#note").fill("已補附戶口名簿影本。")
    page.locator("section.notice button[type=submit]").click()
    page.wait_for_url(f"**/eservices/my/{number}/")
    assert page.locator("[data-state]").get_attribute("data-state") == "in_review"

    # The clerk sees both files and approves.
    clerk.goto(f"/eservices/staff/{number}/")
    files = clerk.locator("main ul li").all_inner_texts()
    assert any("戶口名簿影本.pdf" in text for text in files) and any("在學證明.pdf" in text for text in files)
    clerk.locator("button[value=approve]").click()
    clerk.wait_for_url(f"**/eservices/staff/{number}/")
    assert clerk.locator("[data-state]").get_attribute("data-state") == "approved"
    clerk_context.close()

    # The citizen's timeline shows every step in order.
    page.goto(f"/eservices/my/{number}/")
    assert page.locator("[data-state]").get_attribute("data-state") == "approved"
    steps = page.locator("[data-timeline] li").evaluate_all("items => items.map(i => i.dataset.action)")
    assert steps == ["draft_saved", "submitted", "receive", "request_supplement", "supplemented", "approve"]
    assert "請補附三個月內之戶口名簿影本" in page.locator("[data-timeline]").inner_text()
    assert violations == []
    citizen_context.close()


def test_an_administrator_adds_a_question_to_an_online_form_without_writing_json(page):
    log_in(page, ("cityadmin", "cityadmin-demo-2019"), "/eservices/staff/items/")
    page.locator("#q").fill("SW-CHILD")
    page.locator("form.filters button[type=submit]").click()
    page.locator("a", has_text="SW-CHILD").click()
    page.wait_for_url("**/eservices/staff/items/SW-CHILD/")
    page.locator("a[href$='/form/']").click()
    page.wait_for_url("**/form/")
    assert page.locator("input[value=申請用途]").count() == 1  # the current questions, ready to edit
    blank = page.locator("fieldset.question").nth(-2)  # the first of the two empty rows
    blank.locator("input[name$='-label']").fill("子女就讀學校")
    blank.locator("input[name$='-name']").fill("child_school")
    blank.locator("select[name$='-kind']").select_option("text")
    blank.locator("input[name$='-section']").fill("申請內容")
    blank.locator("summary").click()
    blank.locator("input[name$='-show_if']").fill("purpose")
    blank.locator("input[name$='-show_if_value']").fill("就學")
    page.locator("button[name=preview]").click()
    assert page.locator(".form-preview #q-child_school").count() == 1
    if os.environ.get("CIVICSTACK_SCREENSHOTS"):  # refresh docs/screenshots on request only
        page.screenshot(path=SCREENSHOTS / "eservices-form-builder.png", full_page=False)
    page.locator("button[name=publish]").click()
    page.wait_for_url("**/eservices/staff/items/SW-CHILD/")
    assert page.locator(".messages .success").is_visible()

    # A citizen's new application uses the new version: the question shows when the purpose is 就學.
    page.goto("/eservices/items/SW-CHILD/apply/")
    expect(page.locator("#q-child_school")).to_be_hidden()  # form.js hides it once it has run
    page.locator("#f-purpose").select_option("就學")
    expect(page.locator("#q-child_school")).to_be_visible()
    assert page.csp_violations == []
