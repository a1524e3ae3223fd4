"""Applications through the services: drafts and submission, attachments, versions, routing across
districts, the workflow's allowed and refused steps, deadlines in working days, fees and kiosk."""

import datetime

import pytest
from django.utils import timezone

from civicstack.core.errors import InvalidInput, NotFound, PermissionDenied
from civicstack.core.models import AuditEvent, Notification
from civicstack.eservices import demo, selectors, services
from civicstack.eservices.errors import (
    ApplicationStateConflict,
    FormInvalid,
    InvalidAttachment,
    RoutingRefused,
)
from civicstack.eservices.models import Application, Attachment

from .conftest import GOOD_ANSWERS, office_of, pdf_file, png_file

State = Application.State
pytestmark = pytest.mark.django_db


def _events(application):
    return list(application.events.values_list("action", flat=True))


# --- drafts, validation, attachments -------------------------------------------------------------


def test_submit_makes_a_case_with_receipt_pickup_code_deadline_and_timeline(submitted, districts, citizen):
    application = submitted()
    assert application.state == State.SUBMITTED
    assert application.number.startswith("E") and len(application.number) == 13
    assert len(application.pickup_code) == 8
    assert application.due_date >= timezone.localdate()
    assert _events(application) == ["draft_saved", "submitted"]
    assert (
        AuditEvent.objects.filter(
            action="eservices.application.submitted", object_id=str(application.pk)
        ).count()
        == 1
    )
    assert Notification.objects.filter(recipient=citizen[0], subject__contains=application.number).exists()
    assert application.attachments.get().content_type == "application/pdf"


def test_submit_is_idempotent(submitted, citizen):
    application = submitted()
    again = services.application_submit(actor=citizen[0], application=application)
    assert again.pickup_code == application.pickup_code
    assert _events(again) == ["draft_saved", "submitted"]


def test_draft_is_saved_partially_and_resumed(citizen, transfer_item):
    user, _ = citizen
    draft = services.application_draft_save(
        actor=user, item=transfer_item, answers={"applicant_name": "陳美玲"}
    )
    assert draft.state == State.DRAFT
    with pytest.raises(FormInvalid) as missing:
        services.application_submit(actor=user, application=draft)
    assert set(missing.value.details["fields"]) == {"phone", "purpose", "delivery", "supporting_document"}
    draft = services.application_draft_save(actor=user, item=transfer_item, application=draft, answers=GOOD_ANSWERS,
                                            files={"supporting_document": pdf_file()})  # fmt: skip
    # resumed again without the file: the stored attachment is kept
    draft = services.application_draft_save(actor=user, item=transfer_item, application=draft,
                                            answers={**GOOD_ANSWERS, "copies": 2})  # fmt: skip
    assert draft.data["supporting_document"].startswith("attachment:")
    assert services.application_submit(actor=user, application=draft).state == State.SUBMITTED


def test_bad_answers_are_refused_and_nothing_is_saved(citizen, transfer_item):
    user, _ = citizen
    with pytest.raises(FormInvalid) as error:
        services.application_draft_save(actor=user, item=transfer_item, answers={**GOOD_ANSWERS, "phone": "abc"},
                                        files={"supporting_document": pdf_file()})  # fmt: skip
    assert error.value.code == "form_invalid"
    assert list(error.value.details["fields"]) == ["phone"]
    assert Application.objects.count() == 0 and Attachment.objects.count() == 0


@pytest.mark.parametrize(
    ("upload", "reason"),
    [
        (lambda: pdf_file(size=5 * 1024 * 1024 + 1), "larger"),
        (lambda: pdf_file(name="proof.png"), "named"),
        (
            lambda: (
                pdf_file(size=0)
                if False
                else __import__("django.core.files.uploadedfile", fromlist=["x"]).SimpleUploadedFile(
                    "a.exe", b"MZ\x90\x00" * 10
                )
            ),
            "accepted",
        ),
        (
            lambda: __import__("django.core.files.uploadedfile", fromlist=["x"]).SimpleUploadedFile(
                "a.pdf", b""
            ),
            "empty",
        ),
    ],
)
def test_bad_attachments_are_refused_and_nothing_is_saved(citizen, transfer_item, upload, reason):
    user, _ = citizen
    with pytest.raises(InvalidAttachment) as error:
        services.application_draft_save(actor=user, item=transfer_item, answers=GOOD_ANSWERS,
                                        files={"supporting_document": upload()})  # fmt: skip
    assert reason in error.value.details["fields"]["supporting_document"]
    assert Application.objects.count() == 0 and Attachment.objects.count() == 0


