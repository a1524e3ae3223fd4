"""Online card payments: the contract an acquirer's adapter fulfils, and a sandbox.

A card payment has two legs. :meth:`PaymentGateway.start_checkout` registers the order with
the acquirer and returns where to send the citizen's browser; later the acquirer calls the
city back (server to server, at ``notify_url``) and :meth:`PaymentGateway.parse_notification`
turns that request into a :class:`GatewayNotification` after checking its signature. The
browser's return to ``return_url`` proves nothing and must never mark an order paid.

Idempotency is the caller's job: acquirers resend notifications until they get a 200, and a
replayed notification parses to the same result every time (this module keeps no state).
The ledger records the first ``(gateway, gateway_reference, status)`` and ignores repeats.

:class:`SandboxGateway` moves no money. Its checkout page lives in the city's own site
(``{base_url}/payments/sandbox/checkout/{reference}/``) and uses :meth:`SandboxGateway.
make_notification` to send the notification a real acquirer would; the body is JSON signed
with HMAC-SHA256 in the ``X-Sandbox-Signature`` header. A real acquirer (e.g. a bank's
3-D Secure gateway, ECPay, NewebPay) is a class with the same methods registered with
:func:`register_gateway`; docs/payments-formats.md lists what it must do.
"""

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

SIGNATURE_HEADER = "X-Sandbox-Signature"
_ORDER_NUMBER_RE = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
_REFERENCE_RE = re.compile(r"^[0-9A-Za-z_-]{1,64}$")

Status = Literal["paid", "failed"]


class GatewayError(ValueError):
    """Bad input to a gateway call (amount, order number, URL)."""


class InvalidNotification(ValueError):
    """A callback that must not be trusted: bad or missing signature, or a malformed body."""


class UnknownGateway(LookupError):
    """No gateway is registered under that name."""


@dataclass(frozen=True)
class Checkout:
    gateway_reference: str
    redirect_url: str


@dataclass(frozen=True)
class GatewayNotification:
    gateway_reference: str
    order_number: str
    amount: int
    status: Status
    paid_at: datetime | None
    raw: Mapping[str, Any] = field(compare=False)


@runtime_checkable
class PaymentGateway(Protocol):
    name: str

    def start_checkout(
        self, *, order_number: str, amount: int, description: str, return_url: str, notify_url: str
    ) -> Checkout: ...

    def parse_notification(self, *, body: bytes, headers: Mapping[str, str]) -> GatewayNotification: ...


def _check_amount(amount: object) -> int:
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise GatewayError(f"amount must be an int number of NT$, not {type(amount).__name__}")
    if amount <= 0:
        raise GatewayError(f"amount must be a positive number of NT$, got {amount}")
    return amount


