"""Paying a bill in a real browser: the demo citizen pays one from the e-wallet, another by card
through the sandbox gateway."""

import re

import pytest

pytestmark = pytest.mark.browser


def login_as_citizen(page, next_path: str) -> None:
    page.goto(f"/login/?next={next_path}")
    page.locator("#id_username").fill("citizen")
    page.locator("#id_password").fill("citizen-demo-2019")
    page.locator("main button[type=submit]").click()
    page.wait_for_url(f"**{next_path}")


def open_first_unpaid(page) -> str:
    page.goto("/payments/")
    row = page.locator("tbody tr", has_text=re.compile("待繳|Awaiting")).first
    number = row.locator("a.mono").inner_text()
    row.locator("a.mono").click()
    page.wait_for_url(f"**/payments/orders/{number}/")
    return number


def test_citizen_pays_a_bill_from_the_e_wallet(page):
    login_as_citizen(page, "/payments/")
    number = open_first_unpaid(page)
    page.locator(f"form[action='/payments/orders/{number}/wallet/'] button").click()
    page.wait_for_url(f"**/payments/orders/{number}/")
    assert page.locator("[role=status]").is_visible()
    assert re.search("已繳|Paid", page.locator("dl.facts").inner_text())
    assert page.csp_violations == []


def test_citizen_pays_a_bill_by_card_in_the_sandbox(page):
    login_as_citizen(page, "/payments/")
    number = open_first_unpaid(page)
    page.locator(f"form[action='/payments/orders/{number}/checkout/'] button").click()
    page.wait_for_url("**/payments/sandbox/checkout/**")
    page.locator("button[value=pay]").click()
    page.wait_for_url(f"**/payments/orders/{number}/")
    assert re.search("已繳|Paid", page.locator("dl.facts").inner_text())