def test_file_for_a_field_that_takes_none_is_refused(citizen, transfer_item):
    with pytest.raises(InvalidAttachment):
        services.application_draft_save(actor=citizen[0], item=transfer_item, answers=GOOD_ANSWERS,
                                        files={"phone": png_file()})  # fmt: skip


def test_attachment_reference_cannot_be_forged(citizen, transfer_item):
    user, _ = citizen
    draft = services.application_draft_save(actor=user, item=transfer_item,
                                            answers={**GOOD_ANSWERS, "supporting_document": "attachment:999"})  # fmt: skip
    assert "supporting_document" not in draft.data


def test_a_submitted_application_keeps_its_form_version(submitted, transfer_item, citizen):
    application = submitted()
    schema, layout = demo.form_for(transfer_item, with_attachment=False)
    schema["properties"]["school"] = {"type": "string", "title": "就讀學校"}
    schema["required"].append("school")
    layout["sections"][1]["fields"].append("school")
    v2 = services.form_definition_create(actor=None, item=transfer_item, schema=schema, layout=layout)
    assert v2.version == 2 and services.current_form(transfer_item) == v2
    application.refresh_from_db()
    assert application.form.version == 1
    new = services.application_draft_save(actor=citizen[0], item=transfer_item, answers=GOOD_ANSWERS)
    assert new.form == v2
    with pytest.raises(FormInvalid) as error:
        services.application_submit(actor=citizen[0], application=new)
    assert set(error.value.details["fields"]) == {"school"}


def test_form_versions_are_managed_only_by_supervisors_of_the_agency(staff, transfer_item):
    schema, layout = demo.form_for(transfer_item)
    with pytest.raises(PermissionDenied):
        services.form_definition_create(
            actor=staff["clerk_a"], item=transfer_item, schema=schema, layout=layout
        )


# --- routing --------------------------------------------------------------------------------------


def test_cross_district_transfer_routes_to_the_home_office(submitted, districts):
    application = submitted(receiving=office_of(districts[1]))
    assert application.receiving_office == office_of(districts[1])
    assert application.handling_office == office_of(districts[0])
    assert application.is_cross_district


def test_filing_at_home_is_not_cross_district(submitted, districts):
    application = submitted(receiving=office_of(districts[0]))
    assert application.receiving_office == application.handling_office == office_of(districts[0])
    assert not application.is_cross_district


def test_handle_anywhere_is_handled_where_received(citizen, bureau, districts):
    from .conftest import make_item

    item = make_item(
        "T-ANY", agency=bureau, office_kind="district_office", cross="anywhere", attachment=False
    )
    draft = services.application_draft_save(actor=citizen[0], item=item, answers=GOOD_ANSWERS,
                                            receiving_office=office_of(districts[1]))  # fmt: skip
    assert draft.receiving_office == draft.handling_office == office_of(districts[1])
    assert draft.is_cross_district


def test_not_cross_district_item_refuses_another_office(citizen, bureau, districts):
    from .conftest import make_item

    item = make_item("T-HOME", agency=bureau, office_kind="district_office", attachment=False)
    with pytest.raises(RoutingRefused):
        services.application_draft_save(actor=citizen[0], item=item, answers=GOOD_ANSWERS,
                                        receiving_office=office_of(districts[1]))  # fmt: skip
    assert services.receiving_offices(item, citizen[1]) == [office_of(districts[0])]
    assert selectors.item_by_code("T-HOME") == item


def test_bureau_item_is_handled_by_the_bureau(citizen, fee_item, bureau):
    draft = services.application_draft_save(actor=citizen[0], item=fee_item, answers=GOOD_ANSWERS)
    assert draft.receiving_office == draft.handling_office == bureau


# --- workflow ---------------------------------------------------------------------------------------


