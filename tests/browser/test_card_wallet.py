"""The card wallet in a real browser: the demo district clerk tops up a resident's card on the card
desk's card page, a bus operator's readers upload two rides over HTTP (the second free under the
city bus buy-one-get-one rule), and the resident sees the balance less the fare and both rides,
with the rule, on the card's wallet page."""

import datetime
import json
import os
import subprocess
import sys
import urllib.request
import zoneinfo
from pathlib import Path

import pytest

from .test_card_flow import _live_var_dir, log_in

pytestmark = pytest.mark.browser

CIVICSTACK = str(Path(sys.executable).with_name("civicstack"))
HOLDER = ("wallet_holder", "wallet-holder-2019")
CLERK = ("clerk", "clerk-demo-2019")  # the demo clerk: a district office counter, so card desk staff
TAIPEI = zoneinfo.ZoneInfo("Asia/Taipei")
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "card-wallet.png"

# Run inside the live server's database: a resident of the demo clerk's district with a login and
# an issued general card, a bus operator with an upload key and a reader, and the bus rule. Prints
# the card number and the key. Reruns on one database reuse the resident and the card.
CREATE_WORLD = """
import datetime, io, json
from PIL import Image
from django.utils import timezone
from civicstack.card import services as card
from civicstack.card.models import Card, CardFunction, CardPartner
from civicstack.core import identity, services
from civicstack.core.models import Agency, District, Person, User
from civicstack.core.selectors import person_digest

username, password = {username!r}, {password!r}
user = User.objects.filter(username=username).first()
if user is None:
    user = User.objects.create_user(username=username, password=password, first_name="黃志豪")
    districts = list(District.objects.all())
    district = districts[1] if len(districts) > 1 else districts[0]
    for serial in range(1, 1000):
        prefix = f"W1{{serial:07d}}"
        number = prefix + identity.check_digit_for(prefix)
        if not Person.objects.filter(id_digest=person_digest(number)).exists():
            break
    services.person_register(actor=None, user=user, data=services.PersonInput(
        identifier=number, name="黃志豪", birth_date=datetime.date(1985, 8, 2), sex="M", district=district))
holder = Card.objects.filter(person__user=user, state=Card.State.ACTIVE).first()
if holder is None:
    photo = io.BytesIO()
    Image.new("RGB", (413, 531), (205, 185, 160)).save(photo, format="JPEG")
    application = card.application_submit(actor=None, person=user.person, kind="general", photo=photo.getvalue())
    holder = card.application_approve(actor=None, application=application)
    Card.objects.filter(pk=holder.pk).update(issued_at=timezone.now() - datetime.timedelta(days=1))
raw, key = services.api_key_create(
    actor=None, name="bus validators", partner="桃園示範客運", agency=Agency.objects.order_by("code").first(),
    scopes=["card.taps:upload"], expires_at=timezone.now() + datetime.timedelta(days=1))
operator = CardPartner.objects.filter(code="wallet-bus").first() or card.partner_create(
    actor=None, code="wallet-bus", name="桃園示範客運", kind="transit")
card.reader_register(actor=None, code="bus-5021-a", kind="bus", api_key=key, functions=["bus_bogo"],
                     operator_partner=operator, location="5021 桃園—中壢")
card.rule_save(actor=None, code="bus-bogo", name="公車買一送一", kind="nth_use_free",
               function=CardFunction.objects.get(code="bus_bogo"), params={{"every": 2}},
               effective_from=datetime.date(2015, 1, 1))
print(json.dumps({{"card": holder.number, "key": raw}}))
"""


