"""Payment orders: their state machine, settlement through every channel (convenience store,
virtual account, e-wallet, card gateway), refunds by reversal, and the money in the ledger."""

import datetime
import json

import pytest
from django.test import Client

from civicstack.core.models import StaffRole
from civicstack.core.services import api_key_create
from civicstack.payments import channels_config, ledger, services
from civicstack.payments.errors import OrderStateConflict, PaymentRefused
from civicstack.payments.ledger import TransferRequest
from civicstack.payments.models import Account, PaymentOrder, Transfer
from civicstack.payments.services import OrderItemInput


def revenue(agency) -> int:
    return services.agency_revenue_account(agency).balance


def test_an_order_totals_its_items_and_gets_a_verifiable_virtual_account(make_order):
    order = make_order(items=[OrderItemInput("規費", 100), OrderItemInput("郵寄", 35)])
    assert (order.amount, order.state, len(order.number)) == (135, "created", 16)
    assert channels_config.virtual_account_rule().verify(order.virtual_account, amount=135)
    assert not channels_config.virtual_account_rule().verify(order.virtual_account, amount=136)


@pytest.mark.parametrize(
    "items", [[], [OrderItemInput("x", 0)], [OrderItemInput("x", -5)], [OrderItemInput(" ", 5)]]
)
def test_bad_orders_are_refused(agency, items):
    with pytest.raises(PaymentRefused):
        services.payment_order_create(actor=None, payee_agency=agency, items=items,
                                      due_date=datetime.date.today(), payer_name="王小明")  # fmt: skip


def test_settling_posts_to_the_ledger_once_and_replays_change_nothing(make_order, agency):
    order = make_order(1830)
    services.payment_order_settle(actor=None, order_number=order.number, channel="convenience_store",
                                  amount=1830, external_reference="711:1")  # fmt: skip
    again = services.payment_order_settle(actor=None, order_number=order.number, channel="convenience_store",
                                          amount=1830, external_reference="711:1")  # fmt: skip
    assert again.state == PaymentOrder.State.PAID
    assert revenue(agency) == 1830
    assert Transfer.objects.filter(reference=order.number).count() == 1
    with pytest.raises(OrderStateConflict):
        services.payment_order_settle(
            actor=None, order_number=order.number, channel="card_gateway", amount=1830
        )
    assert ledger.verify_ledger().ok


def test_a_wrong_amount_is_refused_and_nothing_moves(make_order, agency):
    order = make_order(1830)
    with pytest.raises(PaymentRefused, match="does not match"):
        services.payment_order_settle(actor=None, order_number=order.number, channel="counter", amount=1800)
    order.refresh_from_db()
    assert (order.state, revenue(agency)) == ("created", 0)


def test_cancelled_orders_cannot_be_paid_and_cancelling_needs_a_reason(make_order):
    order = make_order()
    with pytest.raises(PaymentRefused):
        services.payment_order_cancel(actor=None, order=order, reason=" ")
    services.payment_order_cancel(actor=None, order=order, reason="重複開單")
    with pytest.raises(OrderStateConflict):
        services.payment_order_settle(
            actor=None, order_number=order.number, channel="counter", amount=order.amount
        )


def test_overdue_orders_expire_but_a_late_payment_is_still_accepted(make_order):
    order = make_order(due_in_days=-1)
    assert services.payment_orders_expire() == 1
    order.refresh_from_db()
    assert order.state == "expired"
    services.payment_order_settle(
        actor=None, order_number=order.number, channel="counter", amount=order.amount
    )
    order.refresh_from_db()
    assert order.state == "paid"


def test_e_wallet_payment_needs_enough_balance(make_order, citizen, agency):
    user, person = citizen
    order = make_order(500, payer_person=person)
    with pytest.raises(PaymentRefused):
        services.payment_order_pay_from_wallet(actor=user, order_number=order.number, person=person)
    wallet = services.wallet_account(person)
    services.transfer_create(request=TransferRequest("topup", debit_account=services.clearing_account("counter").code,
                                                     credit_account=wallet.code, amount=800))  # fmt: skip
    services.payment_order_pay_from_wallet(actor=user, order_number=order.number, person=person)
    wallet.refresh_from_db()
    assert (wallet.balance, revenue(agency)) == (300, 500)


