"""The card money pages: the holder's wallet (balances, statement, uses with their rules, bonus
points receipts), the public merchants and points roots pages, and the card desk's top-up form,
ledger, reader registry, rule editor with price preview and flagged uses, with who may see what."""

import datetime
import json
import re

import pytest
from django.utils import timezone

from civicstack.card import services, settlement, views_money
from civicstack.card.models import BenefitRule, Card, CardFunction, PointsEntry, Reader
from civicstack.core import services as core_services
from civicstack.core.models import Agency, District

pytestmark = pytest.mark.django_db


def upload_key(*scopes: str):
    raw, api_key = core_services.api_key_create(
        actor=None, name="reader key", partner="客運", agency=Agency.objects.get(code="TYC-L1-07"),
        scopes=list(scopes or ["card.taps:upload"]), expires_at=timezone.now() + datetime.timedelta(days=30),
    )  # fmt: skip
    return raw, api_key


@pytest.fixture
def holder_card(citizen, issue_card):
    """The citizen's general card, issued a month ago so today's taps fall in its validity."""
    user, person = citizen
    card = issue_card(person)
    Card.objects.filter(pk=card.pk).update(issued_at=timezone.now() - datetime.timedelta(days=30))
    card.refresh_from_db()
    return user, card


@pytest.fixture
def other_card(make_user, make_person, issue_card):
    user = make_user("other_holder")
    card = issue_card(make_person(user=user, name="林建宏"))
    Card.objects.filter(pk=card.pk).update(issued_at=timezone.now() - datetime.timedelta(days=30))
    card.refresh_from_db()
    return user, card


@pytest.fixture
def bus(db):
    """A bus reader of a transit partner, and the city bus buy-one-get-one rule."""
    _raw, api_key = upload_key()
    operator = services.partner_create(actor=None, code="page-bus", name="頁面客運", kind="transit")
    services.reader_register(actor=None, code="bus-77", kind="bus", api_key=api_key, functions=["bus_bogo"],
                             operator_partner=operator, location="桃園 — 中壢 1 路")  # fmt: skip
    services.rule_save(actor=None, code="bus-bogo", name="買一送一", kind="nth_use_free",
                       function=CardFunction.objects.get(code="bus_bogo"), params={"every": 2},
                       effective_from=datetime.date(2015, 1, 1))  # fmt: skip
    return api_key


def ride(api_key, card, tap_id: str, at: datetime.datetime, fare: int = 18):
    tap = settlement.TapIn(reader="bus-77", tap_id=tap_id, card_number=card.number, tapped_at=at, fare=fare,
                           function="bus_bogo")  # fmt: skip
    return services.taps_settle(api_key=api_key, taps=[tap])[0]


def hidden_key(page: str) -> str:
    return re.search(r'name="key" value="([^"]+)"', page).group(1)


# --- the holder's wallet ----------------------------------------------------------------------


def test_the_wallet_shows_balances_statement_uses_with_rules_and_points(
    client_for, holder_card, bus, card_clerk
):
    user, card = holder_card
    services.wallet_top_up(actor=card_clerk, card=card, amount=200, channel="counter", idempotency_key="w-1")
    noon_yesterday = timezone.localtime().replace(
        hour=12, minute=0, second=0, microsecond=0
    ) - datetime.timedelta(days=1)
    assert (
        ride(bus, card, "r1", noon_yesterday).from_value == 18
    )  # the same local day, whatever the clock says
    assert ride(bus, card, "r2", noon_yesterday + datetime.timedelta(hours=1)).from_value == 0
    entry = services.points_earn(card=card, points=30, reason="運動中心 2 次", key="wallet-points")

    response = client_for(user).get(f"/card/{card.number}/wallet/")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="balance-stored-value">NT$182<' in page
    assert 'id="balance-bonus-points">30<' in page
    statement = page.split('id="statement"')[1].split('id="uses"')[0]
    assert statement.count('data-kind="clearing"') == 1 and statement.count('data-kind="operator"') == 1
    assert (
        str(views_money.TOP_UPS["counter"]) in statement and "+NT$200" in statement and "−NT$18" in statement
    )
    uses = page.split('id="uses"')[1].split('id="points"')[0]
    assert uses.count('data-status="accepted"') == 2
    assert "買一送一：18 → 0" in uses and "bus-77" in uses and "桃園 — 中壢 1 路" in uses
    assert f'href="/card/points/{entry.pk}/receipt.json"' in page
    assert "civicstack card points-verify --receipt FILE" in page and 'href="/card/points/roots/"' in page


