"""Counter intake (臨櫃收件): a clerk files for the citizen at the counter, at any office the item's
rule allows; the case opens received by that office and goes to the competent one."""

import datetime

import pytest

from civicstack.core.models import AuditEvent, Notification
from civicstack.eservices import services
from civicstack.eservices.models import Application, Attachment, ServiceItem

from ..conftest import new_identifier
from .conftest import GOOD_ANSWERS, make_item, office_of, pdf_file

BIRTH = datetime.date(1975, 3, 9)


@pytest.fixture
def walk_in(make_user, make_person, districts):
    """A resident of district A with a login, and the ID number on his card."""
    raw = new_identifier("M")
    user = make_user("walkin")
    person = make_person(user=user, name="林家豪", identifier=raw, birth_date=BIRTH, district=districts[0])
    return person, raw


def _find(client, item, raw, office, birth=BIRTH, **extra):
    return client.post("/eservices/staff/counter/", {
        "step": "find", "item_code": item.code, "identifier": raw, "birth_date": birth.isoformat(),
        "receiving_office": office.pk, **extra,
    })  # fmt: skip


def test_a_clerk_of_another_district_files_and_the_case_goes_to_the_competent_office(
    transfer_item, walk_in, staff, client_for, districts
):
    person, raw = walk_in
    client = client_for(staff["clerk_b"])  # a clerk of district B's office; the citizen lives in A
    found = _find(client, transfer_item, raw, office_of(districts[1]), prefill_consent="on")
    assert found.status_code == 302
    form_page = client.get(found["Location"])
    assert form_page.status_code == 200
    page = form_page.content.decode()
    assert "林○豪" in page and raw not in page  # the ID number never goes back to the browser
    assert 'value="林家豪"' in page  # prefilled from the registry with the applicant's consent
    assert AuditEvent.objects.filter(action="person.viewed", object_id=str(person.pk)).exists()

    answers = {**GOOD_ANSWERS, "applicant_name": "林家豪"}
    filed = client.post(found["Location"], {**answers, "supporting_document": pdf_file()})
    assert filed.status_code == 302
    case = Application.objects.get(applicant_person=person)
    assert case.state == Application.State.RECEIVED
    assert (case.receiving_office, case.handling_office) == (office_of(districts[1]), office_of(districts[0]))
    assert case.is_cross_district and case.due_date and case.pickup_code
    assert case.applicant_id == person.user_id  # he follows it online
    assert list(case.events.values_list("action", flat=True)) == ["filed_at_counter", "receive"]
    assert Attachment.objects.filter(application=case, field="supporting_document").count() == 1
    assert Notification.objects.filter(recipient=person.user).count() == 1
    assert client.get(filed["Location"]).status_code == 200  # the clerk's case page


def test_a_wrong_birth_date_finds_nobody(transfer_item, walk_in, staff, client_for, districts):
    _person, raw = walk_in
    response = _find(client_for(staff["clerk_b"]), transfer_item, raw, office_of(districts[1]),
                     birth=BIRTH + datetime.timedelta(days=1))  # fmt: skip
    assert response.status_code == 404
    assert "no registry record" in response.content.decode()


def test_missing_answers_are_reported_and_nothing_is_filed(
    transfer_item, walk_in, staff, client_for, districts
):
    _person, raw = walk_in
    client = client_for(staff["clerk_b"])
    found = _find(client, transfer_item, raw, office_of(districts[1]))
    response = client.post(found["Location"], {"phone": "12"})
    assert response.status_code == 400
    assert 'id="q-applicant_name"' in response.content.decode()
    assert not Application.objects.exists()
    assert client.get(found["Location"]).status_code == 200  # still at step two, nothing lost


def test_an_item_filed_only_at_the_competent_office_is_refused_elsewhere(
    walk_in, staff, client_for, districts
):
    person, raw = walk_in
    item = make_item("T-LOCAL", agency=office_of(districts[0]), office_kind="district_office",
                     cross=ServiceItem.CrossDistrict.NOT_ALLOWED)  # fmt: skip
    response = _find(client_for(staff["clerk_b"]), item, raw, office_of(districts[1]))
    assert response.status_code == 400
    assert "competent office" in response.content.decode()


def test_a_clerk_files_only_at_his_own_office(transfer_item, walk_in, staff, districts):
    person, _raw = walk_in
    with pytest.raises(services.PermissionDenied):
        services.application_file_at_counter(
            actor=staff["clerk_b"], item=transfer_item, person=person, receiving_office=office_of(districts[0]),
            answers=GOOD_ANSWERS, files={"supporting_document": pdf_file()},
        )  # fmt: skip
    assert not Application.objects.exists()


def test_a_replaced_draft_file_is_removed_with_its_row(citizen, transfer_item, districts, settings, tmp_path,
                                                       django_capture_on_commit_callbacks):  # fmt: skip
    settings.MEDIA_ROOT = str(tmp_path)
    user, _person = citizen
    draft = services.application_draft_save(actor=user, item=transfer_item, answers={},
                                            files={"supporting_document": pdf_file("a.pdf")})  # fmt: skip
    first = Attachment.objects.get(application=draft)
    first_path = tmp_path / first.file.name
    assert first_path.exists()
    with django_capture_on_commit_callbacks(execute=True):
        services.application_draft_save(actor=user, application=draft, item=transfer_item, answers={},
                                        files={"supporting_document": pdf_file("b.pdf")})  # fmt: skip
    assert not first_path.exists()
    assert Attachment.objects.filter(application=draft).count() == 1
