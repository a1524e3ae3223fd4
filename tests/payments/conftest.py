import datetime

import pytest

from civicstack.core.models import Agency
from civicstack.payments import services
from civicstack.payments.services import OrderItemInput


@pytest.fixture
def agency(db):
    return Agency.objects.filter(kind=Agency.Kind.FIRST_LEVEL).order_by("code").first()


@pytest.fixture
def make_order(agency):
    def make(amount=1830, *, payer_person=None, payer_name="王小明", due_in_days=14, items=None):
        return services.payment_order_create(
            actor=None, payee_agency=agency,
            items=items or [OrderItemInput("戶籍謄本 規費", amount)],
            due_date=datetime.date.today() + datetime.timedelta(days=due_in_days),
            payer_name=payer_name, payer_person=payer_person,
        )  # fmt: skip

    return make
