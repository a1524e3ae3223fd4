"""Partner merchants: offers, paying by either QR code, refunds, points, the settlement report."""

import datetime

import pytest
from django.utils import timezone

from civicstack.card import merchants, services
from civicstack.card.models import MerchantPayment
from civicstack.core.errors import InvalidInput, NotFound
from civicstack.core.models import Agency, District
from civicstack.core.services import api_key_create
from civicstack.payments.ledger import verify_ledger
from civicstack.payments.models import Account


def balance(code):
    account = Account.objects.filter(code=code).first()
    return account.balance if account else 0


@pytest.fixture
def terminal_key(db):
    _raw, key = api_key_create(actor=None, name="pos", partner="示範小吃", agency=Agency.objects.get(code="TYC-L1-05"),
                               scopes=[], expires_at=timezone.now() + datetime.timedelta(days=30))  # fmt: skip
    return key


@pytest.fixture
def shop(terminal_key):
    shop = services.merchant_register(actor=None, code="demo-noodles", name="示範牛肉麵", business_no="04595257",
                                      category="food", district=District.objects.first(), address="中正路 1 號",
                                      latitude=24.99, longitude=121.31, api_key=terminal_key)  # fmt: skip
    today = timezone.localdate()
    services.offer_save(actor=None, merchant=shop, kind="spend_and_save", title="滿 300 折 30",
                        params={"threshold": 300, "off": 30}, valid_from=today)  # fmt: skip
    services.offer_save(actor=None, merchant=shop, kind="percent_off", title="市民卡 9 折",
                        params={"percent": 10, "max_off": 25}, valid_from=today)  # fmt: skip
    services.offer_save(actor=None, merchant=shop, kind="points_multiplier", title="點數兩倍",
                        params={"multiplier": 2}, valid_from=today)  # fmt: skip
    return shop


@pytest.fixture
def holder_card(citizen, issue_card):
    user, person = citizen
    card = issue_card(person)
    services.wallet_top_up(actor=None, card=card, amount=1000, channel="counter", idempotency_key="top")
    return user, card


def test_the_best_offer_applies_and_points_are_earned(shop, holder_card):
    user, card = holder_card
    small = services.pay_by_merchant_qr(actor=user, card=card, merchant_code=shop.code, amount=120, key="a")
    assert (small.discount, small.paid, small.points_earned) == (
        12,
        108,
        2,
    )  # 10% off; 1 point per NT$100 × 2
    big = services.pay_by_merchant_qr(actor=user, card=card, merchant_code=shop.code, amount=400, key="b")
    assert (big.discount, big.paid) == (30, 370)  # 10% capped at 25 < spend-and-save 30
    assert balance(services.purse_code(card.number, "TWD")) == 1000 - 108 - 370
    assert balance(merchants.merchant_account(shop)) == 478
    assert verify_ledger().ok


def test_retrying_a_payment_charges_once(shop, holder_card):
    user, card = holder_card
    first = services.pay_by_merchant_qr(
        actor=user, card=card, merchant_code=shop.code, amount=200, key="same"
    )
    again = services.pay_by_merchant_qr(
        actor=user, card=card, merchant_code=shop.code, amount=200, key="same"
    )
    assert first.pk == again.pk and MerchantPayment.objects.count() == 1
    with pytest.raises(InvalidInput, match="another payment"):
        services.pay_by_merchant_qr(actor=user, card=card, merchant_code=shop.code, amount=300, key="same")


def test_balance_too_low_and_someone_elses_card(shop, holder_card, make_user):
    user, card = holder_card
    with pytest.raises(InvalidInput, match="too low"):
        services.pay_by_merchant_qr(actor=user, card=card, merchant_code=shop.code, amount=5000, key="x")
    stranger = make_user("stranger")
    with pytest.raises(NotFound):
        services.pay_by_merchant_qr(actor=stranger, card=card, merchant_code=shop.code, amount=10, key="y")


def test_the_merchant_scans_a_fresh_card_qr(shop, holder_card, terminal_key):
    _user, card = holder_card
    token = services.card_qr_token(card)
    payment = services.charge_card_qr(api_key=terminal_key, token=token, amount=100, key="pos-1")
    assert payment.method == "card_qr" and payment.paid == 90
    stale = services.card_qr_token(card, now=timezone.now() - datetime.timedelta(minutes=5))
    with pytest.raises(InvalidInput, match="expired"):
        services.charge_card_qr(api_key=terminal_key, token=stale, amount=100, key="pos-2")
    forged = token[:-1] + ("0" if token[-1] != "0" else "1")
    with pytest.raises(InvalidInput, match="not a citizen card QR"):
        services.charge_card_qr(api_key=terminal_key, token=forged, amount=100, key="pos-3")


def test_a_refund_returns_the_money_and_the_points(shop, holder_card, terminal_key):
    user, card = holder_card
    payment = services.pay_by_merchant_qr(actor=user, card=card, merchant_code=shop.code, amount=400, key="r")
    refund = services.merchant_refund(api_key=terminal_key, payment=payment, key="r1")
    assert services.merchant_refund(api_key=terminal_key, payment=payment, key="r1").pk == refund.pk
    assert balance(services.purse_code(card.number, "TWD")) == 1000
    assert balance(services.purse_code(card.number, "POINT")) == 0
    report = services.settlement_report(shop, start=timezone.localdate(), end=timezone.localdate())
    assert report[0]["received"] == 370 and report[0]["refunds"] == 370 and report[0]["net"] == 0
    assert verify_ledger().ok


@pytest.mark.parametrize(
    ("kind", "params"),
    [("spend_and_save", {"threshold": 100, "off": 100}), ("percent_off", {"percent": 60}),
     ("points_multiplier", {"multiplier": 1}), ("special_price", {"item": "", "price": 1, "list_price": 2}),
     ("lottery", {})],
)  # fmt: skip
def test_bad_offers_are_refused(shop, kind, params):
    with pytest.raises(InvalidInput):
        services.offer_save(actor=None, merchant=shop, kind=kind, title="x", params=params,
                            valid_from=timezone.localdate())  # fmt: skip


def test_merchant_needs_a_valid_business_number(db):
    with pytest.raises(InvalidInput, match="unified business number"):
        services.merchant_register(actor=None, code="bad", name="x", business_no="12345678", category="food",
                                   district=District.objects.first(), address="x")  # fmt: skip
