"""The eservices HTTP API through Django's test client: catalog, the citizen's draft → attach →
submit, supplement, the staff inbox and workflow, statistics, and the kiosk with a partner key."""

import datetime
import json

import pytest
from django.utils import timezone

from civicstack.core.services import api_key_create
from civicstack.eservices import services
from civicstack.eservices.models import Application

from .conftest import GOOD_ANSWERS, office_of, pdf_file

pytestmark = pytest.mark.django_db
API = "/api/v1/eservices"


def test_catalog_search_and_item_detail(client, transfer_item, fee_item):
    found = client.get(f"{API}/items", {"q": "育兒津貼"}).json()
    assert [item["code"] for item in found] == ["T-CHILD"]
    assert client.get(f"{API}/items", {"q": "挖掘"}).json()[0]["code"] == "T-FEE"
    assert client.get(f"{API}/items", {"agency": "NOPE"}).status_code == 404
    detail = client.get(f"{API}/items/T-CHILD").json()
    assert detail["form"]["version"] == 1 and detail["form"]["answers_schema"]["type"] == "object"
    assert len(detail["receiving_offices"]) == 13
    assert client.get(f"{API}/items/NOPE").json()["error"]["code"] == "not_found"


def test_citizen_draft_attach_submit(client_for, citizen, transfer_item, districts):
    client = client_for(citizen[0])
    response = client.post(f"{API}/applications", {"item_code": "T-CHILD", "answers": GOOD_ANSWERS,
                                                   "receiving_office": office_of(districts[1]).code},
                           content_type="application/json")  # fmt: skip
    assert response.status_code == 201, response.content
    number = response.json()["number"]
    refused = client.post(f"{API}/applications/{number}/submit")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "form_invalid"
    assert list(refused.json()["error"]["details"]["fields"]) == ["supporting_document"]
    wrong = client.post(f"{API}/applications/{number}/attachments/supporting_document",
                        {"file": pdf_file(name="proof.jpg")})  # fmt: skip
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "invalid_attachment"
    attached = client.post(
        f"{API}/applications/{number}/attachments/supporting_document", {"file": pdf_file()}
    )
    assert attached.status_code == 200
    submitted = client.post(f"{API}/applications/{number}/submit").json()
    assert submitted["state"] == "submitted" and submitted["is_cross_district"] is True
    assert submitted["receiving_office"]["code"] == office_of(districts[1]).code
    assert submitted["handling_office"]["code"] == office_of(districts[0]).code
    assert [e["action"] for e in submitted["timeline"]] == ["draft_saved", "submitted"]
    pdf = client.get(f"{API}/applications/{number}/receipt.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert b"/Encoding /UniCNS-UCS2-H" in pdf.content  # the Traditional Chinese CMap (core.pdf_fonts)
    mine = client.get(f"{API}/applications").json()
    assert mine["count"] == 1 and mine["items"][0]["number"] == number


def test_bad_json_answers_give_clear_errors(client_for, citizen, transfer_item):
    client = client_for(citizen[0])
    response = client.post(f"{API}/applications", {"item_code": "T-CHILD", "answers": {"copies": "many"}},
                           content_type="application/json")  # fmt: skip
    assert response.status_code == 400
    assert response.json()["error"]["details"]["fields"] == {"copies": "Enter a value of the right kind."}
    assert Application.objects.count() == 0


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 401), ("citizen", 403), ("clerk_a", 200), ("bureau_clerk", 200), ("city_admin", 200)],
)
def test_inbox_authorization(client_for, staff, citizen, submitted, who, status):
    submitted()
    user = citizen[0] if who == "citizen" else staff.get(who)
    response = client_for(user).get(f"{API}/staff/inbox")
    assert response.status_code == status
    if status == 200:
        expected = 0 if who == "bureau_clerk" else 1
        assert response.json()["count"] == expected


