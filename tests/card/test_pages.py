"""The card pages: the holder's "my cards" page and its actions, the application form, and the
card desk's queue, application, card, counter entry, statistics and event pages, with who may
see what."""

import datetime
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from civicstack.card import services
from civicstack.card.models import Card, CardApplication, EventSignUp, ExperienceEvent
from civicstack.core.models import Agency, AuditEvent

from ..conftest import new_identifier
from .conftest import jpeg_bytes

pytestmark = pytest.mark.django_db


def upload(data: bytes | None = None, name: str = "me.jpg", content_type: str = "image/jpeg"):
    return SimpleUploadedFile(name, data if data is not None else jpeg_bytes(), content_type=content_type)


@pytest.fixture
def other_holder(make_user, make_person, issue_card):
    user = make_user("other_citizen")
    person = make_person(user=user, name="林建宏")
    return user, issue_card(person)


# --- the holder's page --------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/card/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_citizen_sees_only_his_own_cards_with_their_facts(client_for, citizen, other_holder, issue_card):
    user, person = citizen
    mine = issue_card(person)
    _, theirs = other_holder
    response = client_for(user).get("/card/")
    page = response.content.decode()
    assert response.status_code == 200
    assert mine.formatted_number in page and theirs.formatted_number not in page
    assert "一般卡" in page or "General card" in page
    assert 'class="badge badge-ok" data-state="active"' in page
    assert f"{mine.expires_on:%Y-%m-%d}" in page
    assert f'id="report-lost-{mine.number}"' in page
    assert "/card/apply/" in page


