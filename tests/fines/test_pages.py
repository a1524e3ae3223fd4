"""The fines pages: the public lookup and "pay" button, and the staff case list, case page and
issue form, with their agency scoping."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from civicstack.core.models import AuditEvent
from civicstack.fines.models import FineCase
from civicstack.payments.models import PaymentOrder

pytestmark = pytest.mark.django_db


def test_the_portal_has_a_fines_tile(client):
    response = client.get("/")
    assert b"/fines/lookup/" in response.content


def test_public_lookup_by_number_shows_amount_status_and_pay_button(client, issue):
    case, _ = issue(name="王小明", amount=3600)
    response = client.post("/fines/lookup/", {"case_number": case.number})
    page = response.content.decode()
    assert response.status_code == 200
    assert case.number in page and "3,600" in page and "王○明" in page and "王小明" not in page
    assert f"/fines/cases/{case.number}/pay/" in page


def test_public_lookup_by_name_and_id_and_wrong_id_reveals_nothing(client, issue):
    case, identifier = issue(name="陳怡君")
    _, other_identifier = issue(name="李大同")
    found = client.post("/fines/lookup/", {"name": "陳怡君", "identifier": identifier}).content.decode()
    wrong = client.post("/fines/lookup/", {"name": "陳怡君", "identifier": other_identifier}).content.decode()
    assert case.number in found
    assert case.number not in wrong and "陳" not in wrong.split('id="results-heading"')[1]


def test_a_name_alone_is_refused_on_the_page(client, issue):
    case, _ = issue(name="陳怡君")
    response = client.post("/fines/lookup/", {"name": "陳怡君"})
    assert response.status_code == 400
    assert case.number not in response.content.decode()


def test_the_pay_button_issues_the_order_and_goes_to_the_payment_page(client, issue):
    case, _ = issue()
    response = client.post(f"/fines/cases/{case.number}/pay/")
    order = PaymentOrder.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/payments/orders/{order.number}/"
    assert order.state == PaymentOrder.State.PENDING


def test_staff_case_list_is_agency_scoped(client_for, issue, staff, citizen):
    mine, _ = issue("fine_a", name="王小明")
    theirs, _ = issue("fine_b", name="李大同")
    page = client_for(staff["clerk_a"]).get("/fines/staff/cases/").content.decode()
    assert mine.number in page and theirs.number not in page
    assert client_for(citizen[0]).get("/fines/staff/cases/").status_code == 403
    assert client_for(None).get("/fines/staff/cases/").status_code == 302  # to the login page


def test_another_agencys_case_page_is_not_found(client_for, issue, staff):
    theirs, _ = issue("fine_b")
    clerk = client_for(staff["clerk_a"])
    assert clerk.get(f"/fines/staff/cases/{theirs.number}/").status_code == 404
    assert clerk.post(f"/fines/staff/cases/{theirs.number}/cancel/", {"reason": "試試看"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.state == FineCase.State.ISSUED


def test_case_page_shows_history_and_acts(client_for, issue, staff):
    case, _ = issue("fine_a")
    clerk = client_for(staff["clerk_a"])
    clerk.post(f"/fines/staff/cases/{case.number}/notice/")
    png = SimpleUploadedFile("photo.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64, content_type="image/png")
    clerk.post(f"/fines/staff/cases/{case.number}/documents/", {"file": png, "description": "現場照片"})
    page = clerk.get(f"/fines/staff/cases/{case.number}/").content.decode()
    assert (
        "fines.case.issued" in page and "fines.case.notified" in page and "fines.case.document_added" in page
    )
    assert "photo.png" in page
    clerk.post(f"/fines/staff/cases/{case.number}/cancel/", {"reason": "開單錯誤"})
    case.refresh_from_db()
    assert case.state == FineCase.State.CANCELLED


def test_issue_form_issues_a_case_under_the_staffs_items(client_for, items, staff):
    clerk = client_for(staff["clerk_a"])
    form = clerk.get("/fines/staff/cases/new/").content.decode()
    assert items["fine_a"].name in form and "B-LITTER" not in form
    response = clerk.post("/fines/staff/cases/new/", {
        "item": items["fine_a"].pk, "payer_identifier": "A123456789", "payer_name": "張三豐", "amount": 1500,
    })  # fmt: skip
    case = FineCase.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/fines/staff/cases/{case.number}/"
    bad = clerk.post("/fines/staff/cases/new/", {
        "item": items["fine_a"].pk, "payer_identifier": "A123456789", "payer_name": "張三豐", "amount": 999_999,
    })  # fmt: skip
    assert bad.status_code == 200 and "NT$1,200" in bad.content.decode()
    other = clerk.post("/fines/staff/cases/new/", {
        "item": items["fine_b"].pk, "payer_identifier": "A123456789", "payer_name": "張三豐"})  # fmt: skip
    assert other.status_code == 200 and FineCase.objects.count() == 1


def test_statistics_page(client_for, issue, staff):
    issue("fine_a", amount=2000)
    page = client_for(staff["clerk_a"]).get("/fines/staff/statistics/?group_by=item").content.decode()
    assert "A-LITTER" in page and "2,000" in page


def test_staff_console_lists_only_their_agencys_cases(client_for, issue, staff):
    mine, _ = issue("fine_a")
    theirs, _ = issue("fine_b")
    page = client_for(staff["clerk_a"]).get("/staff/fines/finecase/").content.decode()
    assert mine.number in page and theirs.number not in page
    assert client_for(staff["clerk_a"]).get(f"/staff/fines/finecase/{theirs.pk}/change/").status_code in (
        302,
        404,
    )


def test_console_item_edits_go_through_the_service(client_for, items, staff):
    supervisor = client_for(staff["supervisor_a"])
    item = items["fine_a"]
    response = supervisor.post(f"/staff/fines/businessitem/{item.pk}/change/", {
        "name": "亂丟菸蒂罰鍰", "statute": "廢棄物清理法", "article": "第27條第1款", "default_amount": 1200,
        "min_amount": 1200, "max_amount": 6000, "is_active": "on",
    })  # fmt: skip
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.article == "第27條第1款"
    assert AuditEvent.objects.filter(action="fines.item.updated", object_id=str(item.pk)).exists()
