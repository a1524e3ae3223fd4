"""A citizen card from application to issue in a real browser: a resident applies online with a
photo, the demo district clerk approves it in the card desk's queue, and the resident sees the
card on "my cards" and reports it lost there."""

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from .conftest import log_in

pytestmark = pytest.mark.browser

CIVICSTACK = str(Path(sys.executable).with_name("civicstack"))
APPLICANT = ("card_applicant", "card-applicant-2019")
CLERK = ("clerk", "clerk-demo-2019")  # the demo clerk: a district office counter, so card desk staff

# Run inside the live server's database: a fresh resident of the demo clerk's district (the demo
# citizen may already hold cards), with a login. Idempotent, so reruns on one database are fine.
CREATE_APPLICANT = """
import datetime
from civicstack.core import identity, services
from civicstack.core.models import District, Person, User
from civicstack.core.selectors import person_digest

username, password = {username!r}, {password!r}
if not User.objects.filter(username=username).exists():
    user = User.objects.create_user(username=username, password=password, first_name="林雅婷")
    districts = list(District.objects.all())
    district = districts[1] if len(districts) > 1 else districts[0]
    for serial in range(1, 1000):
        prefix = f"Y2{{serial:07d}}"
        number = prefix + identity.check_digit_for(prefix)
        if not Person.objects.filter(id_digest=person_digest(number)).exists():
            break
    services.person_register(actor=None, user=user, data=services.PersonInput(
        identifier=number, name="林雅婷", birth_date=datetime.date(1991, 3, 14), sex="F", district=district))
"""


def _live_var_dir(tmp_path_factory) -> Path:
    """The live server's var directory (tests/browser/conftest.py makes it under the session's base temp)."""
    found = sorted(tmp_path_factory.getbasetemp().glob("browser-var*/civicstack.sqlite3"))
    if not found:
        pytest.fail("the live server's database was not found")
    return found[0].parent


@pytest.fixture(scope="session")
def card_applicant(live_demo, tmp_path_factory):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update(CIVICSTACK_VAR_DIR=str(_live_var_dir(tmp_path_factory)), CIVICSTACK_ENV="development")
    script = CREATE_APPLICANT.format(username=APPLICANT[0], password=APPLICANT[1])
    subprocess.run([CIVICSTACK, "shell", "-c", script], env=env, check=True)
    return APPLICANT


def portrait_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (413, 531), (205, 185, 160)).save(out, format="JPEG")
    return out.getvalue()


def test_citizen_applies_clerk_approves_citizen_sees_the_card(browser, live_demo, card_applicant):
    citizen = browser.new_context(base_url=live_demo, locale="zh-TW", viewport={"width": 1280, "height": 900})
    page = citizen.new_page()
    violations = []
    page.on("console", lambda msg: "Content Security Policy" in msg.text and violations.append(msg.text))

    # The resident applies for a general card with a photo.
    log_in(page, card_applicant, "/card/apply/")
    page.locator("#id_kind_general").check()
    page.locator("#id_photo").set_input_files(
        {"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": portrait_jpeg()}
    )
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/card/applications/*/")
    number = page.locator("#application-number").inner_text().strip()
    assert re.fullmatch(r"CA\d{14}", number)

    page.goto("/card/")
    assert number in page.locator("#applications").inner_text()

    # The district clerk finds it in the queue, sees the photo and approves it.
    desk = browser.new_context(base_url=live_demo, locale="zh-TW", viewport={"width": 1280, "height": 900})
    clerk = desk.new_page()
    clerk.on("console", lambda msg: "Content Security Policy" in msg.text and violations.append(msg.text))
    log_in(clerk, CLERK, "/card/staff/applications/")
    clerk.locator("table.queue a", has_text=number).click()
    clerk.wait_for_url(f"**/card/staff/applications/{number}/")
    assert clerk.locator("img.id-photo").evaluate("img => img.complete && img.naturalWidth > 0")
    clerk.locator("#approve").click()
    clerk.wait_for_url("**/card/staff/cards/*/")
    card_number = clerk.url.rstrip("/").rsplit("/", 1)[1]
    assert clerk.locator("h1 .badge").get_attribute("data-state") == "active"
    desk.close()

    # The resident sees the issued card, then reports it lost in one confirmed click.
    page.goto("/card/")
    card = page.locator(f"#card-{card_number}")
    assert card.locator(".badge").get_attribute("data-state") == "active"
    assert number not in page.locator("#applications").inner_text()
    card.locator("summary", has_text=re.compile("掛失|Report lost")).click()
    card.locator(f"#report-lost-{card_number}").click()
    page.wait_for_url("**/card/**")
    assert page.locator(f"#card-{card_number} .badge").get_attribute("data-state") == "lost"
    assert violations == []
    citizen.close()
