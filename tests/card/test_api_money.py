"""Readers' tap batches, the wallet, bonus points receipts, merchants and the rule editor through
real HTTP, with partner keys, bearer tokens and Idempotency-Key headers."""

import datetime

import pytest
from django.utils import timezone

from civicstack.card import services
from civicstack.card.models import Card, CardFunction, PointsEntry
from civicstack.core import services as core_services
from civicstack.core.models import Agency, District

pytestmark = pytest.mark.django_db
BASE = "/api/v1/card"
JSON = {"content_type": "application/json"}


def key(agency_code: str, *scopes: str):
    raw, api_key = core_services.api_key_create(
        actor=None, name="k", partner="p", agency=Agency.objects.get(code=agency_code), scopes=list(scopes),
        expires_at=timezone.now() + datetime.timedelta(days=30),
    )  # fmt: skip
    return {"HTTP_X_API_KEY": raw}, api_key


@pytest.fixture
def citizen_card(citizen, issue_card):
    user, person = citizen
    card = issue_card(person)
    Card.objects.filter(pk=card.pk).update(issued_at=timezone.now() - datetime.timedelta(days=30))
    card.refresh_from_db()
    return user, card


@pytest.fixture
def bus(db):
    headers, api_key = key("TYC-L1-07", "card.taps:upload")
    operator = services.partner_create(actor=None, code="api-bus", name="測試客運", kind="transit")
    services.reader_register(actor=None, code="bus-1", kind="bus", api_key=api_key, functions=["bus_bogo"],
                             operator_partner=operator)  # fmt: skip
    services.rule_save(actor=None, code="bus-bogo", name="買一送一", kind="nth_use_free",
                       function=CardFunction.objects.get(code="bus_bogo"), params={"every": 2},
                       effective_from=datetime.date(2015, 1, 1))  # fmt: skip
    return headers


def test_desk_top_up_then_bus_taps_then_the_citizen_sees_it(client, citizen_card, bus, card_clerk, token_for):
    user, card = citizen_card
    desk = token_for(card_clerk)
    url = f"{BASE}/cards/{card.number}/top-up"
    assert client.post(url, {"amount": 200}, **JSON, **desk).status_code == 400  # no Idempotency-Key
    for _ in range(2):
        response = client.post(url, {"amount": 200}, **JSON, **desk, HTTP_IDEMPOTENCY_KEY="till-7-0001")
        assert response.status_code == 200, response.content
    assert response.json()["balance"] == 200

    # Both rides on one local day, whatever the clock says (the second is free).
    noon_yesterday = timezone.localtime().replace(
        hour=12, minute=0, second=0, microsecond=0
    ) - datetime.timedelta(days=1)
    taps = [{"reader": "bus-1", "tap_id": f"t{i}", "card_number": card.number, "fare": 18, "function": "bus_bogo",
             "tapped_at": (noon_yesterday + datetime.timedelta(hours=i)).isoformat()} for i in range(2)]  # fmt: skip
    first = client.post(f"{BASE}/taps/batch", {"taps": taps}, **JSON, **bus).json()
    assert (first["accepted"], first["duplicates"]) == (2, 0)
    assert [r["from_value"] for r in first["results"]] == [18, 0]
    replay = client.post(f"{BASE}/taps/batch", {"taps": taps}, **JSON, **bus).json()
    assert (replay["accepted"], replay["duplicates"]) == (0, 2)

    wallet = client.get(f"{BASE}/me/cards/{card.number}/wallet", **token_for(user)).json()
    assert wallet["balances"]["stored_value"] == 182
    assert [u["from_value"] for u in wallet["uses"]] == [0, 18]
    assert wallet["uses"][0]["rules"][0]["rule"] == "bus-bogo"
    assert {line["amount"] for line in wallet["statement"]} == {200, -18}


def test_tap_upload_needs_the_scope_and_a_sane_batch(client, citizen_card, bus):
    _user, card = citizen_card
    wrong, _key = key("TYC-L1-07", "card.function:library")
    tap = {"reader": "bus-1", "tap_id": "x", "card_number": card.number, "fare": 18, "function": "bus_bogo",
           "tapped_at": timezone.now().isoformat()}  # fmt: skip
    assert client.post(f"{BASE}/taps/batch", {"taps": [tap]}, **JSON, **wrong).status_code == 403
    assert client.post(f"{BASE}/taps/batch", {"taps": [dict(tap, fare=-1)]}, **JSON, **bus).status_code in (
        400,
        422,
    )
    assert client.post(f"{BASE}/taps/batch", {"taps": []}, **JSON, **bus).status_code in (400, 422)
    assert client.post(f"{BASE}/taps/batch", {"taps": [tap]}, **JSON).status_code == 401