def test_a_refund_is_a_reversal_and_leaves_the_original_untouched(make_order, agency):
    order = make_order(700)
    services.payment_order_settle(actor=None, order_number=order.number, channel="card_gateway", amount=700)
    services.payment_order_refund(actor=None, order=order, reason="溢繳")
    order.refresh_from_db()
    assert (order.state, revenue(agency)) == ("refunded", 0)
    paid = Transfer.objects.get(idempotency_key=f"order:{order.number}:paid")
    assert Transfer.objects.get(idempotency_key=f"order:{order.number}:refund").reverses == paid
    assert ledger.verify_ledger().ok


def test_the_payment_page_and_notice_pdf(make_order):
    order = make_order(1830, payer_name="王小明")
    client = Client()
    page = client.get(f"/payments/orders/{order.number}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "王○明" in html and "王小明" not in html
    assert order.virtual_account in html
    pdf = client.get(f"/payments/orders/{order.number}/notice.pdf")
    assert (pdf.status_code, pdf["Content-Type"], pdf.content[:5]) == (200, "application/pdf", b"%PDF-")
    assert client.get("/payments/orders/0000000000000000/").status_code == 404


def test_no_store_barcode_over_the_twenty_thousand_cap(make_order):
    order = make_order(20_001)
    assert channels_config.store_barcodes(order) is None
    body = Client().get(f"/api/v1/payments/orders/{order.number}").json()
    assert body["store_barcodes"] is None and body["virtual_account"] == order.virtual_account


def test_card_payment_through_the_sandbox_gateway(make_order, agency):
    order = make_order(999)
    client = Client()
    checkout = client.post(f"/api/v1/payments/orders/{order.number}/checkout").json()
    assert checkout["redirect_url"].startswith("http://127.0.0.1:8000/payments/sandbox/checkout/sbx_")
    path = checkout["redirect_url"].removeprefix("http://127.0.0.1:8000")
    assert client.get(path).status_code == 200
    response = client.post(path, {"decision": "pay", "order": order.number})
    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.state, order.channel, revenue(agency)) == ("paid", "card_gateway", 999)


def test_gateway_notifications_are_verified_and_replays_are_harmless(make_order, agency):
    order = make_order(450)
    gateway = channels_config.card_gateway()
    body, headers = gateway.make_notification(gateway_reference="sbx_1", order_number=order.number, amount=450,
                                              paid_at=datetime.datetime.now(datetime.UTC))  # fmt: skip
    client = Client()
    post = lambda b, h: client.post("/api/v1/payments/gateway/notify", b, content_type="application/json",  # noqa: E731
                                    headers={"X-Sandbox-Signature": h["X-Sandbox-Signature"]})  # fmt: skip
    forged = post(body.replace(b"450", b"45"), headers)
    assert forged.status_code == 400 and forged.json()["error"]["code"] == "payment_refused"
    assert post(body, headers).json() == {"ok": True, "order_state": "paid"}
    assert post(body, headers).json() == {"ok": True, "order_state": "paid"}
    assert revenue(agency) == 450


