"""The card lifecycle: issue, report lost (blocked for good), damaged, replacement with its fee and
carried-over balance, points and functions, type change, cancellation, expiry, and the audit trail."""

import datetime

import pytest
from django.utils import timezone

from civicstack.card import selectors, services
from civicstack.card.errors import ApplicationStateConflict, CardStateConflict, NotEligible
from civicstack.card.models import Card, CardApplication, CardFunction, FunctionEnrolment
from civicstack.core.errors import InvalidInput, NotFound, PermissionDenied
from civicstack.core.models import Agency, AuditEvent
from civicstack.core.services import school_enrolment_record
from civicstack.payments import services as payments
from civicstack.payments.models import Account, PaymentOrder


def top_up(card, amount, unit="TWD", key="top-up"):
    purse = services.card_purse(card, unit)
    if unit == "POINT":  # points are minted by the programme, not bought
        source = payments.account_get_or_create(code="test:points:issued", name="points issued", unit="POINT")
    else:
        source = payments.clearing_account(PaymentOrder.Channel.COUNTER)
    result = payments.transfer_create(
        request=payments.TransferRequest(
            idempotency_key=f"{key}:{card.number}:{unit}", debit_account=source.code, credit_account=purse.code,
            amount=amount,
        )
    )  # fmt: skip
    assert result.status == "created", result


def balance(card, unit="TWD"):
    account = Account.objects.filter(code=services.purse_code(card.number, unit)).first()
    return account.balance if account else 0


def card_events(card):
    return list(
        AuditEvent.objects.filter(object_type="card.card", object_id=str(card.pk)).values_list(
            "action", flat=True
        )
    )


def test_issued_card_is_active_with_a_valid_number(make_person, issue_card):
    card = issue_card(make_person())
    assert card.state == Card.State.ACTIVE
    assert selectors.card_by_number(card.number) == card
    assert card.is_usable_at(timezone.now())
    assert card.application.state == CardApplication.State.APPROVED
    assert "card.card.issued" in card_events(card)


def test_photo_is_required_and_checked_for_printed_cards(make_person):
    person = make_person()
    with pytest.raises(InvalidInput, match="Attach a photo"):
        services.application_submit(actor=None, person=person, kind="general")
    assert not CardApplication.objects.filter(person=person).exists()


def test_one_open_application_per_kind(make_person, photo):
    person = make_person()
    services.application_submit(actor=None, person=person, kind="general", photo=photo)
    with pytest.raises(ApplicationStateConflict):
        services.application_submit(actor=None, person=person, kind="general", photo=photo)


def test_eligibility_is_checked_again_at_approval(make_person, photo):
    person = make_person(birth_date=datetime.date(1950, 1, 1))
    application = services.application_submit(actor=None, person=person, kind="senior", photo=photo)
    person.moved_out_on = timezone.localdate()
    person.save()
    with pytest.raises(NotEligible):
        services.application_approve(actor=None, application=application)
    application.refresh_from_db()
    assert application.state == CardApplication.State.SUBMITTED


class TestLost:
    def test_a_lost_card_is_blocked_at_once_and_for_good(self, make_person, issue_card):
        card = issue_card(make_person())
        lost = services.card_report_lost(actor=None, card=card)
        assert lost.state == Card.State.LOST
        assert not lost.is_usable_at(timezone.now())
        for state in (Card.State.ACTIVE, Card.State.DAMAGED, Card.State.EXPIRED):
            assert state not in services.ALLOWED_TRANSITIONS[Card.State.LOST]
        with pytest.raises(CardStateConflict):
            services.card_report_damaged(actor=None, card=lost)
        with pytest.raises(CardStateConflict):
            services.type_change_request(actor=None, card=lost, kind="senior")

    def test_uses_after_the_reported_moment_are_refused(self, make_person, issue_card):
        card = issue_card(make_person())
        Card.objects.filter(pk=card.pk).update(issued_at=timezone.now() - datetime.timedelta(days=30))
        card.refresh_from_db()
        noticed = timezone.now() - datetime.timedelta(hours=3)
        lost = services.card_report_lost(actor=None, card=card, lost_at=noticed)
        assert lost.blocked_at == noticed
        assert not lost.is_usable_at(noticed + datetime.timedelta(minutes=1))
        # A use an offline reader recorded before the loss was still good.
        assert lost.is_usable_at(noticed - datetime.timedelta(minutes=1))

    def test_reporting_twice_changes_nothing(self, make_person, issue_card):
        card = issue_card(make_person())
        first = services.card_report_lost(actor=None, card=card)
        again = services.card_report_lost(actor=None, card=first)
        assert again.blocked_at == first.blocked_at
        assert card_events(card).count("card.card.reported_lost") == 1

    def test_a_citizen_reports_only_his_own_card(self, citizen, make_person, issue_card):
        user, person = citizen
        mine, theirs = issue_card(person), issue_card(make_person())
        assert services.card_report_lost(actor=user, card=mine).state == Card.State.LOST
        with pytest.raises(NotFound):
            services.card_report_lost(actor=user, card=theirs)
        theirs.refresh_from_db()
        assert theirs.state == Card.State.ACTIVE