def test_another_citizens_card_is_not_found_and_unchanged(client_for, citizen, other_holder):
    _, theirs = other_holder
    client = client_for(citizen[0])
    for action in ("report-lost", "report-damaged", "replace", "carrier-remove"):
        assert client.post(f"/card/cards/{theirs.number}/{action}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.state == Card.State.ACTIVE


def test_report_lost_on_the_page_blocks_the_card(client_for, citizen, issue_card):
    user, person = citizen
    card = issue_card(person)
    client = client_for(user)
    response = client.post(f"/card/cards/{card.number}/report-lost/")
    assert response.status_code == 302
    card.refresh_from_db()
    assert card.state == Card.State.LOST and card.blocked_at is not None
    page = client.get("/card/").content.decode()
    assert 'data-state="lost"' in page and f'id="report-lost-{card.number}"' not in page
    assert f'id="replace-{card.number}"' in page and "NT$100" in page


def test_replacement_of_a_lost_card_goes_to_the_fee_payment_page(client_for, citizen, issue_card):
    user, person = citizen
    card = issue_card(person)
    client = client_for(user)
    client.post(f"/card/cards/{card.number}/report-lost/")
    response = client.post(f"/card/cards/{card.number}/replace/")
    application = CardApplication.objects.get(replaces=card)
    assert application.state == CardApplication.State.AWAITING_PAYMENT
    assert response.status_code == 302
    assert response["Location"] == f"/payments/orders/{application.fee_order.number}/"
    page = client.get("/card/").content.decode()
    assert application.number in page and f"/payments/orders/{application.fee_order.number}/" in page


def test_e_invoice_carrier_is_validated_bound_and_unbound(client_for, citizen, issue_card):
    user, person = citizen
    card = issue_card(person)
    client = client_for(user)
    bad = client.post(f"/card/cards/{card.number}/carrier/", {"barcode": "ABC"})
    assert bad.status_code == 400
    assert "/ followed by 7 characters" in bad.content.decode() or "/ 加 7" in bad.content.decode()
    assert f'id="id_barcode_{card.number}"' in bad.content.decode()
    client.post(f"/card/cards/{card.number}/carrier/", {"barcode": "/abc+123"})
    card.refresh_from_db()
    assert card.einvoice_carrier == "/ABC+123"
    assert "/ABC+123" in client.get("/card/").content.decode()
    client.post(f"/card/cards/{card.number}/carrier-remove/")
    card.refresh_from_db()
    assert card.einvoice_carrier == ""


def test_a_general_card_holder_of_65_is_offered_the_senior_card(
    client_for, make_user, make_person, issue_card
):
    user = make_user("grandpa")
    person = make_person(user=user, name="陳阿公", birth_date=datetime.date(1950, 1, 1))
    card = issue_card(person)
    client = client_for(user)
    page = client.get("/card/").content.decode()
    assert 'id="senior-offer"' in page
    client.post(f"/card/cards/{card.number}/type-change/", {"kind": "senior"})
    application = CardApplication.objects.get(replaces=card)
    assert application.kind == "senior" and application.reason == CardApplication.Reason.TYPE_CHANGE
    assert 'id="senior-offer"' not in client.get("/card/").content.decode()


def test_younger_holders_get_no_senior_offer(client_for, citizen, issue_card):
    user, person = citizen
    issue_card(person)
    assert 'id="senior-offer"' not in client_for(user).get("/card/").content.decode()


def test_the_holder_withdraws_an_open_application(client_for, citizen, photo):
    user, person = citizen
    application = services.application_submit(actor=user, person=person, kind="general", photo=photo)
    client = client_for(user)
    assert application.number in client.get("/card/").content.decode()
    client.post(f"/card/applications/{application.number}/withdraw/")
    application.refresh_from_db()
    assert application.state == CardApplication.State.WITHDRAWN


def test_functions_are_listed_by_category(client_for, citizen, issue_card):
    user, person = citizen
    issue_card(person)
    page = client_for(user).get("/card/").content.decode()
    assert 'class="function-group"' in page


# --- the application form ---------------------------------------------------------------------


def test_the_form_explains_each_card_type_and_accepts_only_jpeg_and_png(client_for, citizen):
    page = client_for(citizen[0]).get("/card/apply/").content.decode()
    for kind in ("general", "student", "senior", "disability", "companion", "mobile", "cobranded"):
        assert f'id="id_kind_{kind}"' in page and f'id="id_kind_{kind}-help"' in page
    assert 'accept="image/jpeg,image/png' in page


def test_applying_online_shows_the_application_number(client_for, citizen):
    user, person = citizen
    response = client_for(user).post("/card/apply/", {"kind": "general", "photo": upload()})
    application = CardApplication.objects.get(person=person)
    assert response.status_code == 302 and response["Location"] == f"/card/applications/{application.number}/"
    done = client_for(user).get(response["Location"]).content.decode()
    assert application.number in done
    assert application.state == CardApplication.State.SUBMITTED and application.channel == "online"


def test_a_bad_photo_is_explained_next_to_the_field(client_for, citizen):
    client = client_for(citizen[0])
    missing = client.post("/card/apply/", {"kind": "general"})
    assert missing.status_code == 400 and 'id="id_photo-error"' in missing.content.decode()
    landscape = client.post("/card/apply/", {"kind": "general", "photo": upload(jpeg_bytes(600, 400))})
    assert 'id="id_photo-error"' in landscape.content.decode()
    not_an_image = client.post("/card/apply/", {"kind": "general", "photo": upload(b"GIF89a not really")})
    assert 'id="id_photo-error"' in not_an_image.content.decode()
    assert not CardApplication.objects.exists()


def test_a_refusal_lists_every_finding_and_keeps_the_other_inputs(client_for, citizen):
    client = client_for(citizen[0])
    response = client.post(
        "/card/apply/", {"kind": "senior", "photo": upload(), "mobile_number": "0912345678"}
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert 'id="eligibility-findings"' in page
    findings = re.findall(r'data-code="([a-z_]+)"', page)
    assert findings == ["resident", "age"]
    assert 'class="finding finding-refused" data-code="age"' in page
    assert (
        'value="senior" id="id_kind_senior"' in page
        and "checked" in page.split('id="id_kind_senior"')[1][:60]
    )
    assert 'value="0912345678"' in page
    assert not CardApplication.objects.exists()


def test_a_companion_application_needs_a_known_holder(client_for, citizen):
    client = client_for(citizen[0])
    empty = client.post("/card/apply/", {"kind": "companion", "photo": upload()}).content.decode()
    assert 'id="id_companion_identifier-error"' in empty
    unknown = client.post(
        "/card/apply/", {"kind": "companion", "photo": upload(), "companion_identifier": new_identifier()}
    ).content.decode()
    assert 'id="id_companion_identifier-error"' in unknown
    mobile = client.post("/card/apply/", {"kind": "mobile"}).content.decode()
    assert 'id="id_telecom-error"' in mobile


def test_a_mobile_card_needs_no_photo(client_for, citizen, telecom):
    user, person = citizen
    response = client_for(user).post(
        "/card/apply/", {"kind": "mobile", "telecom": telecom.pk, "mobile_number": "0912345678"}
    )
    assert response.status_code == 302
    application = CardApplication.objects.get(person=person)
    assert application.partner == telecom and not application.photo


# --- the card desk ------------------------------------------------------------------------------

STAFF_PAGES = [
    "/card/staff/applications/", "/card/staff/applications/new/", "/card/staff/statistics/",
    "/card/staff/events/",
]  # fmt: skip


def test_staff_pages_are_for_the_card_desk_only(client_for, staff, citizen, card_clerk):
    bureau = staff["bureau_clerk"]
    assert Agency.objects.get(staff_roles__user=bureau).code != "TYC-L1-26"
    for path in STAFF_PAGES:
        assert client_for(bureau).get(path).status_code == 403, path
        assert client_for(citizen[0]).get(path).status_code == 403, path
        assert client_for(None).get(path).status_code == 302, path
        assert client_for(card_clerk).get(path).status_code == 200, path
        assert client_for(staff["clerk_a"]).get(path).status_code == 200, path  # a district office's counter


def test_non_desk_staff_cannot_see_an_application_or_its_photo(client_for, staff, citizen, photo):
    user, person = citizen
    application = services.application_submit(actor=user, person=person, kind="general", photo=photo)
    for path in (
        f"/card/staff/applications/{application.number}/",
        f"/card/staff/applications/{application.number}/photo",
    ):
        assert client_for(staff["bureau_clerk"]).get(path).status_code == 403
        assert client_for(user).get(path).status_code == 403
    assert (
        client_for(staff["bureau_clerk"])
        .post(f"/card/staff/applications/{application.number}/approve/")
        .status_code
        == 403
    )
    application.refresh_from_db()
    assert application.state == CardApplication.State.SUBMITTED


def test_a_district_clerk_sees_only_applications_of_his_district(client_for, staff, people, photo):
    (person_a, _), (person_b, _) = people["a"], people["b"]
    mine = services.application_submit(actor=None, person=person_a, kind="general", photo=photo)
    theirs = services.application_submit(actor=None, person=person_b, kind="general", photo=photo)
    clerk = client_for(staff["clerk_a"])
    queue = clerk.get("/card/staff/applications/").content.decode()
    assert mine.number in queue and theirs.number not in queue
    assert clerk.get(f"/card/staff/applications/{theirs.number}/").status_code == 404


def test_the_clerk_approves_in_the_queue_and_the_holder_sees_the_card(
    client_for, card_clerk, citizen, people, photo
):
    user, person = citizen
    application = services.application_submit(actor=user, person=person, kind="general", photo=photo)
    earlier = services.application_submit(actor=None, person=people["a"][0], kind="general", photo=photo)
    CardApplication.objects.filter(pk=earlier.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=1)
    )
    clerk = client_for(card_clerk)
    queue = clerk.get("/card/staff/applications/").content.decode()
    assert queue.index(earlier.number) < queue.index(application.number)  # oldest first
    detail = clerk.get(f"/card/staff/applications/{application.number}/").content.decode()
    assert person.id_masked in detail and 'id="eligibility-recheck"' in detail
    assert f"/card/staff/applications/{application.number}/photo" in detail and "/media/" not in detail
    assert AuditEvent.objects.filter(action="person.viewed", object_id=str(person.pk)).exists()
    photo_response = clerk.get(f"/card/staff/applications/{application.number}/photo")
    assert photo_response.status_code == 200 and photo_response["Content-Type"] == "image/jpeg"
    assert b"".join(photo_response.streaming_content)[:2] == b"\xff\xd8"
    response = clerk.post(f"/card/staff/applications/{application.number}/approve/", {"note": ""})
    card = Card.objects.get(application=application)
    assert response.status_code == 302 and response["Location"] == f"/card/staff/cards/{card.number}/"
    assert card.formatted_number in client_for(user).get("/card/").content.decode()


def test_rejecting_needs_a_reason(client_for, card_clerk, citizen, photo):
    user, person = citizen
    application = services.application_submit(actor=user, person=person, kind="general", photo=photo)
    clerk = client_for(card_clerk)
    clerk.post(f"/card/staff/applications/{application.number}/reject/", {"reason": ""})
    application.refresh_from_db()
    assert application.state == CardApplication.State.SUBMITTED
    clerk.post(f"/card/staff/applications/{application.number}/reject/", {"reason": "照片不清楚"})
    application.refresh_from_db()
    assert application.state == CardApplication.State.REJECTED and application.decision_note == "照片不清楚"
    assert "照片不清楚" in client_for(user).get("/card/").content.decode()


def test_counter_entry_finds_the_person_by_id_number(client_for, card_clerk, make_person):
    identifier = new_identifier()
    person = make_person(name="黃大華", identifier=identifier)
    clerk = client_for(card_clerk)
    unknown = clerk.post("/card/staff/applications/new/", {
        "identifier": new_identifier(), "kind": "general", "channel": "counter", "photo": upload()})  # fmt: skip
    assert unknown.status_code == 400 and 'id="id_identifier-error"' in unknown.content.decode()
    response = clerk.post("/card/staff/applications/new/", {
        "identifier": identifier, "kind": "general", "channel": "counter", "photo": upload()})  # fmt: skip
    application = CardApplication.objects.get(person=person)
    assert response["Location"] == f"/card/staff/applications/{application.number}/"
    assert application.channel == "counter" and application.receiving_agency.code == "TYC-L1-26"
    page = clerk.get(response["Location"]).content.decode()
    assert identifier not in page and person.id_masked in page


def test_the_card_page_shows_history_and_acts(client_for, card_clerk, citizen, issue_card, staff):
    user, person = citizen
    card = issue_card(person)
    clerk = client_for(card_clerk)
    assert clerk.get(f"/card/staff/applications/?card={card.formatted_number}")["Location"] == (
        f"/card/staff/cards/{card.number}/"
    )
    clerk.post(f"/card/staff/cards/{card.number}/report-damaged/")
    clerk.post(f"/card/staff/cards/{card.number}/cancel/", {"reason": "holder_request", "note": "本人申請"})
    card.refresh_from_db()
    assert card.state == Card.State.CANCELLED and card.cancel_reason == "holder_request"
    page = clerk.get(f"/card/staff/cards/{card.number}/").content.decode()
    history = re.findall(r'<td class="mono">(card\.card\.[a-z_]+)</td>', page)
    assert history == [
        "card.card.cancelled",
        "card.card.reported_damaged",
        "card.card.issued",
    ]  # newest first
    assert person.id_masked in page
    assert client_for(staff["bureau_clerk"]).get(f"/card/staff/cards/{card.number}/").status_code == 403
    assert client_for(user).get(f"/card/staff/cards/{card.number}/").status_code == 403


def test_statistics_show_the_reports_table_shape(
    client_for, card_clerk, citizen, make_person, issue_card, telecom
):
    _, person = citizen
    issue_card(person)
    issue_card(person, kind="mobile", partner=telecom, mobile_number="0912345678")
    issue_card(make_person(name="周杰"))
    page = client_for(card_clerk).get("/card/staff/statistics/").content.decode()
    table = page.split('id="by-district"')[1].split("</table>")[0]
    foot = table.split("<tfoot>")[1]
    cells = re.findall(r"<td>(?:<strong>)?([\d,]+)", foot)
    assert cells == ["2", "0", "0", "0", "0", "1", "0", "3"]  # general … cobranded, total
    months = page.split('id="by-month"')[1].split("</table>")[0]
    assert months.count("<tr>") == 1 + 12 + 1
    assert f"{timezone.localdate():%Y-%m}" in months


def test_events_report_and_event_forms(client_for, card_clerk, card_agency, districts):
    event = services.event_create(
        actor=None, title="智慧生活體驗會", venue="桃園展演中心", district=districts[0], organiser=card_agency,
        starts_on=timezone.localdate(), ends_on=timezone.localdate(),
    )  # fmt: skip
    signup = services.event_sign_up(actor=None, event=event, name="吳小姐")
    clerk = client_for(card_clerk)
    clerk.post(f"/card/staff/events/{event.pk}/walk-in/", {"name": "現場民眾", "checked_in": "on"})
    clerk.post(f"/card/staff/events/{event.pk}/visits/", {"visits": "40"})
    clerk.post(f"/card/staff/events/{event.pk}/check-in/", {"signup": signup.pk})
    assert EventSignUp.objects.filter(event=event, checked_in_at__isnull=False).count() == 2
    bad = clerk.post(f"/card/staff/events/{event.pk}/visits/", {"visits": "0"})
    assert bad.status_code == 400 and 'id="id_visits-error"' in bad.content.decode()
    page = clerk.get("/card/staff/events/").content.decode()
    row = page.split("<tfoot>")[1]
    assert re.findall(r"<td>([\d,]+)</td>", row) == ["2", "2", "40", "0"]
    assert ExperienceEvent.objects.get().title in page


def test_the_console_lists_cards_without_whole_id_numbers(
    client_for, card_clerk, make_person, issue_card, staff
):
    identifier = new_identifier()
    card = issue_card(make_person(name="許文龍", identifier=identifier))
    page = client_for(card_clerk).get("/staff/card/card/").content.decode()
    assert card.number in page and identifier not in page and f"/card/staff/cards/{card.number}/" in page
    applications = client_for(card_clerk).get("/staff/card/cardapplication/").content.decode()
    assert card.application.number in applications and identifier not in applications
    assert card.number not in client_for(staff["bureau_clerk"]).get("/staff/card/card/").content.decode()
