"""The fines API through real HTTP: the public lookup and "pay" endpoints, the staff endpoints,
their authorisation, statistics and the Excel export."""

import datetime
import io

import openpyxl
import pytest
from django.utils import timezone

from civicstack.fines import services
from civicstack.fines.models import FineCase
from civicstack.payments.models import PaymentOrder
from civicstack.payments.services import payment_order_settle

from .conftest import new_business_number

pytestmark = pytest.mark.django_db

LOOKUP = "/api/v1/fines/lookup"


# --- public lookup ----------------------------------------------------------------------------


def test_lookup_by_case_number_shows_that_case_with_the_payer_masked(client, issue):
    case, _ = issue(name="王小明", amount=3600)
    issue(name="王小明")  # another case of someone else is not shown

    response = client.get(LOOKUP, {"case_number": case.number.lower()})

    assert response.status_code == 200
    [found] = response.json()["cases"]
    assert (found["number"], found["payer_name_masked"], found["amount"], found["state"]) == (
        case.number, "王○明", 3600, "issued")  # fmt: skip
    assert "王小明" not in response.content.decode()


def test_lookup_by_name_and_identifier_needs_both_to_match(client, issue):
    mine, identifier = issue(name="陳怡君")
    services.case_send_notice(actor=None, case=mine)
    issue(name="陳怡君")  # same name, another person

    response = client.get(LOOKUP, {"name": "陳怡君", "identifier": identifier})
    assert response.status_code == 200
    [found] = response.json()["cases"]
    assert found["number"] == mine.number
    mine.payment_order.refresh_from_db()
    assert found["payment_url"] == f"/payments/orders/{mine.payment_order.number}/"
    assert found["notice_url"] == f"/payments/orders/{mine.payment_order.number}/notice.pdf"


def test_a_wrong_identifier_looks_exactly_like_no_case(client, issue):
    _case, identifier = issue(name="陳怡君")
    _other, other_identifier = issue(name="李大同")

    wrong = client.get(LOOKUP, {"name": "陳怡君", "identifier": other_identifier})
    nobody = client.get(LOOKUP, {"name": "無此人", "identifier": identifier[:-1] + "0"})
    unknown_number = client.get(LOOKUP, {"case_number": "2345678ABCDE"})

    assert wrong.status_code == 404
    assert wrong.json() == {"error": {"code": "not_found", "message": "no case matches what you entered",
                                      "details": None}}  # fmt: skip
    assert unknown_number.json() == wrong.json()
    assert nobody.status_code in (400, 404)  # a number with a broken check digit is refused as input


def test_a_company_is_found_by_name_and_business_number(client, issue):
    ban = new_business_number()
    case, _ = issue(identifier=ban, name="大成食品股份有限公司")
    response = client.get(LOOKUP, {"name": "大成食品股份有限公司", "identifier": ban})
    assert [c["number"] for c in response.json()["cases"]] == [case.number]
    assert response.json()["cases"][0]["payer_name_masked"] == "大○○○○○○○○司"


@pytest.mark.parametrize("params", [{"name": "陳怡君"}, {"identifier": "H123456786"}, {}])
def test_a_name_alone_or_nothing_is_refused(client, issue, params):
    issue(name="陳怡君", identifier="H123456786")
    response = client.get(LOOKUP, params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_input"


def test_lookup_is_rate_limited_per_address(client):
    statuses = [client.get(LOOKUP, {"case_number": "2345678ABCDE"}).status_code for _ in range(31)]
    assert statuses[:30] == [404] * 30
    assert statuses[30] == 429
    assert client.get(LOOKUP, {"case_number": "x"}).json()["error"]["code"] == "too_many_requests"


def test_cancelled_cases_are_not_shown(client, issue):
    case, identifier = issue(name="陳怡君")
    services.case_cancel(actor=None, case=case, reason="開單錯誤")
    assert client.get(LOOKUP, {"case_number": case.number}).status_code == 404
    assert client.get(LOOKUP, {"name": "陳怡君", "identifier": identifier}).status_code == 404


# --- public payment order ---------------------------------------------------------------------


def test_payment_order_is_issued_on_demand_and_idempotent(client, issue):
    case, _ = issue()
    url = f"/api/v1/fines/cases/{case.number}/payment-order"

    first = client.post(url)
    second = client.post(url)

    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    body = first.json()
    assert body["order_number"] == case.payment_order.number
    assert (body["amount"], body["state"]) == (1200, "pending")
    assert body["payment_url"] == f"/payments/orders/{body['order_number']}/"
    assert body["notice_url"] == f"/payments/orders/{body['order_number']}/notice.pdf"
    assert PaymentOrder.objects.count() == 1


def test_a_paid_case_has_nothing_to_pay(client, issue):
    case, _ = issue()
    services.case_send_notice(actor=None, case=case)
    payment_order_settle(actor=None, order_number=case.payment_order.number, channel="counter", amount=1200)
    response = client.post(f"/api/v1/fines/cases/{case.number}/payment-order")
    assert response.status_code == 409
    assert client.post("/api/v1/fines/cases/2345678ABCDE/payment-order").status_code == 404


# --- staff ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "status"), [(None, 401), ("citizen", 403), ("clerk_b", 404), ("clerk_a", 200),
                                             ("agency_admin_a", 200), ("city_admin", 200)])  # fmt: skip