class TestReplacement:
    def test_replacement_of_a_lost_card_costs_a_fee_and_carries_everything_over(
        self, make_person, issue_card, card_clerk
    ):
        person = make_person()
        old = issue_card(person)
        top_up(old, 730)
        top_up(old, 55, unit="POINT")
        library = CardFunction.objects.get(code="library")
        services.function_enrol(card=old, function=library, reference="LIB-0001")
        old = services.einvoice_carrier_bind(actor=None, card=old, barcode="/ABC+123")
        services.card_report_lost(actor=None, card=old)

        application = services.replacement_request(actor=card_clerk, card=old, channel="counter")
        assert application.state == CardApplication.State.AWAITING_PAYMENT
        assert application.fee_order.amount == services.REPLACEMENT_FEE
        assert application not in selectors.review_queue(card_clerk)
        with pytest.raises(ApplicationStateConflict):  # not before the fee is paid
            services.application_approve(actor=card_clerk, application=application)

        payments.payment_order_settle(
            actor=None, order_number=application.fee_order.number, channel="counter",
            amount=services.REPLACEMENT_FEE, external_reference="receipt-1",
        )  # fmt: skip
        application.refresh_from_db()
        assert application.state == CardApplication.State.SUBMITTED
        assert application in selectors.review_queue(card_clerk)

        new = services.application_approve(actor=card_clerk, application=application)
        old.refresh_from_db()
        assert old.state == Card.State.REPLACED
        assert new.replaces == old and new.number != old.number
        assert (balance(new), balance(old)) == (730, 0)
        assert (balance(new, "POINT"), balance(old, "POINT")) == (55, 0)
        assert new.einvoice_carrier == "/ABC+123"
        codes = set(new.enrolments.filter(state="active").values_list("function__code", flat=True))
        assert codes == {"library", "einvoice_carrier"}
        assert not old.enrolments.filter(state="active").exists()
        assert new.enrolments.get(function=library).reference == "LIB-0001"
        assert "card.card.replaced" in card_events(old)

    def test_a_damaged_card_is_replaced_free_and_works_until_then(self, make_person, issue_card):
        card = issue_card(make_person())
        damaged = services.card_report_damaged(actor=None, card=card)
        assert damaged.is_usable_at(timezone.now())
        application = services.replacement_request(actor=None, card=damaged)
        assert application.fee_order is None
        assert application.state == CardApplication.State.SUBMITTED
        assert application.photo.name == card.application.photo.name  # the photo on file
        new = services.application_approve(actor=None, application=application)
        damaged.refresh_from_db()
        assert damaged.state == Card.State.REPLACED and not damaged.is_usable_at(timezone.now())
        assert new.kind == card.kind

    def test_withdrawing_cancels_the_fee_order(self, make_person, issue_card):
        card = services.card_report_lost(actor=None, card=issue_card(make_person()))
        application = services.replacement_request(actor=None, card=card)
        services.application_withdraw(actor=None, application=application)
        application.fee_order.refresh_from_db()
        assert application.fee_order.state == PaymentOrder.State.CANCELLED

    def test_a_replaced_card_cannot_be_replaced_again(self, make_person, issue_card):
        card = issue_card(make_person())
        services.application_approve(
            actor=None, application=services.replacement_request(actor=None, card=card)
        )
        card.refresh_from_db()
        with pytest.raises(CardStateConflict):
            services.replacement_request(actor=None, card=card)


