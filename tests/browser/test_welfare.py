"""The welfare interview in a real browser: a 66-year-old of 大溪區 with a mid-low income answers
one question a page (going back once to change an answer) until every benefit is decided, and sees
the senior benefits he qualifies for, each with its explanation. Screenshots for docs/welfare.md."""

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

PERSONA = {
    "age": "66", "sex": "M", "district": "大溪區", "residence_years": "30", "income_class": "mid_low",
    "disability_level": "none", "indigenous": "false", "children_under_18": "0", "student_level": "none",
    "employment": "not_working", "housing": "own", "veteran": "false", "farmer": "false", "single_parent": "false",
    "recent_birth": "false", "pregnant": "false",
}  # fmt: skip


def answer(page, fact: str, value: str) -> None:
    number = page.locator("input[type=number]#value")
    if number.count():
        number.fill(value)
    else:
        page.locator(f"input[name=value][value='{value}']").check()
    page.locator("#next").click()


def test_senior_of_daxi_finds_his_benefits(page):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/welfare/")
    page.locator("#start").click()
    page.wait_for_url("**/welfare/interview/**")
    asked = []
    went_back = False
    for _ in range(len(PERSONA) + 2):
        if "/results/" in page.url:
            break
        fact = page.locator("input[name=fact]").first.input_value()
        if not asked:
            if os.environ.get("CIVICSTACK_SCREENSHOTS"):  # refresh docs/screenshots on request only
                page.screenshot(path=str(SCREENSHOTS / "welfare-question.png"), full_page=True)
            page.set_viewport_size({"width": 390, "height": 844})  # a phone: nothing scrolls sideways
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            page.set_viewport_size({"width": 1280, "height": 900})
        if len(asked) == 2 and not went_back:
            # a wrong answer, then back: the same question again, with the wrong answer shown
            answer(page, fact, "99" if fact in ("age", "residence_years") else PERSONA[fact])
            page.locator("#back").click()
            assert page.locator("input[name=fact]").first.input_value() == fact
            went_back = True
        asked.append(fact)
        answer(page, fact, PERSONA[fact])
        page.wait_for_load_state()
    page.wait_for_url("**/results/")
    assert len(asked) < len(PERSONA), asked  # fewer than the full form (17 facts)
    eligible = page.locator("ul[aria-labelledby=eligible]").inner_text()
    for name in ("中低收入老人生活津貼", "重陽敬老禮金", "敬老愛心卡", "大溪區長者重陽節慶活動禮品"):
        assert name in eligible
    assert "生育津貼" not in eligible
    assert "66" in eligible and "大溪區" in eligible  # the explanations name his facts
    assert page.locator("#undecided").count() == 0  # everything decided
    page.evaluate("window.scrollTo(0, 0)")
    if os.environ.get("CIVICSTACK_SCREENSHOTS"):  # refresh docs/screenshots on request only
        page.screenshot(path=str(SCREENSHOTS / "welfare-results.png"), full_page=False)
    assert page.csp_violations == []


def test_supervisor_edits_a_rule_and_sees_validation(page):
    """The demo supervisor (中壢區公所) opens a benefit of her office, saves a contradictory rule,
    and reads the problem; the screenshot of the rule editor goes to the docs."""
    page.goto("/login/?next=/welfare/staff/")
    page.locator("#id_username").fill("supervisor")
    page.locator("#id_password").fill("supervisor-demo-2019")
    page.locator("main button[type=submit]").click()
    page.wait_for_url("**/welfare/staff/")
    page.locator("a", has_text="中壢區急難慰助金").click()
    page.wait_for_url("**/welfare/staff/benefits/**")
    page.locator("#condition").fill(
        '{"all": [{"fact": "age", "op": ">=", "value": 65}, {"fact": "age", "op": "<", "value": 18}]}'
    )
    page.locator("#effective_from").fill("2030-01-01")
    page.locator("form.card button[type=submit]").click()
    problems = page.locator("#rule-problems li")
    problems.first.wait_for()
    assert problems.count() == 1 and "age" in problems.first.inner_text()  # contradictory conditions on age
    page.evaluate("window.scrollTo(0, 0)")
    if os.environ.get("CIVICSTACK_SCREENSHOTS"):
        page.screenshot(path=str(SCREENSHOTS / "welfare-rule-editor.png"), full_page=True)
    assert page.csp_violations == []


def test_supervisor_edits_a_benefits_details(page):
    """The demo supervisor opens the details of a benefit of her office from the rule editor, leaves
    the name empty and reads the error next to the field, then saves a new description."""
    page.goto("/login/?next=/welfare/staff/")
    page.locator("#id_username").fill("supervisor")
    page.locator("#id_password").fill("supervisor-demo-2019")
    page.locator("main button[type=submit]").click()
    page.wait_for_url("**/welfare/staff/")
    page.locator("a", has_text="中壢區急難慰助金").click()
    page.wait_for_url("**/welfare/staff/benefits/**")
    page.locator("#details-link").click()
    page.wait_for_url("**/details/")
    name = page.locator("#id_name").input_value()
    page.locator("#id_name").fill("")
    page.locator("#save-details").click()
    page.locator("#id_name-error").wait_for()
    page.locator("#id_name").fill(name)
    page.locator("#id_amount_text").fill("每戶最高新臺幣一萬元")
    page.locator("#save-details").click()
    page.wait_for_url("**/details/")
    assert page.locator("#id_amount_text").input_value() == "每戶最高新臺幣一萬元"
    assert page.locator("#id_name-error").count() == 0
    assert page.csp_violations == []