def test_case_detail_authorisation(client_for, issue, staff, citizen, who, status):
    case, _ = issue("fine_a")
    user = citizen[0] if who == "citizen" else staff.get(who)
    response = client_for(user).get(f"/api/v1/fines/cases/{case.number}")
    assert response.status_code == status
    if status == 404:
        assert response.json()["error"]["code"] == "not_found"


def test_staff_list_only_their_agencys_cases(client, issue, staff, token_for):
    mine, _ = issue("fine_a")
    theirs, _ = issue("fine_b")

    numbers_a = [
        c["number"] for c in client.get("/api/v1/fines/cases", **token_for(staff["clerk_a"])).json()["items"]
    ]
    numbers_b = [
        c["number"] for c in client.get("/api/v1/fines/cases", **token_for(staff["clerk_b"])).json()["items"]
    ]
    numbers_city = client.get("/api/v1/fines/cases", **token_for(staff["city_admin"])).json()["count"]

    assert numbers_a == [mine.number] and numbers_b == [theirs.number] and numbers_city == 2
    for action in ("notice", "cancel", "enforcement"):
        response = client.post(f"/api/v1/fines/cases/{theirs.number}/{action}", {"reason": "試試看"},
                               content_type="application/json", **token_for(staff["clerk_a"]))  # fmt: skip
        assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.state == FineCase.State.ISSUED


def test_staff_issue_notify_and_cancel_through_the_api(client, items, staff, token_for):
    auth = token_for(staff["clerk_a"])
    response = client.post("/api/v1/fines/cases", {
        "item_id": items["fine_a"].pk, "payer_identifier": "A123456789", "payer_name": "張三豐", "amount": 2400,
        "facts": "110年5月1日於中山路丟棄菸蒂",
    }, content_type="application/json", **auth)  # fmt: skip
    assert response.status_code == 201, response.json()
    created = response.json()
    assert (created["state"], created["amount"], created["payer_identifier"]) == (
        "issued",
        2400,
        "A12****789",
    )
    number = created["number"]

    assert client.post(f"/api/v1/fines/cases/{number}/notice", **auth).json()["state"] == "notified"
    cancelled = client.post(f"/api/v1/fines/cases/{number}/cancel", {"reason": "繳款人已更正"},
                            content_type="application/json", **auth).json()  # fmt: skip
    assert (cancelled["state"], cancelled["order_state"]) == ("cancelled", "cancelled")
    assert [h["action"] for h in cancelled["history"]] == [
        "fines.case.issued", "fines.case.notified", "fines.case.cancelled"]  # fmt: skip


def test_issuing_under_another_agencys_item_or_out_of_range_is_refused(client, items, staff, token_for):
    auth = token_for(staff["clerk_a"])
    body = {"item_id": items["fine_b"].pk, "payer_identifier": "A123456789", "payer_name": "張三豐"}
    assert (
        client.post("/api/v1/fines/cases", body, content_type="application/json", **auth).status_code == 404
    )
    body |= {"item_id": items["fine_a"].pk, "amount": 999_999}
    response = client.post("/api/v1/fines/cases", body, content_type="application/json", **auth)
    assert response.status_code == 400 and response.json()["error"]["code"] == "amount_out_of_range"
    assert not FineCase.objects.exists()


def test_enforcement_through_the_api(client, issue, staff, token_for, yesterday):
    case, _ = issue("fine_a")
    services.case_send_notice(actor=None, case=case)
    FineCase.objects.filter(pk=case.pk).update(due_date=yesterday)
    services.cases_mark_overdue()
    auth = token_for(staff["clerk_a"])
    url = f"/api/v1/fines/cases/{case.number}/enforcement"
    assert client.post(url, {}, content_type="application/json", **auth).status_code == 422
    response = client.post(url, {"reason": "逾期未繳"}, content_type="application/json", **auth)
    assert response.status_code == 200 and response.json()["state"] == "transferred"
    again = client.post(url, {"reason": "逾期未繳"}, content_type="application/json", **auth)
    assert again.status_code == 409 and again.json()["error"]["code"] == "case_state_conflict"


def test_items_are_listed_and_created_by_supervisors_of_the_agency(client, items, staff, token_for, agencies):
    listed = client.get("/api/v1/fines/items", **token_for(staff["clerk_a"])).json()
    assert sorted(i["code"] for i in listed["items"]) == ["A-CERT", "A-LITTER"]
    body = {"agency_code": agencies["a"].code, "code": "A-NOISE", "name": "噪音管制罰鍰", "kind": "fine",
            "statute": "噪音管制法", "article": "第24條", "default_amount": 3000, "min_amount": 3000,
            "max_amount": 30000}  # fmt: skip
    clerk = client.post(
        "/api/v1/fines/items", body, content_type="application/json", **token_for(staff["clerk_a"])
    )
    assert clerk.status_code == 403
    created = client.post("/api/v1/fines/items", body, content_type="application/json",
                          **token_for(staff["supervisor_a"]))  # fmt: skip
    assert created.status_code == 201 and created.json()["max_amount"] == 30000
    other = client.post("/api/v1/fines/items", body | {"agency_code": agencies["b"].code},
                        content_type="application/json", **token_for(staff["supervisor_a"]))  # fmt: skip
    assert other.status_code == 404


