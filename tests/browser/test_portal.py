"""The portal in a real browser: home, login, language switch, keyboard use and a phone screen."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_home_renders_in_traditional_chinese_with_service_tiles(page):
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "zh-Hant-TW"
    tiles = page.locator(".tile")
    assert tiles.count() >= 3
    assert page.get_by_role("link", name=re.compile("登入")).first.is_visible()
    # The city's stylesheet is served and applied (header in the brand colour).
    header_colour = page.evaluate("getComputedStyle(document.querySelector('.site-header')).backgroundColor")
    assert header_colour == "rgb(11, 92, 138)"
    assert page.csp_violations == []


def test_citizen_logs_in_and_sees_own_masked_record(page):
    page.goto("/my/")
    assert "/login/" in page.url  # anonymous visitors are sent to log in first
    page.locator("#id_username").fill("citizen")
    page.locator("#id_password").fill("citizen-demo-2019")
    page.get_by_role("button", name=re.compile("登入|Log in")).last.click()
    page.wait_for_url("**/my/")
    masked = page.locator("dd .mono").first.inner_text()
    assert re.fullmatch(r"[A-Z][0-9A-D]\d\*{4}\d{3}", masked)
    assert page.csp_violations == []


def test_wrong_password_is_explained_and_keeps_the_visitor_on_the_form(page):
    page.goto("/login/")
    page.locator("#id_username").fill("citizen")
    page.locator("#id_password").fill("not-the-password")
    page.get_by_role("button", name=re.compile("登入|Log in")).last.click()
    expect(page.get_by_role("alert")).to_be_visible()  # the answer to the POST, once it has loaded
    assert page.url.endswith("/login/")


def test_language_switch_to_english_and_back(page):
    page.goto("/directory/")
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.url.endswith("/directory/")  # the visitor stays on the page they were reading
    assert page.get_by_role("heading", level=1).inner_text() == "Agency directory"
    page.get_by_role("button", name="中文").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "zh-Hant-TW"


def test_keyboard_users_reach_the_skip_link_first_and_it_moves_focus_to_main(page):
    page.goto("/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.className")
    assert focused == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_pages_fit_a_phone_screen_without_sideways_scrolling(browser, live_demo):
    context = browser.new_context(base_url=live_demo, viewport={"width": 360, "height": 740}, is_mobile=True)
    page = context.new_page()
    for path in ["/", "/login/", "/directory/"]:
        page.goto(path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} is {overflow}px wider than the phone screen"
    context.close()


def test_staff_console_and_api_docs_load_under_the_content_security_policy(page):
    page.goto("/login/?next=/staff/")
    page.locator("#id_username").fill("clerk")
    page.locator("#id_password").fill("clerk-demo-2019")
    page.get_by_role("button", name=re.compile("登入|Log in")).last.click()
    page.wait_for_url("**/staff/")
    assert page.locator("#site-name").is_visible()
    page.goto("/api/docs")
    page.wait_for_selector(".swagger-ui .info")
    assert page.locator(".swagger-ui .info .title").inner_text().startswith("Civic Stack API")
    assert page.csp_violations == []