def test_staff_workflow_and_supplement_over_the_api(client_for, staff, citizen, submitted):
    number = submitted().number
    clerk = client_for(staff["clerk_a"])

    def act(action, reason=""):
        return clerk.post(f"{API}/staff/applications/{number}/transition", {"action": action, "reason": reason},
                          content_type="application/json")  # fmt: skip

    assert act("approve").status_code == 409
    assert act("receive").json()["state"] == "received"
    assert act("request_supplement").status_code == 400  # a reason is required
    assert act("request_supplement", "請補件").json()["sla"] == "paused"
    citizen_client = client_for(citizen[0])
    supplemented = citizen_client.post(f"{API}/applications/{number}/supplement",
                                       {"note": "補件", "answers": json.dumps({"copies": 2}),
                                        "field": "supporting_document", "file": pdf_file()})  # fmt: skip
    assert supplemented.status_code == 200, supplemented.content
    assert supplemented.json()["state"] == "in_review" and supplemented.json()["answers"]["copies"] == 2
    assert act("approve").json()["state"] == "approved"
    # the receiving office (district B) sees the case but does not decide it; a bureau neither
    receiving = client_for(staff["clerk_b"])
    refused = receiving.post(f"{API}/staff/applications/{number}/transition", {"action": "complete"},
                             content_type="application/json")  # fmt: skip
    assert refused.status_code == 403
    assert receiving.get(f"{API}/applications/{number}").json()["state"] == "approved"
    stranger = client_for(staff["bureau_clerk"])
    assert stranger.get(f"{API}/applications/{number}").status_code == 404
    assert stranger.post(f"{API}/staff/applications/{number}/transition", {"action": "complete"},
                         content_type="application/json").status_code == 404  # fmt: skip


def test_bulk_and_statistics(client_for, staff, submitted, districts):
    first, second = submitted(), submitted(receiving=office_of(districts[0]))
    supervisor = client_for(staff["supervisor_a"])
    result = supervisor.post(f"{API}/staff/bulk", {"numbers": [first.number, second.number], "action": "assign",
                                                   "assignee": "clerk_a"}, content_type="application/json").json()  # fmt: skip
    assert result == {"done": [first.number, second.number], "refused": {}}
    inbox = supervisor.get(f"{API}/staff/inbox", {"assigned": "nobody"}).json()
    assert inbox["count"] == 0
    stats = supervisor.get(f"{API}/staff/statistics").json()
    assert stats["total"] == 2 and stats["cross_district"] == 1 and stats["cross_district_share"] == 0.5
    assert stats["by_month"][0]["count"] == 2


def test_kiosk_needs_a_key_with_the_scope_and_pays(client, client_for, citizen, fee_item, staff):
    user = citizen[0]
    application = services.application_submit(
        actor=user,
        application=services.application_draft_save(actor=user, item=fee_item, answers=GOOD_ANSWERS),
    )
    code = application.pickup_code
    assert client.get(f"{API}/kiosk/{code}").status_code == 401
    assert client_for(user).get(f"{API}/kiosk/{code}").status_code == 403
    raw, _ = api_key_create(actor=None, name="7-ELEVEN ibon", partner="統一超商", agency=fee_item.agency,
                            scopes=[services.KIOSK_SCOPE],
                            expires_at=timezone.now() + datetime.timedelta(days=30))  # fmt: skip
    headers = {"HTTP_X_API_KEY": raw}
    fetched = client.get(f"{API}/kiosk/{code.lower()}", **headers).json()
    assert (
        fetched["fee"] == 100 and fetched["fee_paid"] is False and fetched["applicant_name_masked"] == "陳○玲"
    )
    pay = {"amount": 100, "store_reference": "IBON-20261127-0001"}
    first = client.post(f"{API}/kiosk/{code}/payment", pay, content_type="application/json", **headers)
    again = client.post(f"{API}/kiosk/{code}/payment", pay, content_type="application/json", **headers)
    assert first.status_code == again.status_code == 200 and again.json()["fee_paid"] is True
    receipt = client.get(f"{API}/kiosk/{code}/receipt.pdf", **headers)
    assert receipt.content.startswith(b"%PDF-")
    assert client.get(f"{API}/kiosk/ZZZZZZZZ", **headers).status_code == 404


def test_new_form_version_over_the_api(client_for, staff, make_user, transfer_item):
    from civicstack.core.models import StaffRole
    from civicstack.core.services import staff_role_grant
    from civicstack.eservices.demo import form_for

    schema, layout = form_for(transfer_item, with_attachment=False)
    body = {"answers_schema": schema, "layout": layout}
    assert client_for(staff["clerk_a"]).post(f"{API}/items/T-CHILD/forms", body,
                                             content_type="application/json").status_code == 403  # fmt: skip
    manager = make_user("bureau_supervisor")
    staff_role_grant(actor=None, user=manager, agency=transfer_item.agency, role=StaffRole.Role.SUPERVISOR)
    bad = client_for(manager).post(f"{API}/items/T-CHILD/forms", {"answers_schema": {"type": "object"}, "layout": {}},
                                   content_type="application/json")  # fmt: skip
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_form_definition"
    made = client_for(manager).post(f"{API}/items/T-CHILD/forms", body, content_type="application/json")
    assert made.status_code == 201 and made.json()["version"] == 2