class TestTypeChange:
    def test_a_general_card_holder_who_turned_65_switches_to_senior(
        self, make_person, issue_card, card_clerk
    ):
        today = timezone.localdate()
        person = make_person(birth_date=today.replace(year=today.year - 70))
        general = issue_card(person, "general")
        top_up(general, 120)
        assert general in selectors.type_change_candidates(card_clerk)
        application = services.type_change_request(actor=None, card=general, kind="senior")
        assert general not in selectors.type_change_candidates(card_clerk)
        senior = services.application_approve(actor=card_clerk, application=application)
        assert senior.kind == "senior" and balance(senior) == 120
        general.refresh_from_db()
        assert general.state == Card.State.REPLACED

    def test_a_too_young_holder_cannot_switch(self, make_person, issue_card):
        general = issue_card(make_person(birth_date=datetime.date(1990, 1, 1)))
        with pytest.raises(NotEligible):
            services.type_change_request(actor=None, card=general, kind="senior")

    def test_a_graduate_keeps_the_library_but_not_the_student_id(self, make_person, issue_card):
        person = make_person(birth_date=datetime.date(2008, 1, 1))
        school = Agency.objects.filter(kind=Agency.Kind.SCHOOL).first()
        enrolment = school_enrolment_record(
            actor=None, person=person, school=school, school_name="", level="senior_high",
            enrolled_on=datetime.date(2023, 9, 1), ends_on=datetime.date(2099, 6, 30),
        )  # fmt: skip
        student = issue_card(person, "student")
        services.function_enrol(
            card=student, function=CardFunction.objects.get(code="library"), reference="L-9"
        )
        services.function_enrol(
            card=student, function=CardFunction.objects.get(code="student_id"), reference="S-1"
        )
        enrolment.ends_on = timezone.localdate() - datetime.timedelta(days=1)
        enrolment.save()
        application = services.type_change_request(actor=None, card=student, kind="general")
        general = services.application_approve(actor=None, application=application)
        codes = set(general.enrolments.filter(state="active").values_list("function__code", flat=True))
        assert codes == {"library"}
        issued = AuditEvent.objects.get(action="card.card.issued", object_id=str(general.pk))
        assert issued.data["dropped_functions"] == ["student_id"]


def test_rejection_needs_a_reason_and_notifies(citizen, photo, card_clerk):
    user, person = citizen
    application = services.application_submit(actor=user, person=person, kind="general", photo=photo)
    with pytest.raises(InvalidInput):
        services.application_reject(actor=card_clerk, application=application, reason=" ")
    services.application_reject(actor=card_clerk, application=application, reason="照片不清楚，請重新上傳")
    application.refresh_from_db()
    assert application.state == CardApplication.State.REJECTED
    assert user.notifications.filter(body__contains="照片不清楚").exists()


def test_only_card_desk_staff_approve(citizen, photo, staff):
    user, person = citizen
    application = services.application_submit(actor=user, person=person, kind="general", photo=photo)
    for outsider in (user, staff["bureau_clerk"]):
        with pytest.raises(PermissionDenied):
            services.application_approve(actor=outsider, application=application)
    # A district office counter is card desk; so is a city administrator.
    assert services.application_approve(actor=staff["clerk_a"], application=application).state == "active"


def test_citizens_apply_only_for_themselves_and_only_online(citizen, make_person, photo):
    user, person = citizen
    with pytest.raises(NotFound):
        services.application_submit(actor=user, person=make_person(), kind="general", photo=photo)
    with pytest.raises(PermissionDenied):
        services.application_submit(actor=user, person=person, kind="general", channel="counter", photo=photo)


def test_sweep_cancels_on_death_and_moving_out_and_expires(make_person, issue_card):
    today = timezone.localdate()
    deceased, mover, expiring = make_person(), make_person(), make_person()
    dead_card, moved_card, old_card = issue_card(deceased), issue_card(mover), issue_card(expiring)
    deceased.deceased_on = today
    deceased.save()
    mover.moved_out_on = today - datetime.timedelta(days=3)
    mover.save()
    Card.objects.filter(pk=old_card.pk).update(expires_on=today - datetime.timedelta(days=1))

    counts = services.cards_sweep(today=today)
    assert counts == {"expired": 1, "cancelled_death": 1, "cancelled_moved_out": 1}
    states = dict(
        Card.objects.filter(pk__in=[dead_card.pk, moved_card.pk, old_card.pk]).values_list("pk", "state")
    )
    assert states == {dead_card.pk: "cancelled", moved_card.pk: "cancelled", old_card.pk: "expired"}
    assert Card.objects.get(pk=dead_card.pk).cancel_reason == Card.CancelReason.DEATH
    assert services.cards_sweep(today=today) == {"expired": 0, "cancelled_death": 0, "cancelled_moved_out": 0}


def test_cancelling_revokes_functions(make_person, issue_card, card_clerk):
    card = issue_card(make_person())
    services.function_enrol(card=card, function=CardFunction.objects.get(code="library"), reference="L-1")
    services.card_cancel(actor=card_clerk, card=card, reason="holder_request", note="申請停用")
    assert not FunctionEnrolment.objects.filter(card=card, state="active").exists()
    with pytest.raises(CardStateConflict):
        services.card_cancel(actor=card_clerk, card=card, reason="holder_request")
