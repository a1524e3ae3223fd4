"""On PostgreSQL, clerks approving at the same moment never issue two valid citizen cards."""

import datetime
import multiprocessing

import pytest
from django.db import connection, connections

from civicstack.card import services
from civicstack.card.models import Card, CardApplication

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="concurrent row locking is a PostgreSQL property; SQLite serialises whole-database writes",
)

FORK = multiprocessing.get_context("fork")


def _approve(application_pk: int, barrier, queue) -> None:
    try:
        barrier.wait(timeout=30)
        card = services.application_approve(
            actor=None, application=CardApplication.objects.get(pk=application_pk)
        )
        queue.put(("ok", card.number))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        queue.put(("error", type(exc).__name__))
    finally:
        connections.close_all()


def _run(application_pks: list[int]) -> list[tuple[str, str]]:
    barrier, queue = FORK.Barrier(len(application_pks)), FORK.Queue()
    workers = [FORK.Process(target=_approve, args=(pk, barrier, queue)) for pk in application_pks]
    connections.close_all()
    for process in workers:
        process.start()
    outcomes = [queue.get(timeout=60) for _ in workers]
    for process in workers:
        process.join(timeout=30)
    return outcomes


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("city_profile_restored_after_flush")
class TestConcurrentApproval:
    def test_the_same_application_approved_four_times_issues_one_card(self, make_person, photo):
        application = services.application_submit(
            actor=None, person=make_person(), kind="general", photo=photo
        )
        outcomes = _run([application.pk] * 4)
        assert sorted(kind for kind, _ in outcomes) == ["error", "error", "error", "ok"], outcomes
        assert {name for kind, name in outcomes if kind == "error"} == {"ApplicationStateConflict"}
        assert Card.objects.filter(person=application.person).count() == 1


# One test a class: the flush after a transactional test empties the city profile, and the fixture
# that restores it runs when the class ends.
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("city_profile_restored_after_flush")
class TestConcurrentKinds:
    def test_two_kinds_of_citizen_card_approved_at_once_issue_one(self, make_person, photo):
        person = make_person(birth_date=datetime.date(1950, 1, 1))
        general = services.application_submit(actor=None, person=person, kind="general", photo=photo)
        senior = services.application_submit(actor=None, person=person, kind="senior", photo=photo)
        outcomes = _run([general.pk, senior.pk])
        assert sorted(kind for kind, _ in outcomes) == ["error", "ok"], outcomes
        assert Card.objects.filter(person=person, state=Card.State.ACTIVE).count() == 1
