"""The citizen Q&A in a real browser: a citizen asks in the chat widget (in Simplified characters, with
a phone number), gets the answer, marks it unhelpful; the demo clerk finds the question, masked, in the
review queue. Screenshots of both pages go to docs/screenshots/."""

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CLERK = ("clerk", "clerk-demo-2019")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_citizen_asks_marks_unhelpful_and_staff_see_it_in_review(page):
    page.goto("/chatbot/")
    widget = page.locator("[data-chat-widget]")
    widget.locator("input[name=question]").fill("身份证丢了怎么补办 我电话0912345678")
    widget.locator("button[type=submit]").click()

    answer = widget.locator(".chat-log .chat-answer").first
    answer.wait_for()
    assert "身分證遺失怎麼補發" in answer.inner_text()
    assert "戶政事務所" in answer.inner_text()
    if os.environ.get("CIVICSTACK_SCREENSHOTS") or not (SCREENSHOTS / "chatbot-chat.png").exists():
        page.screenshot(path=str(SCREENSHOTS / "chatbot-chat.png"), full_page=True)
    answer.locator("button[data-helpful=false]").click()
    page.locator(".chat-feedback", has_text="回饋").or_(
        page.locator(".chat-feedback", has_text="feedback")
    ).wait_for()

    page.goto("/login/?next=/chatbot/staff/review/")
    page.locator("#id_username").fill(CLERK[0])
    page.locator("#id_password").fill(CLERK[1])
    page.locator("main button[type=submit]").click()
    page.wait_for_url("**/chatbot/staff/review/")

    cluster = page.locator("article.cluster", has_text="身份证丢了怎么补办")  # stored as typed, masked
    assert cluster.count() == 1
    text = cluster.inner_text()
    assert "[phone]" in text and "0912345678" not in text
    assert cluster.locator("input[name=entry_id]").input_value() == "F0001"
    if os.environ.get("CIVICSTACK_SCREENSHOTS") or not (SCREENSHOTS / "chatbot-review.png").exists():
        page.screenshot(path=str(SCREENSHOTS / "chatbot-review.png"), full_page=True)
    assert page.csp_violations == []
