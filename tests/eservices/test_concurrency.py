"""Concurrent requests on PostgreSQL: a double-clicked submit makes one case and one payment order;
two clerks deciding the same case at once, exactly one decision stands."""

import threading

import pytest
from django.db import connection

from civicstack.eservices import services
from civicstack.eservices.errors import ApplicationStateConflict
from civicstack.eservices.models import Application, ApplicationEvent
from civicstack.payments.models import PaymentOrder

from .conftest import GOOD_ANSWERS

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="concurrent writers need PostgreSQL: SQLite serialises whole-database writes",
    ),  # fmt: skip
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("city_profile_restored_after_flush"),
]


def run_together(count: int, work) -> tuple[list, list[BaseException]]:
    barrier = threading.Barrier(count)
    results, errors = [], []

    def worker(n: int) -> None:
        try:
            barrier.wait(timeout=60)
            results.append(work(n))
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


def test_double_submit_makes_one_case_and_one_order(citizen, fee_item):
    user, _ = citizen
    draft = services.application_draft_save(actor=user, item=fee_item, answers=GOOD_ANSWERS)
    results, errors = run_together(
        6, lambda n: services.application_submit(actor=user, application=draft).pickup_code
    )
    assert errors == []
    assert len(set(results)) == 1
    assert PaymentOrder.objects.filter(source_type=services.SOURCE_TYPE, source_id=str(draft.pk)).count() == 1
    assert ApplicationEvent.objects.filter(application=draft, action="submitted").count() == 1


def test_two_clerks_deciding_at_once(submitted, staff):
    application = submitted()
    services.application_transition(actor=staff["clerk_a"], application=application, action="receive")
    clerks = [staff["clerk_a"], staff["supervisor_a"]] * 3

    def decide(n: int) -> str:
        action = "approve" if n % 2 == 0 else "reject"
        services.application_transition(
            actor=clerks[n], application=application, action=action, reason="理由"
        )
        return action

    results, errors = run_together(6, decide)
    assert len(results) == 1 and len(errors) == 5
    assert all(isinstance(error, ApplicationStateConflict) for error in errors)
    application = Application.objects.get(pk=application.pk)
    assert application.state == {"approve": "approved", "reject": "rejected"}[results[0]]
    assert (
        ApplicationEvent.objects.filter(application=application, action__in=["approve", "reject"]).count()
        == 1
    )