def _check_url(url: str, name: str) -> str:
    if not isinstance(url, str) or not re.match(r"^https?://[^\s/]+", url):
        raise GatewayError(f"{name} must be an absolute http(s) URL, got {url!r}")
    return url


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Header lookup ignoring case, as HTTP requires (Django's request.headers does too)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


class SandboxGateway:
    """A gateway for development and tests: no real money, HMAC-SHA256-signed JSON callbacks."""

    name = "sandbox"

    def __init__(self, secret: bytes, base_url: str) -> None:
        if not isinstance(secret, bytes) or len(secret) < 16:
            raise GatewayError("the sandbox secret must be at least 16 bytes")
        self._secret = secret
        self.base_url = _check_url(base_url, "base_url").rstrip("/")

    def __repr__(self) -> str:  # never show the secret
        return f"SandboxGateway(base_url={self.base_url!r})"

    def start_checkout(
        self, *, order_number: str, amount: int, description: str, return_url: str, notify_url: str
    ) -> Checkout:
        if not isinstance(order_number, str) or not _ORDER_NUMBER_RE.match(order_number):
            raise GatewayError(f"order number must be 1-64 letters, digits, '-' or '_', got {order_number!r}")
        _check_amount(amount)
        if not isinstance(description, str) or not description.strip():
            raise GatewayError("description must not be empty: the citizen sees it on the payment page")
        _check_url(return_url, "return_url")
        _check_url(notify_url, "notify_url")
        reference = "sbx_" + secrets.token_hex(12)
        return Checkout(
            gateway_reference=reference,
            redirect_url=f"{self.base_url}/payments/sandbox/checkout/{reference}/",
        )

    def sign(self, body: bytes) -> str:
        """The hex HMAC-SHA256 of ``body`` under this sandbox's secret."""
        return hmac.new(self._secret, body, hashlib.sha256).hexdigest()

    def make_notification(
        self,
        *,
        gateway_reference: str,
        order_number: str,
        amount: int,
        status: Status = "paid",
        paid_at: datetime | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """The signed callback the sandbox checkout page posts to ``notify_url``."""
        if status not in ("paid", "failed"):
            raise GatewayError(f"status must be 'paid' or 'failed', got {status!r}")
        if status == "paid" and (paid_at is None or paid_at.tzinfo is None):
            raise GatewayError("a paid notification needs a timezone-aware paid_at")
        payload = {
            "gateway_reference": gateway_reference,
            "order_number": order_number,
            "amount": _check_amount(amount),
            "status": status,
            "paid_at": paid_at.isoformat() if paid_at else None,
        }
        body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        return body, {"Content-Type": "application/json", SIGNATURE_HEADER: self.sign(body)}

    def parse_notification(self, *, body: bytes, headers: Mapping[str, str]) -> GatewayNotification:
        signature = _header(headers, SIGNATURE_HEADER)
        if not signature:
            raise InvalidNotification(f"missing {SIGNATURE_HEADER} header")
        if not isinstance(body, bytes | bytearray):
            raise InvalidNotification("the notification body must be bytes, as received")
        if not hmac.compare_digest(
            signature.strip().encode("ascii", "replace"), self.sign(bytes(body)).encode()
        ):
            raise InvalidNotification("signature does not match the body: not from the sandbox, or altered")
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, ValueError) as exc:
            raise InvalidNotification(f"body is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise InvalidNotification("body must be a JSON object")
        return _notification_from(data)


def _notification_from(data: dict[str, Any]) -> GatewayNotification:
    reference, order_number = data.get("gateway_reference"), data.get("order_number")
    if not isinstance(reference, str) or not _REFERENCE_RE.match(reference):
        raise InvalidNotification(f"gateway_reference missing or malformed: {reference!r}")
    if not isinstance(order_number, str) or not _ORDER_NUMBER_RE.match(order_number):
        raise InvalidNotification(f"order_number missing or malformed: {order_number!r}")
    amount = data.get("amount")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise InvalidNotification(f"amount must be a positive integer number of NT$, got {amount!r}")
    status = data.get("status")
    if status not in ("paid", "failed"):
        raise InvalidNotification(f"status must be 'paid' or 'failed', got {status!r}")
    paid_at = None
    if data.get("paid_at") is not None:
        try:
            paid_at = datetime.fromisoformat(data["paid_at"])
        except (TypeError, ValueError):
            raise InvalidNotification(f"paid_at is not an ISO 8601 timestamp: {data['paid_at']!r}") from None
        if paid_at.tzinfo is None:
            raise InvalidNotification("paid_at must carry a UTC offset")
    if status == "paid" and paid_at is None:
        raise InvalidNotification("a paid notification must say when it was paid (paid_at)")
    return GatewayNotification(
        gateway_reference=reference,
        order_number=order_number,
        amount=amount,
        status=status,
        paid_at=paid_at,
        raw=dict(data),
    )


_registry: dict[str, PaymentGateway] = {}


def register_gateway(gateway: PaymentGateway, *, replace: bool = False) -> PaymentGateway:
    """Make ``gateway`` available to :func:`get_gateway`; the wiring code does this at start-up
    with secrets from settings (nothing is registered by default: the sandbox needs a secret)."""
    if not isinstance(gateway, PaymentGateway):
        raise TypeError(f"{gateway!r} does not implement PaymentGateway")
    if gateway.name in _registry and _registry[gateway.name] is not gateway and not replace:
        raise ValueError(
            f"a gateway named {gateway.name!r} is already registered; pass replace=True to swap it"
        )
    _registry[gateway.name] = gateway
    return gateway


def get_gateway(name: str) -> PaymentGateway:
    try:
        return _registry[name]
    except KeyError:
        known = ", ".join(sorted(_registry)) or "none"
        raise UnknownGateway(f"no payment gateway named {name!r} (registered: {known})") from None


def unregister_gateway(name: str) -> None:
    """Remove a gateway (tests, or turning the sandbox off)."""
    _registry.pop(name, None)