def test_full_workflow_with_supplement(submitted, staff, citizen):
    application = submitted()  # handled by district A's office
    clerk = staff["clerk_a"]
    for action in ("receive", "review"):
        application = services.application_transition(actor=clerk, application=application, action=action)
    application = services.application_transition(actor=clerk, application=application, action="request_supplement",
                                                  reason="請補附戶口名簿影本")  # fmt: skip
    assert application.state == State.SUPPLEMENT_REQUESTED and application.paused_working_days >= 1
    assert selectors.sla(application) == "paused"
    application = services.application_supplement(actor=citizen[0], application=application, answers={},
                                                  files={"supporting_document": png_file()}, note="已補附")  # fmt: skip
    assert application.state == State.IN_REVIEW
    assert application.attachments.count() == 2
    application = services.application_transition(actor=clerk, application=application, action="approve")
    application = services.application_transition(actor=clerk, application=application, action="complete")
    assert _events(application) == ["draft_saved", "submitted", "receive", "review", "request_supplement",
                                    "supplemented", "approve", "complete"]  # fmt: skip
    assert application.assigned_to == clerk
    subjects = list(Notification.objects.filter(recipient=citizen[0]).values_list("subject", flat=True))
    assert sum(application.number in s for s in subjects) >= 6


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ([], "review"),
        ([], "approve"),
        ([], "complete"),
        (["receive"], "receive"),
        (["receive", "approve"], "request_supplement"),
        (["receive", "reject"], "approve"),
        (["receive", "approve", "complete"], "reject"),
    ],
)
def test_refused_transitions_change_nothing(submitted, staff, path, refused):
    application = submitted()
    for action in path:
        application = services.application_transition(actor=staff["clerk_a"], application=application, action=action,
                                                      reason="理由")  # fmt: skip
    before = (application.state, application.events.count())
    with pytest.raises(ApplicationStateConflict):
        services.application_transition(
            actor=staff["clerk_a"], application=application, action=refused, reason="理由"
        )
    application.refresh_from_db()
    assert (application.state, application.events.count()) == before


def test_reject_and_supplement_need_a_reason(submitted, staff):
    application = submitted()
    with pytest.raises(InvalidInput):
        services.application_transition(actor=staff["clerk_a"], application=application, action="reject")


def test_withdraw_and_after(submitted, citizen, staff):
    application = submitted()
    application = services.application_withdraw(actor=citizen[0], application=application, reason="不需要了")
    assert application.state == State.WITHDRAWN
    with pytest.raises(ApplicationStateConflict):
        services.application_withdraw(actor=citizen[0], application=application)
    with pytest.raises(ApplicationStateConflict):
        services.application_transition(actor=staff["clerk_a"], application=application, action="receive")


def test_supplement_only_when_requested(submitted, citizen):
    with pytest.raises(ApplicationStateConflict):
        services.application_supplement(actor=citizen[0], application=submitted(), answers={}, note="x")


# --- permissions ------------------------------------------------------------------------------------


def test_offices_see_cases_they_received_or_handle_only(submitted, staff, make_user, districts):
    application = submitted(receiving=office_of(districts[1]))  # received by B, handled by A
    for name in ("clerk_a", "clerk_b", "city_admin"):
        assert selectors.access_application_for_staff(staff[name], application.number) == application
    with pytest.raises(NotFound):
        selectors.access_application_for_staff(staff["bureau_clerk"], application.number)
    # the receiving office may receive but not decide
    services.application_transition(actor=staff["clerk_b"], application=application, action="receive")
    with pytest.raises(PermissionDenied):
        services.application_transition(actor=staff["clerk_b"], application=application, action="review")
    with pytest.raises(NotFound):
        services.application_transition(actor=staff["bureau_clerk"], application=application, action="review")


def test_a_citizen_sees_only_his_own(submitted, make_user, make_person):
    application = submitted()
    other = make_user("other")
    make_person(user=other, name="林志豪")
    with pytest.raises(NotFound):
        selectors.access_application_for_citizen(other, application.number)
    with pytest.raises(NotFound):
        services.application_withdraw(actor=other, application=application)
    assert list(selectors.applications_of_citizen(other)) == []


def test_drafts_are_invisible_to_staff(citizen, transfer_item, staff):
    draft = services.application_draft_save(actor=citizen[0], item=transfer_item, answers={})
    with pytest.raises(NotFound):
        selectors.access_application_for_staff(staff["city_admin"], draft.number)


def test_assign_and_bulk(submitted, staff):
    first, second = submitted(), submitted()
    with pytest.raises(PermissionDenied):
        services.application_assign(actor=staff["clerk_a"], application=first, assignee=staff["supervisor_a"])
    with pytest.raises(InvalidInput):
        services.application_assign(actor=staff["supervisor_a"], application=first, assignee=staff["clerk_b"])
    result = services.applications_bulk(actor=staff["supervisor_a"], numbers=[first.number, second.number, "E000"],
                                        action="assign", assignee=staff["clerk_a"])  # fmt: skip
    assert result.done == [first.number, second.number] and list(result.refused) == ["E000"]
    result = services.applications_bulk(
        actor=staff["clerk_a"], numbers=[first.number, second.number], action="receive"
    )
    assert len(result.done) == 2
    result = services.applications_bulk(actor=staff["clerk_a"], numbers=[first.number], action="receive")
    assert list(result.refused) == [first.number]


# --- deadlines --------------------------------------------------------------------------------------


