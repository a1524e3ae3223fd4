"""On PostgreSQL, payers pressing "pay" at the same moment get one fresh order, not one each."""

import datetime
import multiprocessing

import pytest
from django.db import connection, connections
from django.utils import timezone

from civicstack.fines import services
from civicstack.fines.models import FineCase
from civicstack.payments.models import PaymentOrder
from civicstack.payments.services import payment_orders_expire

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="concurrent row locking is a PostgreSQL property; SQLite serialises whole-database writes",
)

FORK = multiprocessing.get_context("fork")


def _press_pay(case_pk: int, barrier, queue) -> None:
    try:
        barrier.wait(timeout=30)
        order = services.case_payment_order_ensure(case=FineCase.objects.get(pk=case_pk))
        queue.put(("ok", order.number))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        queue.put(("error", repr(exc)))
    finally:
        connections.close_all()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("city_profile_restored_after_flush")
class TestConcurrentPay:
    def test_simultaneous_pay_requests_share_one_fresh_order(self, issue, yesterday):
        # given an overdue case whose order has expired
        case, _ = issue()
        services.case_send_notice(actor=None, case=case)
        FineCase.objects.filter(pk=case.pk).update(due_date=yesterday)
        services.cases_mark_overdue()
        payment_orders_expire(today=timezone.localdate() + datetime.timedelta(days=60))
        # when four payers press "pay" at once
        barrier, queue = FORK.Barrier(4), FORK.Queue()
        workers = [FORK.Process(target=_press_pay, args=(case.pk, barrier, queue)) for _ in range(4)]
        connections.close_all()
        for process in workers:
            process.start()
        outcomes = [queue.get(timeout=60) for _ in workers]
        for process in workers:
            process.join(timeout=30)
        # then all four got the same new order, and only one was made
        assert {kind for kind, _ in outcomes} == {"ok"}, outcomes
        assert len({number for _, number in outcomes}) == 1
        assert PaymentOrder.objects.count() == 2  # the expired one and the fresh one
        case.refresh_from_db()
        assert case.payment_order.number == outcomes[0][1]