def test_reconciliation_of_good_duplicate_unknown_and_mismatched_lines(make_order, staff, agency, client_for):
    good, mismatched, by_account = make_order(1830), make_order(500), make_order(640)
    csv = "\n".join([
        "reference,amount,paid_at,channel,payer_account",
        f"{good.number},1830,2026-11-20T14:05:01+08:00,711,",
        f"{good.number},1830,2026-11-20T15:00:00+08:00,FamilyMart,",
        "9999999999999999,100,2026-11-20T15:00:00+08:00,711,",
        f"{mismatched.number},50,2026-11-20T16:00:00+08:00,711,",
        f"{by_account.virtual_account},640,2026-11-21 09:30:00,ATM,822-****1234",
        "not,a,valid,line",
    ]).encode()  # fmt: skip
    client = client_for(staff["city_admin"])
    response = client.post("/api/v1/payments/settlements", {"format": "csv", "file": _upload(csv)})
    assert response.status_code == 200, response.content
    report = response.json()
    counts = {k: report[k] for k in ("matched", "duplicate", "unknown", "amount_mismatch", "unreadable")}
    assert counts == {"matched": 2, "duplicate": 1, "unknown": 1, "amount_mismatch": 1, "unreadable": 1}
    assert report["matched_amount"] == 1830 + 640
    assert sorted(row["line"] for row in report["report"]) == [2, 3, 4, 5, 6, 7]  # every line accounted for
    for order, state, channel in [(good, "paid", "convenience_store"), (mismatched, "created", ""),
                                  (by_account, "paid", "virtual_account")]:  # fmt: skip
        order.refresh_from_db()
        assert (order.state, order.channel) == (state, channel)
    # the same file again is recognised: nothing settles twice
    again = client.post("/api/v1/payments/settlements", {"format": "csv", "file": _upload(csv)}).json()
    assert again["id"] == report["id"]
    assert revenue(agency) == 1830 + 640
    assert ledger.verify_ledger().ok


def test_only_reconciliation_staff_import_settlement_files(staff, client_for):
    response = client_for(staff["clerk_a"]).post(
        "/api/v1/payments/settlements",
        {"format": "csv", "file": _upload(b"reference,amount,paid_at,channel,payer_account\n")},
    )
    assert response.status_code == 403
    assert client_for(staff["clerk_a"]).get("/payments/staff/settlements/").status_code == 403
    assert client_for(staff["city_admin"]).get("/payments/staff/settlements/").status_code == 200


def test_partner_transfers_need_the_scope_and_replays_answer_exists(staff, agency):
    services.account_get_or_create(code="reader:bus-1", name="bus reader clearing")
    services.account_get_or_create(code="operator:bus", name="bus operator")
    raw, _ = api_key_create(actor=None, name="bus", partner="Bus Co", agency=agency,
                            scopes=["payments.transfers:write"], expires_at=_in_days(30))  # fmt: skip
    raw_without, _ = api_key_create(actor=None, name="dir", partner="X", agency=agency,
                                    scopes=["core.directory:read"], expires_at=_in_days(30))  # fmt: skip
    body = {"transfers": [{"idempotency_key": "tap-1", "debit_account": "reader:bus-1",
                           "credit_account": "operator:bus", "amount": 15}]}  # fmt: skip
    client = Client()
    refused = client.post("/api/v1/payments/transfers", json.dumps(body), content_type="application/json",
                          headers={"X-API-Key": raw_without})  # fmt: skip
    assert refused.status_code == 403
    first = client.post("/api/v1/payments/transfers", json.dumps(body), content_type="application/json",
                        headers={"X-API-Key": raw})  # fmt: skip
    again = client.post("/api/v1/payments/transfers", json.dumps(body), content_type="application/json",
                        headers={"X-API-Key": raw})  # fmt: skip
    assert [r["status"] for r in first.json()] == ["created"]
    assert [r["status"] for r in again.json()] == ["exists"]
    assert Account.objects.get(code="operator:bus").balance == 15


def test_accounts_are_visible_to_their_holder_and_city_admins_only(citizen, staff, client_for):
    user, person = citizen
    wallet = services.wallet_account(person)
    assert client_for(user).get(f"/api/v1/payments/accounts/{wallet.code}").json()["balance"] == 0
    assert client_for(staff["clerk_a"]).get(f"/api/v1/payments/accounts/{wallet.code}").status_code == 404
    assert client_for(staff["city_admin"]).get(f"/api/v1/payments/accounts/{wallet.code}").status_code == 200
    assert StaffRole.Role.CITY_ADMIN == "city_admin"


def _upload(data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("settlement.csv", data, content_type="text/csv")


def _in_days(days: int):
    from django.utils import timezone

    return timezone.now() + datetime.timedelta(days=days)