def test_statistics_add_up(client, issue, staff, token_for, yesterday):
    paid, _ = issue("fine_a", amount=2000)
    services.case_send_notice(actor=None, case=paid)
    payment_order_settle(actor=None, order_number=paid.payment_order.number, channel="counter", amount=2000)
    late, _ = issue("fine_a", amount=3000)
    services.case_send_notice(actor=None, case=late)
    FineCase.objects.filter(pk=late.pk).update(due_date=yesterday)
    services.cases_mark_overdue()
    issue("fee_a")
    cancelled, _ = issue("fee_a")
    services.case_cancel(actor=None, case=cancelled, reason="重複開單")
    issue("fine_b", amount=5000)

    auth = token_for(staff["clerk_a"])
    by_item = client.get("/api/v1/fines/statistics", {"group_by": "item"}, **auth).json()
    rows = {row["key"].split("/")[1]: row for row in by_item["rows"]}
    assert (rows["A-LITTER"]["issued_count"], rows["A-LITTER"]["issued_amount"]) == (2, 5000)
    assert (rows["A-LITTER"]["paid_amount"], rows["A-LITTER"]["overdue_amount"]) == (2000, 3000)
    assert (rows["A-CERT"]["issued_count"], rows["A-CERT"]["cancelled_count"]) == (1, 1)
    assert by_item["totals"]["issued_amount"] == 5100  # agency B's NT$5,000 is not theirs

    city = token_for(staff["city_admin"])
    for group_by in ("agency", "item", "month"):
        body = client.get("/api/v1/fines/statistics", {"group_by": group_by}, **city).json()
        assert body["totals"]["issued_count"] == 4 and body["totals"]["issued_amount"] == 10_100
        assert sum(row["paid_amount"] for row in body["rows"]) == body["totals"]["paid_amount"] == 2000
    month = client.get("/api/v1/fines/statistics", {"group_by": "month"}, **city).json()
    assert [row["key"] for row in month["rows"]] == [f"{timezone.localdate():%Y-%m}"]
    assert client.get("/api/v1/fines/statistics", {"group_by": "payer"}, **city).status_code == 422


def test_excel_export_holds_the_filtered_rows(client, issue, staff, token_for):
    fine, _ = issue("fine_a", name="王小明", amount=4800)
    fee, _ = issue("fee_a", name="李小華")
    issue("fine_b")

    response = client.get("/api/v1/fines/cases/export.xlsx", {"kind": "fine"}, **token_for(staff["clerk_a"]))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0].startswith("案號")
    assert [(row[0], row[7], row[11]) for row in rows[1:]] == [(fine.number, "王小明", 4800)]
    assert isinstance(rows[1][12], datetime.datetime)  # due date is a real date cell
    everything = client.get("/api/v1/fines/cases/export.xlsx", **token_for(staff["clerk_a"]))
    numbers = {row[0] for row in openpyxl.load_workbook(io.BytesIO(everything.content)).active.iter_rows(
        min_row=2, values_only=True)}  # fmt: skip
    assert numbers == {fine.number, fee.number}


def test_documents_are_type_and_size_checked(client, issue, staff, token_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    case, _ = issue("fine_a")
    auth = token_for(staff["clerk_a"])
    url = f"/api/v1/fines/cases/{case.number}/documents"
    png = SimpleUploadedFile("photo.png", b"\x89PNG\r\n\x1a\n" + b"0" * 100, content_type="image/png")
    assert client.post(url, {"file": png, "description": "現場照片"}, **auth).status_code == 201
    fake = SimpleUploadedFile("photo.png", b"MZ\x90\x00 not an image", content_type="image/png")
    response = client.post(url, {"file": fake}, **auth)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_document"
    renamed = SimpleUploadedFile("report.pdf", b"\xff\xd8\xff\xe0jpeg", content_type="application/pdf")
    assert client.post(url, {"file": renamed}, **auth).status_code == 400
    detail = client.get(f"/api/v1/fines/cases/{case.number}", **auth).json()
    assert [(d["original_name"], d["description"]) for d in detail["documents"]] == [
        ("photo.png", "現場照片")
    ]


def test_lookup_queries_stay_constant(client, issue, django_assert_max_num_queries):
    case, identifier = issue(name="陳怡君")
    for _ in range(4):
        issue(name="陳怡君", identifier=identifier)
    with django_assert_max_num_queries(1):
        assert client.get(LOOKUP, {"case_number": case.number}).status_code == 200
    with django_assert_max_num_queries(1):
        assert len(client.get(LOOKUP, {"name": "陳怡君", "identifier": identifier}).json()["cases"]) == 5
