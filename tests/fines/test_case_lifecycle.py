"""Issuing, notice, payment, overdue reminders, enforcement and cancellation through the services."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from civicstack.core.errors import InvalidInput, PermissionDenied
from civicstack.core.models import Notification
from civicstack.fines import case_number, services
from civicstack.fines.errors import AmountOutOfRange, CaseStateConflict
from civicstack.fines.models import FineCase
from civicstack.fines.selectors import case_events
from civicstack.payments.errors import OrderStateConflict
from civicstack.payments.models import PaymentOrder
from civicstack.payments.services import payment_order_settle, payment_orders_expire

from .conftest import new_business_number

pytestmark = pytest.mark.django_db


def actions(case):
    return [event.action for event in case_events(case)]


def test_issuing_a_case_creates_its_payment_order(issue, items):
    case, _identifier = issue("fine_a", amount=3000)

    assert case_number.is_well_formed(case.number)
    assert case.state == FineCase.State.ISSUED
    assert (case.statute, case.article) == ("廢棄物清理法", "第50條")
    order = case.payment_order
    assert order.state == PaymentOrder.State.CREATED
    assert (order.amount, order.payee_agency_id, order.source_type, order.source_id, order.reference) == (
        3000, items["fine_a"].agency_id, "fines.case", str(case.pk), case.number)  # fmt: skip
    assert len(order.number) == 16
    assert actions(case) == ["fines.case.issued"]


def test_a_registered_resident_is_linked_and_the_id_is_stored_only_masked_and_hashed(issue, make_person):
    person = make_person(name="黃建宏", identifier="H123456786")
    case, _ = issue(identifier="h123456786", name="黃建宏")
    assert case.payer_person == person
    assert case.payer_identifier_masked == "H12****786"
    stored = FineCase.objects.filter(pk=case.pk).values()[0]
    assert "H123456786" not in str(stored)


def test_a_registered_residents_number_with_another_name_is_refused(issue, make_person):
    make_person(name="黃建宏", identifier="H123456786")
    with pytest.raises(InvalidInput, match="name does not match"):
        issue(identifier="H123456786", name="黃建國")


def test_a_company_is_identified_by_its_business_number(issue):
    ban = new_business_number()
    case, _ = issue(identifier=ban, name="大成食品股份有限公司")
    assert (case.payer_kind, case.payer_company_ban, case.payment_order.payer_company_ban) == (
        "company",
        ban,
        ban,
    )


@pytest.mark.parametrize(("identifier", "message"), [("04595258", "check digit"), ("H123456787", "check digit"),
                                                     ("not-an-id", "identification number")])  # fmt: skip
def test_bad_identifiers_are_refused_and_nothing_is_written(issue, identifier, message):
    with pytest.raises(InvalidInput, match=message):
        issue(identifier=identifier)
    assert not FineCase.objects.exists() and not PaymentOrder.objects.exists()


@pytest.mark.parametrize("amount", [1199, 6001, 0])
def test_the_amount_must_lie_within_the_items_range(issue, amount):
    with pytest.raises(AmountOutOfRange):
        issue(amount=amount)
    assert not FineCase.objects.exists()


def test_staff_issue_only_under_their_own_agencys_items(issue, staff):
    with pytest.raises(PermissionDenied):
        issue("fine_b", actor=staff["clerk_a"])
    case, _ = issue("fine_a", actor=staff["clerk_a"])
    assert case.issued_by == staff["clerk_a"]


def test_the_notice_makes_the_order_payable_and_reaches_a_payer_with_a_login(issue, citizen, items):
    user, person = citizen
    from civicstack.core.services import person_identifier

    case, _ = issue(identifier=person_identifier(person), name=person.name)
    case = services.case_send_notice(actor=None, case=case)

    assert case.state == FineCase.State.NOTIFIED and case.notified_at is not None
    case.payment_order.refresh_from_db()
    assert case.payment_order.state == PaymentOrder.State.PENDING
    notification = Notification.objects.get(recipient=user)
    assert notification.url == f"/payments/orders/{case.payment_order.number}/"
    assert "NT$1,200" in notification.body
    # Sending again re-sends without a second state change.
    services.case_send_notice(actor=None, case=case)
    assert actions(case) == ["fines.case.issued", "fines.case.notified", "fines.case.notice_resent"]


def test_paying_the_order_marks_the_case_paid(issue):
    case, _ = issue()
    case = services.case_send_notice(actor=None, case=case)
    payment_order_settle(actor=None, order_number=case.payment_order.number, channel="convenience_store",
                         amount=1200, external_reference="7-11 0001")  # fmt: skip
    case.refresh_from_db()
    assert case.state == FineCase.State.PAID and case.paid_at is not None
    assert actions(case)[-1] == "fines.case.paid"
    paid = case_events(case).last()
    assert paid.data["order"] == case.payment_order.number and paid.data["previous_state"] == "notified"


def test_overdue_marking_and_reminders_happen_once(issue, citizen, yesterday):
    user, person = citizen
    from civicstack.core.services import person_identifier

    due = yesterday
    with_login, _ = issue(identifier=person_identifier(person), name=person.name)
    without_login, _ = issue()
    not_due, _ = issue()
    never_notified, _ = issue()
    for case in (with_login, without_login, not_due):
        services.case_send_notice(actor=None, case=case)
    FineCase.objects.filter(pk__in=[with_login.pk, without_login.pk, never_notified.pk]).update(due_date=due)
    mail.outbox.clear()

    first = services.cases_mark_overdue()
    second = services.cases_mark_overdue()

    assert (first.marked_overdue, first.reminders_sent) == (2, 1)
    assert (second.marked_overdue, second.reminders_sent) == (0, 0)
    states = dict(FineCase.objects.values_list("pk", "state"))
    assert states[with_login.pk] == states[without_login.pk] == "overdue"
    assert states[not_due.pk] == "notified" and states[never_notified.pk] == "issued"
    assert Notification.objects.filter(recipient=user, subject__contains="Overdue").count() == 1
    assert actions(with_login).count("fines.case.overdue") == 1


def test_the_remind_command_runs_the_same_idempotent_step(issue, yesterday, capsys):
    from django.core.management import call_command

    case, _ = issue()
    services.case_send_notice(actor=None, case=case)
    FineCase.objects.filter(pk=case.pk).update(due_date=yesterday)
    call_command("fines", "remind")
    call_command("fines", "remind")
    out = capsys.readouterr().out
    assert "1 case(s) became overdue" in out and "0 case(s) became overdue" in out


def _overdue(issue, yesterday, item_key="fine_a"):
    case, _ = issue(item_key)
    services.case_send_notice(actor=None, case=case)
    FineCase.objects.filter(pk=case.pk).update(due_date=yesterday)
    services.cases_mark_overdue()
    case.refresh_from_db()
    return case


def test_an_overdue_fine_is_transferred_to_enforcement_with_its_history(issue, yesterday, staff):
    case = _overdue(issue, yesterday)
    case = services.case_transfer_to_enforcement(
        actor=staff["clerk_a"], case=case, reason="逾期未繳,移送行政執行"
    )

    assert case.state == FineCase.State.TRANSFERRED and case.enforcement_transferred_at is not None
    event = case_events(case).last()
    assert event.action == "fines.case.transferred_to_enforcement"
    assert event.reason == "逾期未繳,移送行政執行"
    assert [step["action"] for step in event.data["history"]] == [
        "fines.case.issued", "fines.case.notified", "fines.case.overdue"]  # fmt: skip


def test_only_overdue_fines_can_be_transferred(issue, yesterday, staff):
    notified, _ = issue()
    services.case_send_notice(actor=None, case=notified)
    with pytest.raises(CaseStateConflict, match="only overdue"):
        services.case_transfer_to_enforcement(actor=None, case=notified, reason="x" * 5)
    overdue_fee = _overdue(issue, yesterday, "fee_a")
    with pytest.raises(CaseStateConflict, match="only fines"):
        services.case_transfer_to_enforcement(actor=None, case=overdue_fee, reason="x" * 5)
    with pytest.raises(InvalidInput, match="reason"):
        services.case_transfer_to_enforcement(actor=None, case=_overdue(issue, yesterday), reason=" ")
    other_agency = _overdue(issue, yesterday, "fine_b")
    with pytest.raises(PermissionDenied):
        services.case_transfer_to_enforcement(actor=staff["clerk_a"], case=other_agency, reason="逾期")


def test_cancelling_cancels_the_order_and_closes_the_case(issue):
    case, _ = issue()
    case = services.case_cancel(actor=None, case=case, reason="開單錯誤")
    assert case.state == FineCase.State.CANCELLED
    assert case.payment_order.state == PaymentOrder.State.CANCELLED
    with pytest.raises(CaseStateConflict):
        services.case_send_notice(actor=None, case=case)


def test_an_overdue_case_with_an_expired_order_gets_a_fresh_order_when_the_payer_asks(issue, yesterday):
    case = _overdue(issue, yesterday)
    old = case.payment_order
    payment_orders_expire(today=timezone.localdate() + datetime.timedelta(days=60))
    order = services.case_payment_order_ensure(case=case)
    again = services.case_payment_order_ensure(case=case)
    assert order.pk == again.pk != old.pk
    assert order.state == PaymentOrder.State.PENDING and order.due_date >= timezone.localdate()
    payment_order_settle(actor=None, order_number=order.number, channel="card_gateway", amount=case.amount)
    case.refresh_from_db()
    assert case.state == FineCase.State.PAID


def test_cancelling_an_overdue_case_withdraws_its_expired_order_too(issue, yesterday):
    case = _overdue(issue, yesterday)
    payment_orders_expire(today=timezone.localdate() + datetime.timedelta(days=60))
    services.case_cancel(actor=None, case=case, reason="撤銷處分")
    case.refresh_from_db()
    assert case.payment_order.state == PaymentOrder.State.CANCELLED
    # A late store payment of the old notice can no longer settle it: reconciliation reports the
    # line for a refund (payments' settlement import) instead of marking a cancelled case paid.
    with pytest.raises(OrderStateConflict):
        payment_order_settle(actor=None, order_number=case.payment_order.number, channel="convenience_store",
                             amount=case.amount)  # fmt: skip
    case.refresh_from_db()
    assert case.state == FineCase.State.CANCELLED


def test_documents_over_ten_megabytes_are_refused(issue):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from civicstack.fines.errors import InvalidDocument

    case, _ = issue()
    big = SimpleUploadedFile(
        "scan.pdf", b"%PDF-1.7\n" + b"0" * (10 * 1024 * 1024), content_type="application/pdf"
    )
    with pytest.raises(InvalidDocument, match="10 MB"):
        services.case_document_add(actor=None, case=case, upload=big)
    small = SimpleUploadedFile("scan.pdf", b"%PDF-1.7\n" + b"0" * 1024, content_type="application/pdf")
    document = services.case_document_add(actor=None, case=case, upload=small)
    assert (document.content_type, document.size) == ("application/pdf", 1033)
