"""The card gateway contract and the signed sandbox gateway."""

import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicstack.payments.channels.gateway import (
    SIGNATURE_HEADER,
    Checkout,
    GatewayError,
    InvalidNotification,
    PaymentGateway,
    SandboxGateway,
    UnknownGateway,
    get_gateway,
    register_gateway,
    unregister_gateway,
)

SECRET = b"sandbox-secret-for-tests-only-32b"
TAIPEI = timezone(timedelta(hours=8))
PAID_AT = datetime(2025, 3, 20, 14, 5, tzinfo=TAIPEI)


@pytest.fixture
def sandbox():
    return SandboxGateway(SECRET, "https://city.example.gov.tw/")


def checkout(gateway, **overrides):
    args = {
        "order_number": "PO-20250301-0042",
        "amount": 1830,
        "description": "大型廢棄物清運費",
        "return_url": "https://city.example.gov.tw/payments/return/",
        "notify_url": "https://city.example.gov.tw/payments/notify/sandbox/",
    }
    return gateway.start_checkout(**(args | overrides))


def test_checkout_redirects_to_the_sandbox_page(sandbox):
    result = checkout(sandbox)
    assert isinstance(result, Checkout)
    assert result.gateway_reference.startswith("sbx_")
    assert (
        result.redirect_url
        == f"https://city.example.gov.tw/payments/sandbox/checkout/{result.gateway_reference}/"
    )
    assert checkout(sandbox).gateway_reference != result.gateway_reference


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"amount": 0}, "positive"),
        ({"amount": 18.3}, "int"),
        ({"amount": True}, "int"),
        ({"order_number": "PO 42"}, "order number"),
        ({"order_number": ""}, "order number"),
        ({"description": "  "}, "description"),
        ({"return_url": "/relative/"}, "return_url"),
        ({"notify_url": "ftp://x"}, "notify_url"),
    ],
)
def test_checkout_refuses_bad_input(sandbox, overrides, message):
    with pytest.raises(GatewayError, match=message):
        checkout(sandbox, **overrides)


def test_sandbox_needs_a_real_secret_and_url():
    with pytest.raises(GatewayError, match="16 bytes"):
        SandboxGateway(b"short", "https://x.example")
    with pytest.raises(GatewayError, match="base_url"):
        SandboxGateway(SECRET, "city.example.gov.tw")
    assert "secret" not in repr(SandboxGateway(SECRET, "https://x.example")).lower().replace(
        "sandboxgateway", ""
    )


def test_round_trip_and_replay(sandbox):
    ref = checkout(sandbox).gateway_reference
    body, headers = sandbox.make_notification(
        gateway_reference=ref, order_number="PO-20250301-0042", amount=1830, paid_at=PAID_AT
    )
    assert headers[SIGNATURE_HEADER] == sandbox.sign(body)
    first = sandbox.parse_notification(body=body, headers=headers)
    assert (first.gateway_reference, first.order_number, first.amount, first.status) == (
        ref,
        "PO-20250301-0042",
        1830,
        "paid",
    )
    assert first.paid_at == PAID_AT
    assert first.raw["amount"] == 1830
    # A replay (acquirers resend until they get a 200) parses to the same result.
    assert sandbox.parse_notification(body=body, headers=headers) == first
    # Header names are case-insensitive.
    lower = {k.lower(): v for k, v in headers.items()}
    assert sandbox.parse_notification(body=body, headers=lower) == first


def test_failed_notification(sandbox):
    body, headers = sandbox.make_notification(
        gateway_reference="sbx_1", order_number="PO-1", amount=5, status="failed"
    )
    note = sandbox.parse_notification(body=body, headers=headers)
    assert note.status == "failed" and note.paid_at is None


