"""The city's configured channels (settings → channel objects), in one place."""

import hashlib
from functools import lru_cache

from django.conf import settings

from .channels import convenience_store, gateway, virtual_account
from .models import PaymentOrder


@lru_cache(maxsize=1)
def virtual_account_rule() -> virtual_account.VirtualAccountRule:
    return virtual_account.WeightedCheckRule(prefix=settings.PAYMENTS_VIRTUAL_ACCOUNT_PREFIX)


def card_gateway() -> gateway.PaymentGateway:
    name = settings.PAYMENTS_GATEWAY
    if name == "sandbox":
        return _sandbox(settings.PAYMENTS_GATEWAY_SECRET or settings.SECRET_KEY, settings.PUBLIC_BASE_URL)
    return gateway.get_gateway(name)


@lru_cache(maxsize=2)
def _sandbox(secret: str, base_url: str) -> gateway.SandboxGateway:
    return gateway.SandboxGateway(hashlib.sha256(b"sandbox-gateway:" + secret.encode()).digest(), base_url)


def store_barcodes(order: PaymentOrder) -> convenience_store.StoreBarcodes | None:
    """None when the amount is over what a convenience store may collect on one barcode."""
    if order.amount > convenience_store.MAX_AMOUNT:
        return None
    return convenience_store.make_barcodes(
        due_date=order.due_date, collection_code=settings.PAYMENTS_COLLECTION_CODE, bill_number=order.number,
        amount=order.amount,
    )  # fmt: skip
