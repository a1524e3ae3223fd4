"""A card's purses on the ledger: stored value (TWD), bonus points (POINT) and welfare points
(WELFARE). Shared by the services, tap settlement and bonus points."""

from civicstack.payments import services as payments

from .models import Card

MAX_STORED_VALUE = 10_000  # NT$: the stored-value purse's ceiling, as on every e-purse in Taiwan


def purse_code(card_no: str, unit: str) -> str:
    return f"card:{card_no}:{unit}"


def card_purse(card: Card, unit: str = "TWD"):
    """The card's purse in ``unit``; it can never go below zero (a database constraint)."""
    return payments.account_get_or_create(
        code=purse_code(card.number, unit), name=f"{card.person.name} {card.number} {unit}", unit=unit,
        person=card.person, debits_must_not_exceed_credits=True,
    )  # fmt: skip