def test_a_refused_use_says_why(client_for, holder_card, bus):
    user, card = holder_card
    ride(bus, card, "poor", timezone.now() - datetime.timedelta(minutes=5))  # no stored value: refused
    page = client_for(user).get(f"/card/{card.number}/wallet/").content.decode()
    assert 'data-status="rejected" data-reason="insufficient_funds"' in page
    assert str(views_money.REFUSALS["insufficient_funds"]) in page


def test_the_statement_names_merchants_and_carry_overs():
    names = {"partner": {"bus-co": "客運"}, "agency": {}, "merchant": {"shop-1": "示範商店"}}
    assert views_money.counterparty_label("merchant:shop-1:TWD", -90, names)[1] == "示範商店"
    assert views_money.counterparty_label("operator:partner:bus-co:TWD", -18, names)[1] == "客運"
    label, detail = views_money.counterparty_label("card:1234567890123456:TWD", 150, names)
    assert detail == "1234 5678 9012 3456" and label == views_money._("Carried over from the old card")
    assert views_money.counterparty_label("card:welfare:issued", 800, names)[0] == views_money._(
        "Monthly welfare points"
    )


def test_only_the_holder_sees_a_wallet(client, client_for, holder_card, other_card):
    user, card = holder_card
    _other, theirs = other_card
    assert client_for(user).get(f"/card/{theirs.number}/wallet/").status_code == 404
    assert client_for(user).get("/card/0000000000000000/wallet/").status_code == 404
    response = client.get(f"/card/{card.number}/wallet/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_my_cards_links_each_active_card_to_its_wallet_with_its_balance(client_for, holder_card, card_clerk):
    user, card = holder_card
    services.wallet_top_up(actor=card_clerk, card=card, amount=350, channel="counter", idempotency_key="mc-1")
    page = client_for(user).get("/card/").content.decode()
    wallets = page.split('id="wallets"')[1].split("</section>")[0]
    assert f'href="/card/{card.number}/wallet/"' in wallets and "NT$350" in wallets


def test_a_receipt_downloads_for_its_holder_only(client, client_for, holder_card, other_card):
    user, card = holder_card
    entry = services.points_earn(card=card, points=12, reason="圖書館", key="receipt-1")
    PointsEntry.objects.filter(pk=entry.pk).update(day=timezone.localdate() - datetime.timedelta(days=1))
    services.points_seal_days()
    response = client_for(user).get(f"/card/points/{entry.pk}/receipt.json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == f'attachment; filename="points-receipt-{entry.pk}.json"'
    receipt = json.loads(response.content)
    assert receipt["entry"]["id"] == entry.pk and receipt["sealed"]
    assert services.points_verify_receipt(receipt)[0]
    assert client_for(other_card[0]).get(f"/card/points/{entry.pk}/receipt.json").status_code == 404
    assert client.get(f"/card/points/{entry.pk}/receipt.json").status_code == 302


# --- public pages -----------------------------------------------------------------------------


@pytest.fixture
def shops(db):
    districts = list(District.objects.all()[:2])
    market = services.merchant_register(actor=None, code="page-market", name="中壢第一市場", business_no="22099131",
                                        category="market", district=districts[0], address="中壢區 1 號",
                                        latitude=24.9537, longitude=121.2252)  # fmt: skip
    cafe = services.merchant_register(actor=None, code="page-cafe", name="大溪咖啡", business_no="22099131",
                                      category="food", district=districts[1], address="大溪區 2 號",
                                      latitude=24.8830, longitude=121.2870)  # fmt: skip
    services.offer_save(actor=None, merchant=market, kind="spend_and_save", title="滿 500 折 50",
                        params={"threshold": 500, "off": 50}, valid_from=timezone.localdate())  # fmt: skip
    services.offer_save(actor=None, merchant=cafe, kind="percent_off", title="過期優惠", params={"percent": 10},
                        valid_from=datetime.date(2020, 1, 1), valid_until=datetime.date(2020, 12, 31))  # fmt: skip
    return market, cafe


def test_the_merchants_page_is_public_with_current_offers_and_a_map(client, shops):
    market, cafe = shops
    response = client.get("/card/merchants/")
    page = response.content.decode()
    assert response.status_code == 200
    assert market.name in page and cafe.name in page
    assert "滿 500 折 50" in page and "過期優惠" not in page
    assert page.count('<circle cx="') == 2
    assert 'href="#merchant-page-market"' in page and 'id="merchant-page-market"' in page
    assert "http://" not in page.split('id="merchant-map"')[1].split("</svg>")[0]  # no external tiles


def test_the_merchants_page_filters(client, shops):
    market, cafe = shops
    page = client.get("/card/merchants/", {"category": "food"}).content.decode()
    assert cafe.name in page and market.name not in page
    page = client.get("/card/merchants/", {"district": market.district.code, "q": "市場"}).content.decode()
    assert market.name in page and cafe.name not in page
    page = client.get("/card/merchants/", {"q": "沒有這家"}).content.decode()
    assert 'id="merchant-map"' not in page and "<circle" not in page


def test_the_points_roots_page_is_public(client, holder_card):
    _user, card = holder_card
    entry = services.points_earn(card=card, points=5, reason="r", key="roots-1")
    day = timezone.localdate() - datetime.timedelta(days=2)
    PointsEntry.objects.filter(pk=entry.pk).update(day=day)
    seal = services.points_seal_days()[0]
    page = client.get("/card/points/roots/").content.decode()
    assert f'id="seal-{day:%Y-%m-%d}"' in page and seal.root in page


# --- card desk ----------------------------------------------------------------------------------

DESK_PAGES = ["/card/staff/readers/", "/card/staff/rules/", "/card/staff/uses/flagged/"]


@pytest.mark.parametrize("path", DESK_PAGES)
def test_desk_pages_are_for_the_card_desk_only(client, client_for, citizen, card_clerk, staff, path):
    anonymous = client.get(path)
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    assert client_for(citizen[0]).get(path).status_code == 403
    assert client_for(staff["bureau_clerk"]).get(path).status_code == 403  # staff, not the card desk
    page = client_for(card_clerk).get(path)
    assert page.status_code == 200
    assert 'href="/card/staff/readers/"' in page.content.decode()  # the desk's navigation


def test_only_the_desk_tops_up(client_for, holder_card, citizen):
    user, card = holder_card
    response = client_for(user).post(f"/card/staff/cards/{card.number}/top-up/", {"amount": 100, "key": "x"})
    assert response.status_code == 403
    assert client_for(user).get(f"/card/staff/cards/{card.number}/").status_code == 403


def test_a_double_submitted_top_up_form_tops_up_once(client_for, holder_card, card_clerk):
    _user, card = holder_card
    desk = client_for(card_clerk)
    page = desk.get(f"/card/staff/cards/{card.number}/").content.decode()
    key = hidden_key(page)
    assert 'id="balance-stored-value">NT$0<' in page
    for _ in range(2):
        response = desk.post(f"/card/staff/cards/{card.number}/top-up/", {"amount": 200, "channel": "counter",
                                                                          "key": key})  # fmt: skip
        assert response.status_code == 302
    page = desk.get(f"/card/staff/cards/{card.number}/").content.decode()
    assert 'id="balance-stored-value">NT$200<' in page
    ledger = page.split('id="ledger-TWD"')[1].split('id="ledger-WELFARE"')[0]
    assert ledger.count('data-kind="clearing"') == 1 and "clearing:counter" in ledger
    assert hidden_key(page) != key  # a new form, a new top-up


def test_a_top_up_over_the_ceiling_is_refused_on_the_form(client_for, holder_card, card_clerk):
    _user, card = holder_card
    services.wallet_top_up(
        actor=card_clerk, card=card, amount=9_950, channel="counter", idempotency_key="full"
    )
    desk = client_for(card_clerk)
    response = desk.post(f"/card/staff/cards/{card.number}/top-up/", {"amount": 100, "channel": "counter",
                                                                      "key": "k-over"})  # fmt: skip
    page = response.content.decode()
    assert response.status_code == 400
    assert 'id="id_topup_amount-error"' in page and "10000" in page.replace(",", "")
    assert 'value="k-over"' in page  # the same form again: still one top-up when corrected
    assert client_for(card_clerk).get(f"/card/staff/cards/{card.number}/").status_code == 200


def test_the_desk_registers_a_reader(client_for, card_clerk):
    raw, api_key = upload_key()
    operator = services.partner_create(actor=None, code="reg-bus", name="登錄客運", kind="transit")
    desk = client_for(card_clerk)
    data = {"code": "bus-900", "kind": "bus", "operator_partner": operator.code, "api_key_prefix": "nope",
            "functions": ["bus_bogo"], "location": "1 路"}  # fmt: skip
    bad = desk.post("/card/staff/readers/", data)
    assert bad.status_code == 400 and 'id="id_api_key_prefix-error"' in bad.content.decode()
    both = desk.post(
        "/card/staff/readers/", dict(data, api_key_prefix=api_key.prefix, operator_agency="TYC-L1-07")
    )
    assert both.status_code == 400 and "error-summary" in both.content.decode()
    response = desk.post("/card/staff/readers/", dict(data, api_key_prefix=api_key.prefix))
    assert response.status_code == 302
    reader = Reader.objects.get(code="bus-900")
    assert reader.operator_partner == operator and reader.functions == ["bus_bogo"]
    assert 'id="reader-bus-900"' in desk.get("/card/staff/readers/").content.decode()


def test_the_rule_form_shows_the_services_error_next_to_the_parameters(client_for, card_clerk):
    desk = client_for(card_clerk)
    rule = {"code": "metro-20", "name": "捷運八折", "kind": "percent_off", "function": "metro_discount",
            "params": '{"percent": 120}', "effective_from": "2019-01-01", "priority": 100, "is_active": "on"}  # fmt: skip
    response = desk.post("/card/staff/rules/", rule)
    page = response.content.decode()
    assert response.status_code == 400
    error = re.search(r'id="id_params-error">([^<]*)<', page)
    assert error and "percent must be a whole number from 1 to 100" in error.group(1)
    assert not BenefitRule.objects.filter(code="metro-20").exists()
    not_json = desk.post("/card/staff/rules/", dict(rule, params="{percent: 20"))
    assert not_json.status_code == 400 and 'id="id_params-error"' in not_json.content.decode()

    assert desk.post("/card/staff/rules/", dict(rule, params='{"percent": 20}')).status_code == 302
    saved = BenefitRule.objects.get(code="metro-20")
    assert saved.params == {"percent": 20} and saved.created_by == card_clerk
    edit = desk.get("/card/staff/rules/", {"edit": "metro-20"}).content.decode()
    assert 'id="rule-metro-20"' in edit and "{&quot;percent&quot;: 20}" in edit


def test_the_preview_shows_what_a_tap_would_cost(client_for, holder_card, bus, card_clerk):
    _user, card = holder_card
    desk = client_for(card_clerk)
    query = {"preview-card": card.formatted_number, "preview-function": "bus_bogo", "preview-fare": 18}
    refused = desk.get("/card/staff/rules/", query).content.decode()
    assert 'id="preview-result"' in refused and str(views_money.REFUSALS["insufficient_funds"]) in refused
    services.wallet_top_up(actor=card_clerk, card=card, amount=100, channel="counter", idempotency_key="pv")
    first = desk.get("/card/staff/rules/", query).content.decode()
    assert "NT$18（0 " in first
    now = timezone.localtime()
    today_start = now.replace(hour=0, minute=0, second=1, microsecond=0)
    ride(bus, card, "pv-1", max(now - datetime.timedelta(minutes=10), today_start))  # today, for the preview
    second = desk.get("/card/staff/rules/", query).content.decode()
    assert "NT$0（0 " in second and "買一送一：18 → 0" in second
    unknown = desk.get(
        "/card/staff/rules/", dict(query, **{"preview-card": "0000000000000000"})
    ).content.decode()
    assert 'id="id_preview-card-error"' in unknown and 'id="preview-result"' not in unknown


def test_flagged_uses_list_taps_of_lost_cards(client_for, holder_card, bus, card_clerk):
    _user, card = holder_card
    services.card_report_lost(actor=None, card=card)
    result = ride(bus, card, "thief", timezone.now() + datetime.timedelta(minutes=1))
    assert result.flagged
    page = client_for(card_clerk).get("/card/staff/uses/flagged/").content.decode()
    assert 'data-reason="blocked_card"' in page and f'href="/card/staff/cards/{card.number}/"' in page