@pytest.fixture(scope="session")
def wallet_world(live_demo, tmp_path_factory):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update(CIVICSTACK_VAR_DIR=str(_live_var_dir(tmp_path_factory)), CIVICSTACK_ENV="development")
    script = CREATE_WORLD.format(username=HOLDER[0], password=HOLDER[1])
    done = subprocess.run(
        [CIVICSTACK, "shell", "-c", script], env=env, check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def nt(text: str) -> int:
    return int(text.strip().removeprefix("NT$").replace(",", ""))


def ride_times() -> list[datetime.datetime]:
    """Two rides a minute apart in today's service day (never one each side of midnight)."""
    now = datetime.datetime.now(TAIPEI)
    second = now - datetime.timedelta(seconds=5)
    first = max(
        second - datetime.timedelta(minutes=1), now.replace(hour=0, minute=0, second=1, microsecond=0)
    )
    return [first, second]


def upload_taps(base_url: str, key: str, taps: list[dict]) -> dict:
    request = urllib.request.Request(  # noqa: S310 - our own local server
        f"{base_url}/api/v1/card/taps/batch", data=json.dumps({"taps": taps}).encode(), method="POST",
        headers={"Content-Type": "application/json", "X-API-Key": key},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


def test_clerk_tops_up_a_bus_ride_is_charged_the_holder_sees_it(browser, live_demo, wallet_world):
    number = wallet_world["card"]
    violations = []

    # The district clerk takes NT$500 at the counter and tops the card up on its desk page.
    desk = browser.new_context(base_url=live_demo, locale="zh-TW", viewport={"width": 1280, "height": 900})
    clerk = desk.new_page()
    clerk.on("console", lambda msg: "Content Security Policy" in msg.text and violations.append(msg.text))
    log_in(clerk, CLERK, f"/card/staff/cards/{number}/")
    before = nt(clerk.locator("#balance-stored-value").inner_text())
    clerk.locator("#id_topup_amount").fill("500")
    clerk.locator("#top-up").click()
    clerk.wait_for_url(f"**/card/staff/cards/{number}/#wallet")
    assert nt(clerk.locator("#balance-stored-value").inner_text()) == before + 500
    assert "clearing:counter" in clerk.locator("#ledger").inner_text()
    desk.close()

    # The bus's validators upload two rides of today: the second is free under buy-one-get-one.
    taps = [
        {"reader": "bus-5021-a", "tap_id": f"{number}-{i}", "card_number": number, "fare": 18,
         "function": "bus_bogo", "tapped_at": at.isoformat()}
        for i, at in enumerate(ride_times())
    ]  # fmt: skip
    batch = upload_taps(live_demo, wallet_world["key"], taps)
    assert batch["accepted"] + batch["duplicates"] == 2
    assert [r["from_value"] for r in batch["results"]] == [18, 0]

    # The holder opens the card's wallet from "my cards": the fare is gone from the balance and
    # both rides are in the history, the free one with the rule that made it free.
    holder = browser.new_context(base_url=live_demo, locale="zh-TW", viewport={"width": 1280, "height": 900})
    page = holder.new_page()
    page.on("console", lambda msg: "Content Security Policy" in msg.text and violations.append(msg.text))
    log_in(page, HOLDER, "/card/")
    assert nt(page.locator(f"#wallet-{number} .wallet-balance").inner_text()) == before + 500 - 18
    page.locator(f"#wallet-{number} a.wallet-link").click()
    page.wait_for_url(f"**/card/{number}/wallet/")
    assert nt(page.locator("#balance-stored-value").inner_text()) == before + 500 - 18
    rides = page.locator("#uses tbody tr[data-status=accepted]")
    assert rides.count() == 2
    assert "公車買一送一：18 → 0" in rides.nth(0).inner_text()
    assert "NT$18" in rides.nth(1).inner_text() and "bus-5021-a" in rides.nth(1).inner_text()
    statement = page.locator("#statement tbody").inner_text()
    assert "+NT$500" in statement and "−NT$18" in statement
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    if os.environ.get("CIVICSTACK_SCREENSHOTS"):  # refresh docs/screenshots on request only
        page.screenshot(path=SCREENSHOT, full_page=True)
    assert violations == []
    holder.close()
