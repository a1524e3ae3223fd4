"""Catalog search in Chinese (segmented words, not substrings), the citizen pages (apply from the
schema, check answers, confirmation, my applications) and the staff pages, and the CLI."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from civicstack.core.models import Agency
from civicstack.eservices import demo, selectors, services
from civicstack.eservices.models import Application

from .conftest import GOOD_ANSWERS, make_item, office_of, pdf_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(db):
    return {item.code: item for item in demo.ensure_catalog()}


def codes(items):
    return [item.code for item in items]


def test_search_by_words_ranks_and_filters(catalog):
    assert codes(selectors.catalog_search(query="戶籍謄本")) == ["CA-TRANSCRIPT"]
    low_income = codes(selectors.catalog_search(query="低收入戶"))
    assert {"SW-LOWINC", "SW-MIDLOW", "SW-FUNERAL"} <= set(low_income) and "SW-CHILD" not in low_income
    assert set(codes(selectors.catalog_search(query="低收入 喪葬"))) == {"SW-FUNERAL"}
    assert codes(selectors.catalog_search(query="育兒")) == ["SW-CHILD"]
    social = Agency.objects.get(name_zh__endswith="社會局")
    assert set(codes(selectors.catalog_search(query="津貼", agency_id=social.pk))) == {"SW-CHILD", "SW-BIRTH"}
    assert codes(selectors.catalog_search(category="兵役")) == ["CA-ALTSVC", "CA-DEFER", "CA-DRAFT"]


def test_search_is_not_a_substring_scan(catalog):
    # "籍謄" crosses the word boundary of 戶籍|謄本: a substring scan finds it, word search does not.
    assert codes(selectors.catalog_search_naive(query="籍謄")) == ["CA-TRANSCRIPT"]
    assert selectors.catalog_search(query="籍謄") == []
    assert selectors.catalog_search(query="不存在的東西") == []


def test_index_follows_catalog_changes(catalog, bureau):
    assert selectors.catalog_search(query="溫泉") == []
    make_item("T-SPA", agency=bureau, name="溫泉標章申請", attachment=False)
    assert codes(selectors.catalog_search(query="溫泉")) == ["T-SPA"]


def test_catalog_and_item_pages(client, catalog):
    page = client.get("/eservices/", {"q": "戶籍謄本"})
    assert page.status_code == 200 and "戶籍謄本申請" in page.content.decode()
    item = client.get("/eservices/items/SW-CHILD/").content.decode()
    assert "育兒津貼申請" in item and ".pdf" in item
    assert client.get("/eservices/items/NOPE/").status_code == 404


def test_apply_check_answers_confirm_pages(client_for, citizen, catalog, districts):
    client = client_for(citizen[0])
    form = client.get("/eservices/items/SW-CHILD/apply/?prefill=1").content.decode()
    assert 'value="陳美玲"' in form and 'data-show-when="delivery"' in form
    bad = client.post("/eservices/items/SW-CHILD/apply/", {"applicant_name": "陳美玲", "phone": "x",
                                                           "receiving_office": office_of(districts[1]).pk})  # fmt: skip
    assert bad.status_code == 400 and "0912-345678" in bad.content.decode()
    assert Application.objects.count() == 0
    good = client.post("/eservices/items/SW-CHILD/apply/", {
        **GOOD_ANSWERS, "receiving_office": office_of(districts[1]).pk, "supporting_document": pdf_file(),
        "prefill_consent": "1", "continue": ""})  # fmt: skip
    application = Application.objects.get()
    assert good.status_code == 302 and good["Location"].endswith(f"/my/{application.number}/review/")
    assert application.prefill_consent
    review = client.get(good["Location"]).content.decode()
    office = office_of(districts[1])
    assert "proof.pdf" in review and office.name in review  # the English page (see conftest)
    done = client.post(good["Location"])
    assert done["Location"].endswith("/done/")
    confirmation = client.get(done["Location"]).content.decode()
    application.refresh_from_db()
    assert application.number in confirmation and application.pickup_code in confirmation
    assert client.get(f"/eservices/my/{application.number}/receipt.pdf").content.startswith(b"%PDF-")
    assert application.number in client.get("/eservices/my/").content.decode()


def test_draft_resume_page(client_for, citizen, catalog):
    client = client_for(citizen[0])
    response = client.post(
        "/eservices/items/SW-CHILD/apply/", {"applicant_name": "陳美玲", "save_draft": "1"}
    )
    application = Application.objects.get()
    assert application.state == "draft" and response["Location"].endswith(f"/my/{application.number}/")
    resumed = client.get(f"/eservices/my/{application.number}/edit/").content.decode()
    assert 'value="陳美玲"' in resumed


def test_pages_are_private(client_for, submitted, staff, make_user):
    application = submitted()
    stranger = client_for(make_user("stranger"))
    assert stranger.get(f"/eservices/my/{application.number}/").status_code == 404
    assert stranger.get(f"/eservices/my/{application.number}/receipt.pdf").status_code == 404
    assert stranger.get("/eservices/staff/").status_code == 403
    assert client_for(staff["bureau_clerk"]).get(f"/eservices/staff/{application.number}/").status_code == 404
    assert client_for(None).get("/eservices/my/").status_code == 302


def test_staff_inbox_case_and_supervisor_pages(client_for, submitted, staff):
    application = submitted()
    Application.objects.filter(pk=application.pk).update(
        due_date=timezone.localdate() - datetime.timedelta(days=1)
    )
    clerk = client_for(staff["clerk_a"])
    inbox = clerk.get("/eservices/staff/").content.decode()
    assert application.number in inbox and 'data-sla="overdue"' in inbox
    assert application.number not in clerk.get("/eservices/staff/", {"cross": "no"}).content.decode()
    case = clerk.get(f"/eservices/staff/{application.number}/").content.decode()
    assert 'value="receive"' in case and "proof.pdf" in case
    clerk.post(f"/eservices/staff/{application.number}/action/", {"action": "receive"})
    application.refresh_from_db()
    assert application.state == "received"
    refused = clerk.post(f"/eservices/staff/{application.number}/action/", {"action": "reject"}, follow=True)
    assert "reason" in refused.content.decode()
    file_id = application.attachments.get().pk
    download = clerk.get(f"/eservices/staff/{application.number}/files/{file_id}/")
    assert b"".join(download.streaming_content).startswith(b"%PDF-")
    bulk = clerk.post("/eservices/staff/bulk/", {"numbers": [application.number], "action": "review"})
    assert bulk.status_code == 302
    application.refresh_from_db()
    assert application.state == "in_review"
    supervisor = client_for(staff["supervisor_a"]).get("/eservices/staff/supervisor/").content.decode()
    assert "100.0%" in supervisor


def test_deadlines_command(submitted):
    application = submitted()
    Application.objects.filter(pk=application.pk).update(
        due_date=timezone.localdate() - datetime.timedelta(days=2)
    )
    out = io.StringIO()
    call_command("eservices", "deadlines", stdout=out)
    assert "1 case(s) escalated" in out.getvalue()
    call_command("eservices", "deadlines", stdout=out)
    assert out.getvalue().count("0 case(s) escalated") == 1


def test_small_demo_data(db):
    from civicstack.core.demo import ensure_demo_logins, generate_people

    generate_people(count=120, seed=7)
    ensure_demo_logins()
    result = demo.generate(scale="small", seed=7)
    assert result["items"] == len(demo.CATALOG)
    assert Application.objects.exclude(state="draft").count() == demo.SCALES["small"]
    assert Application.objects.filter(applicant__username="citizen", is_cross_district=True).exists()
    assert Application.objects.filter(state="supplement").exists()
    assert services.current_form(demo.ensure_catalog()[0]).version == 1


def test_staff_console_adds_a_form_version_through_the_service(client_for, make_user, transfer_item):
    import json

    from civicstack.core.models import StaffRole
    from civicstack.core.services import staff_role_grant

    supervisor = make_user("form_editor", is_staff=True)
    staff_role_grant(actor=None, user=supervisor, agency=transfer_item.agency, role=StaffRole.Role.SUPERVISOR)
    client = client_for(supervisor)
    schema, layout = demo.form_for(transfer_item, with_attachment=False)
    url = "/staff/eservices/formdefinition/add/"
    bad = client.post(url, {"item": transfer_item.pk, "schema": json.dumps(schema),
                            "layout": json.dumps({"sections": [{"fields": ["phone"]}]}), "is_published": "on"})  # fmt: skip
    assert bad.status_code == 200 and "every property must appear" in bad.content.decode()
    assert transfer_item.form_versions.count() == 1
    good = client.post(url, {"item": transfer_item.pk, "schema": json.dumps(schema), "layout": json.dumps(layout),
                             "is_published": "on"})  # fmt: skip
    assert good.status_code == 302
    assert services.current_form(transfer_item).version == 2