def test_points_receipt_and_public_roots(client, citizen_card, token_for):
    user, card = citizen_card
    entry = services.points_earn(card=card, points=30, reason="運動中心", key="api-1")
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    PointsEntry.objects.filter(pk=entry.pk).update(day=yesterday)
    services.points_seal_days()
    receipt = client.get(f"{BASE}/me/points/{entry.pk}/receipt", **token_for(user)).json()
    roots = client.get(f"{BASE}/points/roots").json()["items"]
    assert roots[0]["root"] == receipt["root"] and receipt["sealed"]
    assert services.points_verify_receipt(receipt, published_root=roots[0]["root"])[0]
    other = core_services.api_token_issue(user=type(user).objects.create_user("someone-else"))[0]
    response = client.get(f"{BASE}/me/points/{entry.pk}/receipt", HTTP_AUTHORIZATION=f"Bearer {other}")
    assert response.status_code == 404


def test_merchant_payments_both_ways(client, citizen_card, token_for):
    user, card = citizen_card
    services.wallet_top_up(actor=None, card=card, amount=500, channel="counter", idempotency_key="m-top")
    headers, terminal = key("TYC-L1-05")
    shop = services.merchant_register(actor=None, code="api-shop", name="示範商店", business_no="22099131",
                                      category="market", district=District.objects.first(), address="市場 1 號",
                                      api_key=terminal)  # fmt: skip
    services.offer_save(actor=None, merchant=shop, kind="percent_off", title="9 折", params={"percent": 10},
                        valid_from=timezone.localdate())  # fmt: skip
    listed = client.get(f"{BASE}/merchants", {"category": "market"}).json()["items"]
    assert listed[0]["code"] == "api-shop" and listed[0]["offers"][0]["title"] == "9 折"

    holder = token_for(user)
    paid = client.post(f"{BASE}/me/cards/{card.number}/merchant-payments", {"merchant": "api-shop", "amount": 100},
                       **JSON, **holder, HTTP_IDEMPOTENCY_KEY="buy-1").json()  # fmt: skip
    assert (paid["paid"], paid["discount"]) == (90, 10)
    token = client.get(f"{BASE}/me/cards/{card.number}/qr", **holder).json()["token"]
    charged = client.post(f"{BASE}/merchant/charges", {"token": token, "amount": 50}, **JSON, **headers,
                          HTTP_IDEMPOTENCY_KEY="pos-1")  # fmt: skip
    assert charged.status_code == 200 and charged.json()["method"] == "card_qr"
    refund = client.post(
        f"{BASE}/merchant/payments/{paid['id']}/refund", **headers, HTTP_IDEMPOTENCY_KEY="rf-1"
    )
    assert refund.status_code == 200
    today = timezone.localdate().isoformat()
    report = client.get(f"{BASE}/merchant/settlement", {"start": today, "end": today}, **headers).json()
    assert report[0]["received"] == 135 and report[0]["refunds"] == 90 and report[0]["net"] == 45
    wallet = client.get(f"{BASE}/me/cards/{card.number}/wallet", **holder).json()
    assert wallet["balances"]["stored_value"] == 500 - 135 + 90


def test_rule_editor_and_preview(client, citizen_card, card_clerk, token_for, staff):
    _user, card = citizen_card
    desk = token_for(card_clerk)
    rule = {"code": "metro-20", "name": "捷運八折", "kind": "percent_off", "function": "metro_discount",
            "params": {"percent": 20}, "effective_from": "2019-01-01"}  # fmt: skip
    assert (
        client.post(f"{BASE}/rules", dict(rule, params={"percent": 120}), **JSON, **desk).status_code == 400
    )
    assert client.post(f"{BASE}/rules", rule, **JSON, **desk).status_code == 200
    preview = client.post(f"{BASE}/rules/preview", {"card_number": card.number, "function": "metro_discount",
                                                    "fare": 35}, **JSON, **desk).json()  # fmt: skip
    assert (preview["due"], preview["refusal"]) == (28, "insufficient_funds")
    assert client.get(f"{BASE}/rules", **token_for(staff["bureau_clerk"])).status_code == 403