def test_tampered_or_unsigned_notifications_are_refused(sandbox):
    body, headers = sandbox.make_notification(
        gateway_reference="sbx_1", order_number="PO-1", amount=5, paid_at=PAID_AT
    )
    tampered = body.replace(b'"amount":5', b'"amount":1')
    with pytest.raises(InvalidNotification, match="signature does not match"):
        sandbox.parse_notification(body=tampered, headers=headers)
    with pytest.raises(InvalidNotification, match="missing"):
        sandbox.parse_notification(body=body, headers={"Content-Type": "application/json"})
    other = SandboxGateway(b"another-secret-of-enough-length", "https://x.example")
    with pytest.raises(InvalidNotification, match="signature"):
        other.parse_notification(body=body, headers=headers)
    with pytest.raises(InvalidNotification, match="signature"):
        sandbox.parse_notification(body=body, headers={SIGNATURE_HEADER: "é" * 64})


def signed(sandbox, payload):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return {"body": body, "headers": {SIGNATURE_HEADER: sandbox.sign(body)}}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        ([1, 2], "JSON object"),
        (
            {"order_number": "PO-1", "amount": 5, "status": "paid", "paid_at": PAID_AT.isoformat()},
            "gateway_reference",
        ),
        ({"gateway_reference": "sbx_1", "amount": 5, "status": "paid"}, "order_number"),
        ({"gateway_reference": "sbx_1", "order_number": "PO-1", "amount": "5", "status": "paid"}, "amount"),
        ({"gateway_reference": "sbx_1", "order_number": "PO-1", "amount": 5.0, "status": "paid"}, "amount"),
        ({"gateway_reference": "sbx_1", "order_number": "PO-1", "amount": 5, "status": "ok"}, "status"),
        ({"gateway_reference": "sbx_1", "order_number": "PO-1", "amount": 5, "status": "paid"}, "paid_at"),
        (
            {
                "gateway_reference": "sbx_1",
                "order_number": "PO-1",
                "amount": 5,
                "status": "paid",
                "paid_at": "yesterday",
            },
            "ISO 8601",
        ),
        (
            {
                "gateway_reference": "sbx_1",
                "order_number": "PO-1",
                "amount": 5,
                "status": "paid",
                "paid_at": "2025-03-20T14:05:00",
            },
            "UTC offset",
        ),
    ],
)
def test_malformed_signed_bodies_are_refused(sandbox, payload, message):
    with pytest.raises(InvalidNotification, match=message):
        sandbox.parse_notification(**signed(sandbox, payload))


def test_make_notification_refuses_what_parse_would_refuse(sandbox):
    with pytest.raises(GatewayError, match="paid_at"):
        sandbox.make_notification(gateway_reference="sbx_1", order_number="PO-1", amount=5)
    with pytest.raises(GatewayError, match="status"):
        sandbox.make_notification(gateway_reference="sbx_1", order_number="PO-1", amount=5, status="refunded")


def test_registry(sandbox):
    assert isinstance(sandbox, PaymentGateway)
    try:
        register_gateway(sandbox)
        assert get_gateway("sandbox") is sandbox
        with pytest.raises(ValueError, match="already registered"):
            register_gateway(SandboxGateway(SECRET, "https://other.example"))
        with pytest.raises(TypeError):
            register_gateway(object())
    finally:
        unregister_gateway("sandbox")
    with pytest.raises(UnknownGateway, match="sandbox"):
        get_gateway("sandbox")


@given(
    amount=st.integers(min_value=1, max_value=10**9),
    order=st.from_regex(r"[0-9A-Za-z_-]{1,64}", fullmatch=True),
    flip=st.integers(min_value=0, max_value=10_000),
)
def test_any_altered_byte_breaks_the_signature(amount, order, flip):
    gateway = SandboxGateway(SECRET, "https://x.example")
    body, headers = gateway.make_notification(
        gateway_reference="sbx_ab", order_number=order, amount=amount, paid_at=PAID_AT
    )
    assert gateway.parse_notification(body=body, headers=headers).amount == amount
    index = flip % len(body)
    altered = body[:index] + bytes([body[index] ^ 0x01]) + body[index + 1 :]
    with pytest.raises(InvalidNotification):
        gateway.parse_notification(body=altered, headers=headers)