def test_deadline_counts_working_days_over_the_lunar_new_year(submitted, staff, citizen, monkeypatch):
    # Filed on Wed 2024-02-07 with a 5-working-day limit: 8–14 Feb are off, Sat 17 Feb is a make-up
    # working day, so the days are 15, 16, 17, 19, 20 Feb.
    monkeypatch.setattr(timezone, "localdate", lambda *args: datetime.date(2024, 2, 7))
    application = submitted()
    assert application.due_date == datetime.date(2024, 2, 20)
    # A supplement requested on 2024-02-16 stops the clock with 3 working days left (17, 19, 20)...
    services.application_transition(actor=staff["clerk_a"], application=application, action="receive")
    monkeypatch.setattr(timezone, "localdate", lambda *args: datetime.date(2024, 2, 16))
    application = services.application_transition(actor=staff["clerk_a"], application=application,
                                                  action="request_supplement", reason="補件")  # fmt: skip
    assert application.paused_working_days == 3
    # ...and it restarts when the citizen supplements on Fri 2024-02-23: Sat 24 is no working day.
    monkeypatch.setattr(timezone, "localdate", lambda *args: datetime.date(2024, 2, 23))
    application = services.application_supplement(
        actor=citizen[0], application=application, answers={}, note="補"
    )
    # 26 and 27 Feb, then 28 Feb is Peace Memorial Day (和平紀念日), so the third day is 29 Feb.
    assert application.due_date == datetime.date(2024, 2, 29)


def test_reminders_and_escalation_run_once(submitted, staff):
    due_soon, overdue = submitted(), submitted()
    today = timezone.localdate()
    Application.objects.filter(pk=due_soon.pk).update(due_date=services.working_days.add_working_days(today, 1),
                                                      assigned_to=staff["clerk_a"])  # fmt: skip
    Application.objects.filter(pk=overdue.pk).update(due_date=today - datetime.timedelta(days=3))
    run = services.applications_check_deadlines(today=today)
    assert (run.reminded, run.escalated) == (1, 1)
    assert Notification.objects.filter(recipient=staff["clerk_a"], subject__contains=due_soon.number).exists()
    assert Notification.objects.filter(
        recipient=staff["supervisor_a"], subject__contains=overdue.number
    ).exists()
    assert services.applications_check_deadlines(today=today) == services.DeadlineRun(0, 0)
    assert selectors.sla(Application.objects.get(pk=overdue.pk)) == "overdue"
    assert selectors.sla(Application.objects.get(pk=due_soon.pk)) == "due_soon"


# --- fees and kiosk ---------------------------------------------------------------------------------


def test_fee_order_kiosk_pay_and_approval(citizen, fee_item, bureau_clerk):
    user, _ = citizen
    application = services.application_submit(
        actor=user,
        application=services.application_draft_save(actor=user, item=fee_item, answers=GOOD_ANSWERS),
    )
    order = application.payment_order
    assert order.amount == 100 and order.state == "pending" and order.source_type == services.SOURCE_TYPE
    services.application_transition(actor=bureau_clerk, application=application, action="receive")
    with pytest.raises(ApplicationStateConflict) as unpaid:
        services.application_transition(actor=bureau_clerk, application=application, action="approve")
    assert unpaid.value.code == "fee_unpaid"
    assert services.kiosk_lookup(application.pickup_code.lower()) == application
    with pytest.raises(InvalidInput):
        services.kiosk_pay(api_key=None, code=application.pickup_code, amount=99, store_reference="711-1")
    paid = services.kiosk_pay(api_key=None, code=application.pickup_code, amount=100, store_reference="711-1")
    again = services.kiosk_pay(
        api_key=None, code=application.pickup_code, amount=100, store_reference="711-1"
    )
    assert paid.fee_paid_at is not None and again.fee_paid_at == paid.fee_paid_at
    assert paid.payment_order.channel == "convenience_store"
    assert _events(paid).count("fee_paid") == 1
    approved = services.application_transition(actor=bureau_clerk, application=paid, action="approve")
    assert approved.state == State.APPROVED


def test_kiosk_codes(submitted):
    with pytest.raises(InvalidInput):
        services.kiosk_lookup("abc")
    with pytest.raises(NotFound):
        services.kiosk_lookup("AAAAAAAA")
    application = submitted()
    with pytest.raises(ApplicationStateConflict):
        services.kiosk_pay(api_key=None, code=application.pickup_code, amount=1, store_reference="x")


def test_withdraw_cancels_an_unpaid_fee_order(citizen, fee_item):
    user, _ = citizen
    application = services.application_submit(
        actor=user,
        application=services.application_draft_save(actor=user, item=fee_item, answers=GOOD_ANSWERS),
    )
    application = services.application_withdraw(actor=user, application=application)
    assert application.payment_order.state == "cancelled"
