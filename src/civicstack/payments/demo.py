"""Demo data for payments: the demo citizen's e-wallet holds NT$1,000 and has two bills to pay."""

import datetime

from django.utils import timezone

from civicstack.core.models import Agency, Person

from . import services
from .models import PaymentOrder
from .services import OrderItemInput, TransferRequest


def generate(*, scale: str, seed: int, progress_factory=None) -> dict:
    person = Person.objects.filter(user__username="citizen").select_related("district").first()
    if person is None:
        return {"orders": 0}
    wallet = services.wallet_account(person)
    services.transfer_create(
        request=TransferRequest(
            "demo:citizen-wallet-topup", debit_account=services.clearing_account("counter").code,
            credit_account=wallet.code, amount=1000, memo="top-up at a convenience store",
        )
    )  # fmt: skip
    if PaymentOrder.objects.filter(payer_person=person, reference="demo").exists():
        return {"orders": 0}
    household_office = (
        Agency.objects.filter(
            kind=Agency.Kind.HOUSEHOLD_REGISTRATION_OFFICE, district=person.district
        ).first()
        or Agency.objects.filter(kind=Agency.Kind.CITY_GOVERNMENT).first()
    )
    today = timezone.localdate()
    bills = [
        (household_office, [OrderItemInput("戶籍謄本 2 份 規費", 30), OrderItemInput("郵寄費", 35)], 20),
        (Agency.objects.filter(name_zh__contains="文化局").first() or household_office,
         [OrderItemInput("圖書逾期 14 日 滯還金", 70)], 10),
    ]  # fmt: skip
    for agency, items, due_in in bills:
        order = services.payment_order_create(
            actor=None, payee_agency=agency, items=items, due_date=today + datetime.timedelta(days=due_in),
            payer_name=person.name, payer_person=person, reference="demo",
        )  # fmt: skip
        services.payment_order_issue(actor=None, order=order)
    return {"orders": len(bills), "wallet": wallet.code}
