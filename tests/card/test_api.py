"""The citizen card API through real HTTP: the public registry, the citizen app (cards,
applications, eligibility, report lost, replacement), partners' entitlement checks with
function-scoped API keys (a school sees only its own students), and the card desk's review
queue, card pages, statistics and experience events."""

import datetime
import typing

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from civicstack.card import api as card_api
from civicstack.card import card_number, services
from civicstack.card.models import Card, CardApplication, CardFunction, CardPartner, ExperienceEvent
from civicstack.card.models.kinds import CardKind, Channel
from civicstack.core import services as core_services
from civicstack.core.models import Agency, AuditEvent, SchoolEnrolment
from civicstack.payments.services import payment_order_settle

from ..conftest import new_identifier
from .conftest import jpeg_bytes

pytestmark = pytest.mark.django_db

BASE = "/api/v1/card"
JSON = {"content_type": "application/json"}


def upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def api_key(agency: Agency, *scopes: str, name: str = "partner system") -> dict:
    raw, _key = core_services.api_key_create(
        actor=None,
        name=name,
        partner=agency.name_zh,
        agency=agency,
        scopes=list(scopes),
        expires_at=timezone.now() + datetime.timedelta(days=30),
    )
    return {"HTTP_X_API_KEY": raw}


def unknown_card_number() -> str:
    number = card_number.from_serial("general", 9_999_999_999)
    assert not Card.objects.filter(number=number).exists()
    return number


@pytest.fixture
def citizen_card(citizen, issue_card):
    _user, person = citizen
    return issue_card(person)


@pytest.fixture
def desk(card_clerk, token_for):
    return token_for(card_clerk)


@pytest.fixture
def make_student(make_person, issue_card):
    """A pupil of a city school holding a student card."""

    def make(school: Agency, name: str) -> Card:
        person = make_person(name=name, birth_date=datetime.date(2014, 3, 1))
        core_services.school_enrolment_record(
            actor=None,
            person=person,
            school_name="",
            school=school,
            level=SchoolEnrolment.Level.ELEMENTARY,
            enrolled_on=timezone.localdate() - datetime.timedelta(days=400),
            ends_on=timezone.localdate() + datetime.timedelta(days=700),
        )
        return issue_card(person, "student")

    return make


# --- public -----------------------------------------------------------------------------------


def test_the_function_registry_and_partners_are_public(client):
    functions = client.get(f"{BASE}/functions")
    assert functions.status_code == 200
    by_code = {f["code"]: f for f in functions.json()}
    assert len(by_code) == 31
    library = by_code["library"]
    assert (library["requires_enrolment"], library["reference_label"], library["category"]) == (
        True,
        "圖書館借閱帳號",
        "leisure",
    )
    assert library["provider_name"] == "桃園市政府文化局"
    assert library["scope"] == "card.function:library"
    assert by_code["love_taxi"]["card_kinds"] == ["senior", "disability"]
    assert all("available_from" in f for f in by_code.values())
    assert by_code["student_id"]["card_kinds"] == ["student"]

    telecoms = client.get(f"{BASE}/partners", {"kind": "telecom"}).json()
    assert sorted(p["code"] for p in telecoms) == ["aptg", "cht", "fet", "twm"]
    assert {p["kind"] for p in client.get(f"{BASE}/partners").json()} >= {"telecom", "transit"}
    assert client.get(f"{BASE}/partners", {"kind": "airline"}).status_code == 422


@pytest.mark.parametrize(
    ("literal", "choices"),
    [
        (card_api.CardKindName, CardKind.values),
        (card_api.CardStateName, Card.State.values),
        (card_api.CancelReasonName, Card.CancelReason.values),
        (card_api.ApplicationStateName, CardApplication.State.values),
        (card_api.ApplicationReasonName, CardApplication.Reason.values),
        (card_api.ChannelName, Channel.values),
        (card_api.PartnerKindName, CardPartner.Kind.values),
        (card_api.FunctionCategoryName, CardFunction.Category.values),
    ],
)
def test_schema_enums_match_the_models(literal, choices):
    assert list(typing.get_args(literal)) == list(choices)


# --- citizen: cards ---------------------------------------------------------------------------


def test_the_citizen_sees_own_cards_and_another_citizen_gets_404(
    client, citizen, citizen_card, make_user, make_person, token_for
):
    user, _person = citizen
    response = client.get(f"{BASE}/me/cards", **token_for(user))

    assert response.status_code == 200
    [card] = response.json()
    assert (card["number"], card["kind"], card["state"], card["usable"]) == (
        citizen_card.number,
        "general",
        "active",
        True,
    )
    assert card["formatted_number"] == " ".join(citizen_card.number[i : i + 4] for i in range(0, 16, 4))
    assert card["expires_on"] == citizen_card.expires_on.isoformat()
    functions = {f["function"] for f in card["functions"]}
    assert {"bus_bogo", "e_wallet"} <= functions
    assert "library" not in functions  # needs enrolment
    assert "welfare_points" not in functions  # seniors and disability cards only

    other = make_user("neighbour")
    make_person(user=other, name="林書豪")
    auth = token_for(other)
    assert client.get(f"{BASE}/me/cards", **auth).json() == []
    stolen = client.post(f"{BASE}/me/cards/{citizen_card.number}/report-lost", **JSON, **auth)
    unknown = client.post(f"{BASE}/me/cards/{unknown_card_number()}/report-lost", **JSON, **auth)
    peek = client.get(f"{BASE}/cards/{citizen_card.number}/entitlements", **auth)
    assert stolen.status_code == unknown.status_code == peek.status_code == 404
    assert stolen.json() == unknown.json() == peek.json()
    citizen_card.refresh_from_db()
    assert citizen_card.state == Card.State.ACTIVE


def test_a_companion_card_shows_the_holder_masked(client, make_user, make_person, issue_card, token_for):
    holder = make_person(name="黃大偉", disability_level="severe", disability_needs_companion=True)
    issue_card(holder, "disability")
    user = make_user("companion")
    companion = make_person(user=user, name="黃小芳", sex="F")
    issue_card(companion, "companion", companion_for=holder)

    [card] = client.get(f"{BASE}/me/cards", **token_for(user)).json()

    assert (card["kind"], card["companion_of"]) == ("companion", "黃○偉")
    assert "黃大偉" not in client.get(f"{BASE}/me/cards", **token_for(user)).content.decode()


def test_einvoice_carrier_is_bound_and_unbound(client, citizen, citizen_card, token_for):
    auth = token_for(citizen[0])
    url = f"{BASE}/me/cards/{citizen_card.number}/einvoice-carrier"

    bound = client.put(url, {"barcode": "/abc+123"}, **JSON, **auth)
    again = client.put(url, {"barcode": "/ABC+123"}, **JSON, **auth)

    assert bound.status_code == again.status_code == 200
    assert bound.json()["einvoice_carrier"] == "/ABC+123"
    assert "einvoice_carrier" in {f["function"] for f in bound.json()["functions"]}
    assert (
        citizen_card.enrolments.filter(function__code="einvoice_carrier").count() == 1
    )  # the retry was a no-op
    bad = client.put(url, {"barcode": "ABC1234"}, **JSON, **auth)
    assert bad.status_code == 400 and bad.json()["error"]["details"]["field"] == "barcode"
    unbound = client.delete(url, **auth)
    assert unbound.status_code == 200 and unbound.json()["einvoice_carrier"] == ""
    assert client.delete(url, **auth).status_code == 200


# --- citizen: applications --------------------------------------------------------------------


def test_apply_online_with_a_photo(client, citizen, photo, token_for):
    user, person = citizen
    auth = token_for(user)

    response = client.post(f"{BASE}/me/applications", {"kind": "general", "photo": upload(photo)}, **auth)

    assert response.status_code == 201, response.json()
    created = response.json()
    assert (created["kind"], created["state"], created["channel"], created["reason"]) == (
        "general",
        "submitted",
        "online",
        "new",
    )
    assert created["fee"] is None and created["card_number"] is None
    application = CardApplication.objects.get(number=created["number"])
    assert application.person == person and application.photo.name.endswith(".jpg")
    listed = client.get(f"{BASE}/me/applications", **auth).json()
    assert [a["number"] for a in listed] == [created["number"]]

    retry = client.post(f"{BASE}/me/applications", {"kind": "general", "photo": upload(photo)}, **auth)
    assert retry.status_code == 409
    assert retry.json()["error"]["details"]["application"] == created["number"]
    assert CardApplication.objects.filter(person=person).count() == 1

    withdrawn = client.post(f"{BASE}/me/applications/{created['number']}/withdraw", **auth)
    assert withdrawn.status_code == 200 and withdrawn.json()["state"] == "withdrawn"
    assert client.post(f"{BASE}/me/applications/{created['number']}/withdraw", **auth).status_code == 200


@pytest.mark.parametrize(
    ("data", "message_part"),
    [
        (b"", "Attach a photo"),
        (b"MZ\x90\x00 not an image at all", "JPEG or PNG"),
        (jpeg_bytes(200, 260), "at least"),
        (jpeg_bytes(600, 400), "portrait"),
    ],
)
def test_a_bad_photo_is_a_clear_400(client, citizen, token_for, data, message_part):
    files = {"photo": upload(data)} if data else {}
    response = client.post(
        f"{BASE}/me/applications",
        {"kind": "general", **files},
        **token_for(citizen[0]),
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_photo" and error["details"]["field"] == "photo"
    assert message_part in error["message"]
    assert not CardApplication.objects.exists()


def test_an_oversized_photo_is_refused_before_it_is_read(client, citizen, token_for):
    big = upload(b"\xff\xd8\xff" + b"0" * (5 * 1024 * 1024 + 10))
    response = client.post(
        f"{BASE}/me/applications", {"kind": "general", "photo": big}, **token_for(citizen[0])
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"field": "photo", "max_bytes": 5 * 1024 * 1024}


def test_ineligibility_lists_every_finding(client, citizen, citizen_card, photo, token_for):
    auth = token_for(citizen[0])  # born 1980, already holding a general card

    response = client.post(f"{BASE}/me/applications", {"kind": "senior", "photo": upload(photo)}, **auth)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "not_eligible"
    findings = {f["code"]: f["ok"] for f in error["details"]["findings"]}
    assert findings == {"resident": True, "age": False, "one_citizen_card": False}
    assert error["details"]["eligible"] is False
    explained = client.get(f"{BASE}/eligibility", {"kind": "senior"}, **auth).json()
    assert explained["eligible"] is False
    assert [f["code"] for f in explained["findings"]] == [f["code"] for f in error["details"]["findings"]]


def test_eligibility_for_a_mobile_card_names_the_partner(client, citizen, telecom, token_for):
    auth = token_for(citizen[0])
    ok = client.get(
        f"{BASE}/eligibility", {"kind": "mobile", "partner": "cht", "mobile_number": "0912345678"}, **auth
    ).json()
    assert ok["eligible"] is True
    assert client.get(f"{BASE}/eligibility", {"kind": "mobile", "partner": "nope"}, **auth).status_code == 400
    missing = client.get(f"{BASE}/eligibility", {"kind": "mobile"}, **auth).json()
    assert {f["code"] for f in missing["findings"] if not f["ok"]} == {"partner", "mobile_number"}
    assert client.get(f"{BASE}/eligibility", {"kind": "general"}).status_code == 401


def test_a_companion_application_names_the_holder_by_id(
    client, make_user, make_person, issue_card, photo, token_for
):
    holder_id = new_identifier()
    holder = make_person(
        name="黃大偉", identifier=holder_id, disability_level="severe", disability_needs_companion=True
    )
    issue_card(holder, "disability")
    user = make_user("helper")
    make_person(user=user, name="黃小芳", sex="F")
    auth = token_for(user)

    response = client.post(
        f"{BASE}/me/applications",
        {"kind": "companion", "companion_identifier": holder_id, "photo": upload(photo)},
        **auth,
    )

    assert response.status_code == 201, response.json()
    assert response.json()["companion_of"] == "黃○偉"
    explained = client.get(
        f"{BASE}/eligibility", {"kind": "companion", "companion_identifier": holder_id}, **auth
    )
    assert "黃大偉" not in explained.content.decode()
    assert (explained.json()["eligible"], explained.json()["findings"][0]["code"]) == (True, "companion_of")

    # An unknown ID number and someone who does not qualify are refused in the same words.
    stranger_id = new_identifier()
    make_person(name="路人甲", identifier=stranger_id, disability_level="mild")
    probe_user = make_user("prober")
    make_person(user=probe_user, name="好奇者")
    answers = [
        client.post(
            f"{BASE}/me/applications",
            {"kind": "companion", "companion_identifier": number, "photo": upload(photo)},
            **token_for(probe_user),
        ).json()["error"]
        for number in (new_identifier(), stranger_id)
    ]
    assert answers[0]["code"] == "not_eligible"
    assert answers[0] == answers[1]
    assert "路人甲" not in str(answers[1])
    broken = client.get(
        f"{BASE}/eligibility", {"kind": "companion", "companion_identifier": "A123456780"}, **auth
    )
    assert broken.status_code == 400


# --- citizen: lost card, replacement ----------------------------------------------------------


def test_report_lost_blocks_the_card_and_entitlements_say_not_usable(
    client, citizen, citizen_card, token_for
):
    auth = token_for(citizen[0])
    Card.objects.filter(pk=citizen_card.pk).update(issued_at=timezone.now() - datetime.timedelta(days=30))
    url = f"{BASE}/me/cards/{citizen_card.number}/report-lost"
    noticed = (timezone.localtime() - datetime.timedelta(hours=2)).replace(tzinfo=None, microsecond=0)

    first = client.post(url, {"lost_at": noticed.isoformat()}, **JSON, **auth)
    again = client.post(url, **JSON, **auth)

    assert first.status_code == again.status_code == 200
    assert (first.json()["state"], first.json()["usable"], first.json()["functions"]) == ("lost", False, [])
    citizen_card.refresh_from_db()
    assert timezone.localtime(citizen_card.blocked_at).replace(tzinfo=None) == noticed  # naive = Taipei time
    assert (
        AuditEvent.objects.filter(action="card.card.reported_lost", object_id=str(citizen_card.pk)).count()
        == 1
    )

    checked = client.get(f"{BASE}/cards/{citizen_card.number}/entitlements", **auth)
    assert checked.status_code == 200
    body = checked.json()
    assert (body["state"], body["usable"]) == ("lost", False)
    assert len(body["entitlements"]) == 31
    assert {(e["entitled"], e["reason"]) for e in body["entitlements"]} == {(False, "card_not_usable")}
    before = (noticed - datetime.timedelta(hours=1)).isoformat()  # an offline reader's earlier use
    assert client.get(f"{BASE}/cards/{citizen_card.number}/entitlements", {"at": before}, **auth).json()[
        "usable"
    ]
    future = (timezone.now() + datetime.timedelta(days=1)).isoformat()
    assert client.post(url, {"lost_at": future}, **JSON, **auth).status_code == 200  # already lost: no change


def test_a_lost_cards_replacement_has_a_fee_and_a_payment_page(client, citizen, citizen_card, token_for):
    auth = token_for(citizen[0])
    client.post(f"{BASE}/me/cards/{citizen_card.number}/report-lost", **JSON, **auth)

    response = client.post(f"{BASE}/me/cards/{citizen_card.number}/replacement", **auth)
    retry = client.post(f"{BASE}/me/cards/{citizen_card.number}/replacement", **auth)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["reason"], body["state"], body["replaces"]) == (
        "replacement",
        "awaiting_payment",
        citizen_card.number,
    )
    fee = body["fee"]
    assert (fee["amount"], fee["state"]) == (services.REPLACEMENT_FEE, "pending")
    assert fee["payment_url"] == f"/payments/orders/{fee['order_number']}/"
    assert retry.status_code == 200 and retry.json()["number"] == body["number"]
    assert CardApplication.objects.filter(replaces=citizen_card).count() == 1

    payment_order_settle(actor=None, order_number=fee["order_number"], channel="counter", amount=100)
    listed, original = client.get(f"{BASE}/me/applications", **auth).json()  # newest first
    assert (original["state"], original["card_number"]) == ("approved", citizen_card.number)
    assert listed["number"] == body["number"]
    assert (listed["state"], listed["fee"]["state"], listed["fee"]["payment_url"]) == (
        "submitted",
        "paid",
        None,
    )


def test_type_change_to_senior(client, make_user, make_person, issue_card, token_for):
    user = make_user("grandpa")
    person = make_person(user=user, name="吳阿公", birth_date=datetime.date(1950, 1, 1))
    card = issue_card(person, "general")
    auth = token_for(user)

    response = client.post(f"{BASE}/me/cards/{card.number}/type-change", {"kind": "senior"}, **JSON, **auth)
    retry = client.post(f"{BASE}/me/cards/{card.number}/type-change", {"kind": "senior"}, **JSON, **auth)

    assert response.status_code == 201, response.json()
    assert (response.json()["reason"], response.json()["kind"], response.json()["fee"]) == (
        "type_change",
        "senior",
        None,
    )
    assert retry.status_code == 200 and retry.json()["number"] == response.json()["number"]
    refused = client.post(f"{BASE}/me/cards/{card.number}/type-change", {"kind": "mobile"}, **JSON, **auth)
    assert refused.status_code == 422


# --- partners ---------------------------------------------------------------------------------


def test_a_library_key_sees_only_the_library_function(client, citizen_card):
    library = api_key(Agency.objects.get(code="TYC-L1-14"), "card.function:library", name="library")
    url = f"{BASE}/cards/{citizen_card.number}/entitlements"

    before = client.get(url, **library)
    enrolled = client.post(
        f"{BASE}/cards/{citizen_card.number}/enrolments",
        {"function": "library", "reference": "TY-0001234"},
        **JSON,
        **library,
    )
    replay = client.post(
        f"{BASE}/cards/{citizen_card.number}/enrolments",
        {"function": "library", "reference": "TY-0001234"},
        **JSON,
        **library,
    )
    after = client.get(url, **library)

    assert before.status_code == 200
    [row] = before.json()["entitlements"]
    assert (row["function"], row["entitled"], row["reason"]) == ("library", False, "not_enrolled")
    assert enrolled.status_code == 201, enrolled.json()
    assert (enrolled.json()["function"], enrolled.json()["reference"]) == ("library", "TY-0001234")
    assert replay.status_code == 200 and replay.json()["id"] == enrolled.json()["id"]
    [row] = after.json()["entitlements"]
    assert (row["entitled"], row["enrolments"][0]["reference"]) == (True, "TY-0001234")
    assert "person" not in after.content.decode() and citizen_card.person.name not in after.content.decode()

    revoked = client.delete(
        f"{BASE}/cards/{citizen_card.number}/enrolments/{enrolled.json()['id']}", **library
    )
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    assert client.get(url, **library).json()["entitlements"][0]["entitled"] is False


def test_a_key_without_a_function_scope_is_refused(client, citizen_card):
    other = api_key(Agency.objects.get(code="TYC-L1-14"), "core.directory:read")
    library = api_key(Agency.objects.get(code="TYC-L1-14"), "card.function:library")

    refused = client.get(f"{BASE}/cards/{citizen_card.number}/entitlements", **other)
    enrol = client.post(
        f"{BASE}/cards/{citizen_card.number}/enrolments",
        {"function": "library", "reference": "x1"},
        **JSON,
        **other,
    )
    wrong_function = client.post(
        f"{BASE}/cards/{citizen_card.number}/enrolments",
        {"function": "health_card", "reference": "H1"},
        **JSON,
        **library,
    )

    assert refused.status_code == enrol.status_code == wrong_function.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    assert wrong_function.json()["error"]["details"] == {"required_scope": "card.function:health_card"}
    assert client.get(f"{BASE}/cards/{citizen_card.number}/entitlements").status_code == 401
    assert (
        client.get(
            f"{BASE}/cards/{citizen_card.number}/entitlements", HTTP_X_API_KEY="cs_nope_nope"
        ).status_code
        == 401
    )


def test_unknown_and_malformed_card_numbers_look_the_same(client, citizen_card, citizen, token_for):
    library = api_key(Agency.objects.get(code="TYC-L1-14"), "card.function:library")
    answers = [
        client.get(f"{BASE}/cards/{number}/entitlements", **auth)
        for number in (unknown_card_number(), "1234", citizen_card.number[:-1] + "x")
        for auth in (library, token_for(citizen[0]))
    ]
    assert {a.status_code for a in answers} == {404}
    assert len({a.content for a in answers}) == 1


def test_a_school_sees_only_its_own_students_ids(client, make_student):
    school_a, school_b = Agency.objects.filter(kind=Agency.Kind.SCHOOL).order_by("code")[:2]
    key_a = api_key(school_a, "card.function:student_id", name="school a")
    key_b = api_key(school_b, "card.function:student_id", name="school b")
    pupil_a, pupil_b = make_student(school_a, "江小魚"), make_student(school_b, "花無缺")

    def enrol(card, key, reference):
        response = client.post(
            f"{BASE}/cards/{card.number}/enrolments",
            {"function": "student_id", "reference": reference},
            **JSON,
            **key,
        )
        assert response.status_code == 201, response.json()

    def student_id(card, key):
        response = client.get(f"{BASE}/cards/{card.number}/entitlements", **key)
        assert response.status_code == 200
        [row] = response.json()["entitlements"]
        assert row["function"] == "student_id"
        return row

    enrol(pupil_a, key_a, "A-001")
    enrol(pupil_b, key_b, "B-001")
    enrol(pupil_a, key_b, "B-900")  # school B also issued pupil A an ID (a club, a summer course)

    own = student_id(pupil_a, key_a)
    assert (own["entitled"], [e["reference"] for e in own["enrolments"]]) == (True, ["A-001"])
    assert [e["issuer"] for e in own["enrolments"]] == [school_a.name_zh]
    theirs = student_id(pupil_b, key_a)
    assert (theirs["entitled"], theirs["reason"], theirs["enrolments"]) == (False, "not_enrolled", [])
    assert [e["reference"] for e in student_id(pupil_a, key_b)["enrolments"]] == ["B-900"]
    # School A cannot revoke school B's enrolment.
    b_enrolment = pupil_b.enrolments.get(reference="B-001")
    assert (
        client.delete(f"{BASE}/cards/{pupil_b.number}/enrolments/{b_enrolment.pk}", **key_a).status_code
        == 404
    )


# --- staff: applications ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        (None, 401),
        ("citizen", 403),
        ("bureau_clerk", 403),
        ("clerk_a", 200),
        ("city_admin", 200),
        ("card_clerk", 200),
    ],
)
def test_the_review_queue_is_for_the_card_desk(client_for, staff, citizen, card_clerk, who, status):
    user = {"citizen": citizen[0], "card_clerk": card_clerk, None: None}.get(who) or staff.get(who)
    response = client_for(user).get(f"{BASE}/applications", {"state": "submitted"})
    assert response.status_code == status


def test_staff_review_approve_and_reject(client, citizen, make_user, make_person, photo, desk, token_for):
    user, person = citizen
    applied = client.post(
        f"{BASE}/me/applications", {"kind": "general", "photo": upload(photo)}, **token_for(user)
    ).json()
    other_user = make_user("applicant2")
    make_person(user=other_user, name="鄭成功")
    second = client.post(
        f"{BASE}/me/applications", {"kind": "general", "photo": upload(photo)}, **token_for(other_user)
    ).json()

    queue = client.get(f"{BASE}/applications", {"state": "submitted"}, **desk).json()
    assert [a["number"] for a in queue["items"]] == [applied["number"], second["number"]]  # oldest first
    assert queue["count"] == 2 and queue["items"][0]["applicant_id_masked"] == person.id_masked
    detail = client.get(f"{BASE}/applications/{applied['number']}", **desk).json()
    assert detail["eligibility"]["eligible"] is True and detail["has_photo"] is True
    photo_response = client.get(f"{BASE}/applications/{applied['number']}/photo", **desk)
    assert photo_response.status_code == 200 and photo_response["Content-Type"] == "image/jpeg"

    approved = client.post(f"{BASE}/applications/{applied['number']}/approve", **JSON, **desk)
    approved_again = client.post(
        f"{BASE}/applications/{applied['number']}/approve", {"note": "ok"}, **JSON, **desk
    )
    assert approved.status_code == approved_again.status_code == 200, approved.json()
    assert approved.json()["state"] == "approved"
    card_no = approved.json()["card_number"]
    assert approved_again.json()["card_number"] == card_no
    assert Card.objects.filter(person=person).count() == 1
    [mine] = client.get(f"{BASE}/me/cards", **token_for(user)).json()
    assert mine["number"] == card_no

    assert (
        client.post(f"{BASE}/applications/{second['number']}/reject", {}, **JSON, **desk).status_code == 422
    )
    rejected = client.post(
        f"{BASE}/applications/{second['number']}/reject", {"reason": "照片不符規定"}, **JSON, **desk
    )
    assert rejected.status_code == 200 and rejected.json()["state"] == "rejected"
    [seen] = client.get(f"{BASE}/me/applications", **token_for(other_user)).json()
    assert (seen["state"], seen["decision_note"]) == ("rejected", "照片不符規定")
    conflict = client.post(
        f"{BASE}/applications/{applied['number']}/reject", {"reason": "改判"}, **JSON, **desk
    )
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "application_state_conflict"
    assert client.get(f"{BASE}/applications", {"state": "submitted"}, **desk).json()["count"] == 0
    assert AuditEvent.objects.filter(action="person.viewed", object_id=str(person.pk)).count() == 2


def test_approval_checks_the_rules_again(client, make_person, issue_card, photo, desk):
    person = make_person(name="周杰倫", disability_level="moderate")
    application = services.application_submit(actor=None, person=person, kind="general", photo=photo)
    issue_card(person, "disability")  # issued meanwhile: one physical citizen card each

    response = client.post(f"{BASE}/applications/{application.number}/approve", **JSON, **desk)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "not_eligible"
    assert {f["code"] for f in response.json()["error"]["details"]["findings"] if not f["ok"]} == {
        "one_citizen_card"
    }
    application.refresh_from_db()
    assert application.state == CardApplication.State.SUBMITTED


def test_a_counter_clerk_enters_an_application(client, make_person, photo, desk):
    identifier = new_identifier()
    make_person(name="蔡英文", identifier=identifier, sex="F")

    response = client.post(
        f"{BASE}/applications", {"identifier": identifier, "kind": "general", "photo": upload(photo)}, **desk
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["channel"], body["state"], body["applicant_name"], body["submitted_by"]) == (
        "counter",
        "submitted",
        "蔡英文",
        "card_clerk",
    )
    assert body["receiving_agency"] == "桃園市政府資訊科技局"
    assert identifier not in response.content.decode()
    nobody = client.post(
        f"{BASE}/applications",
        {"identifier": new_identifier(), "kind": "general", "photo": upload(photo)},
        **desk,
    )
    assert nobody.status_code == 404
    bad_id = client.post(f"{BASE}/applications", {"identifier": "A123456780", "kind": "general"}, **desk)
    assert bad_id.status_code == 400 and bad_id.json()["error"]["details"]["field"] == "identifier"


# --- staff: cards -----------------------------------------------------------------------------


def test_the_staff_card_page_and_lifecycle(client, citizen_card, desk, staff, token_for):
    url = f"{BASE}/cards/{citizen_card.number}"
    page = client.get(url, **desk)

    assert page.status_code == 200
    body = page.json()
    assert (body["holder"]["name"], body["holder"]["id_masked"]) == ("陳美玲", citizen_card.person.id_masked)
    assert [h["action"] for h in body["history"]] == ["card.card.issued"]
    assert client.get(url, **token_for(staff["bureau_clerk"])).status_code == 403

    damaged = client.post(f"{url}/report-damaged", **desk)
    assert damaged.status_code == 200 and damaged.json()["state"] == "damaged"
    replacement = client.post(f"{url}/replacement", **desk)
    assert replacement.status_code == 201, replacement.json()
    assert (replacement.json()["fee"], replacement.json()["channel"], replacement.json()["state"]) == (
        None,
        "counter",
        "submitted",
    )
    assert client.post(f"{url}/replacement", **desk).status_code == 200
    approved = client.post(
        f"{BASE}/applications/{replacement.json()['number']}/approve", **JSON, **desk
    ).json()
    new_no = approved["card_number"]
    old = client.get(url, **desk).json()
    assert (old["state"], old["replaced_by"]) == ("replaced", new_no)
    assert [h["action"] for h in old["history"]] == [
        "card.card.issued",
        "card.card.reported_damaged",
        "card.card.replaced",
    ]

    cancel = {"reason": "moved_out", "note": "遷出本市"}
    cancelled = client.post(f"{BASE}/cards/{new_no}/cancel", cancel, **JSON, **desk)
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert client.post(f"{BASE}/cards/{new_no}/cancel", cancel, **JSON, **desk).status_code == 200
    other_reason = client.post(f"{BASE}/cards/{new_no}/cancel", {"reason": "death"}, **JSON, **desk)
    assert other_reason.status_code == 409
    assert (
        client.post(f"{BASE}/cards/{new_no}/cancel", {"reason": "bored"}, **JSON, **desk).status_code == 422
    )


def test_a_clerk_reaches_only_cards_of_their_district(
    client, make_person, issue_card, districts, staff, token_for
):
    _a, b = districts
    card = issue_card(make_person(district=b, name="許文彥"))
    assert client.get(f"{BASE}/cards/{card.number}", **token_for(staff["clerk_a"])).status_code == 404
    assert client.get(f"{BASE}/cards/{card.number}", **token_for(staff["clerk_b"])).status_code == 200
    lost = client.post(f"{BASE}/cards/{card.number}/report-lost", **JSON, **token_for(staff["clerk_a"]))
    assert lost.status_code == 404
    card.refresh_from_db()
    assert card.state == Card.State.ACTIVE


def test_statistics_by_kind_district_and_month(client, make_person, issue_card, districts, desk):
    a, b = districts
    issue_card(make_person(district=a, name="甲"))
    issue_card(make_person(district=a, name="乙", birth_date=datetime.date(1950, 2, 2)), "senior")
    lost = issue_card(make_person(district=b, name="丙"))
    services.card_report_lost(actor=None, card=lost)
    issue_card(make_person(district=b, name="丁"))

    response = client.get(f"{BASE}/statistics", **desk)

    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 3  # active cards only
    assert (body["totals"]["general"], body["totals"]["senior"]) == (2, 1)
    rows = {row["district"]: row for row in body["districts"]}
    assert (rows[a.name_zh]["total"], rows[b.name_zh]["total"]) == (2, 1)
    [month] = body["months"]
    assert (month["month"], month["total"]) == (
        f"{timezone.localdate():%Y-%m}",
        4,
    )  # issued, whatever became of them
    assert body["since"] <= timezone.localdate().isoformat()
    assert client.get(f"{BASE}/statistics", **{"HTTP_AUTHORIZATION": "Bearer nope"}).status_code == 401


def test_twelve_months_back():
    assert card_api._twelve_months_back(datetime.date(2024, 2, 29)) == datetime.date(2023, 3, 1)
    assert card_api._twelve_months_back(datetime.date(2024, 12, 31)) == datetime.date(2024, 1, 1)


# --- staff: events ----------------------------------------------------------------------------


def test_events_report_counts_signups_participants_visits_and_cards(
    client, make_person, photo, desk, districts
):
    today = timezone.localdate()
    created = client.post(
        f"{BASE}/events",
        {
            "title": "智慧生活體驗日",
            "venue": "桃園藝文廣場",
            "district": districts[0].code,
            "starts_on": today.isoformat(),
            "ends_on": today.isoformat(),
            "capacity": 50,
        },
        **JSON,
        **desk,
    )
    assert created.status_code == 201, created.json()
    event_id = created.json()["id"]
    url = f"{BASE}/events/{event_id}"

    walk_in = client.post(
        f"{url}/signups", {"name": "路人甲", "phone": "0911222333", "checked_in": True}, **JSON, **desk
    )
    retry = client.post(
        f"{url}/signups", {"name": "路人甲", "phone": "0911222333", "checked_in": True}, **JSON, **desk
    )
    ahead = client.post(
        f"{url}/signups", {"name": "預約乙", "phone": "0922333444", "source": "online"}, **JSON, **desk
    )
    client.post(f"{url}/signups", {"name": "未到丙", "source": "online"}, **JSON, **desk)
    checked = client.post(f"{url}/signups/{ahead.json()['id']}/check-in", **desk)
    client.post(f"{url}/signups/{ahead.json()['id']}/check-in", **desk)
    client.post(f"{url}/visits", {"visits": 120}, **JSON, **desk)
    visits = client.post(f"{url}/visits", {"visits": 80}, **JSON, **desk)
    identifier = new_identifier()
    make_person(name="現場丁", identifier=identifier)
    applied = client.post(
        f"{BASE}/applications",
        {
            "identifier": identifier,
            "kind": "general",
            "channel": "event",
            "event_id": event_id,
            "photo": upload(photo),
        },
        **desk,
    )
    client.post(f"{BASE}/applications/{applied.json()['number']}/approve", **JSON, **desk)

    assert (
        walk_in.status_code == 201 and retry.status_code == 200 and retry.json()["id"] == walk_in.json()["id"]
    )
    assert walk_in.json()["phone_masked"] == "0911***333"
    assert checked.json()["checked_in_at"] is not None
    assert visits.status_code == 201 and visits.json()["total_visits"] == 200
    assert client.post(f"{url}/visits", {"visits": 0}, **JSON, **desk).status_code == 422

    detail = client.get(url, **desk).json()
    assert detail["report"] | {"event_id": None} == {
        "event_id": None,
        "title": "智慧生活體驗日",
        "venue": "桃園藝文廣場",
        "district_name": districts[0].name_zh,
        "starts_on": today.isoformat(),
        "ends_on": today.isoformat(),
        "signups": 3,
        "participants": 2,
        "visits": 200,
        "cards_issued": 1,
    }
    assert [s["name"] for s in detail["signups"]] == ["路人甲", "預約乙", "未到丙"]

    services.event_create(
        actor=None,
        title="另一場",
        venue="中壢",
        district=districts[1],
        starts_on=today,
        ends_on=today,
        organiser=Agency.objects.get(code="TYC-L1-26"),
    )
    report = client.get(f"{BASE}/events/report", **desk).json()
    assert report["count"] == 2
    assert report["totals"] == {"signups": 3, "participants": 2, "visits": 200, "cards_issued": 1}
    listed = client.get(f"{BASE}/events", **desk).json()
    assert listed["count"] == 2 and ExperienceEvent.objects.count() == 2


def test_events_are_for_staff(client, citizen, token_for, staff, desk, districts):
    assert client.get(f"{BASE}/events/report", **token_for(citizen[0])).status_code == 403
    today = timezone.localdate().isoformat()
    body = {
        "title": "體驗會",
        "venue": "區公所",
        "district": districts[0].code,
        "starts_on": today,
        "ends_on": today,
    }
    # A district clerk organises for their own office, not for another agency.
    mine = client.post(f"{BASE}/events", body, **JSON, **token_for(staff["clerk_a"]))
    assert mine.status_code == 201
    other = client.post(
        f"{BASE}/events", body | {"organiser": "TYC-L1-26"}, **JSON, **token_for(staff["clerk_a"])
    )
    assert other.status_code == 403
    backwards = client.post(f"{BASE}/events", body | {"ends_on": "2000-01-01"}, **JSON, **desk)
    assert backwards.status_code == 400
    assert (
        client.get(f"{BASE}/events/{mine.json()['id']}", **token_for(staff["bureau_clerk"])).status_code
        == 404
    )


def test_queries_stay_bounded(
    client, citizen, citizen_card, issue_card, telecom, bank, token_for, django_assert_max_num_queries
):
    user, person = citizen
    issue_card(person, "mobile", partner=telecom, mobile_number="0912345678")
    issue_card(person, "cobranded", partner=bank)
    auth = token_for(user)
    with django_assert_max_num_queries(8):  # one enrolment query a card (selectors.entitlements)
        assert len(client.get(f"{BASE}/me/cards", **auth).json()) == 3
    library = api_key(Agency.objects.get(code="TYC-L1-14"), "card.function:library")
    with django_assert_max_num_queries(6):
        assert client.get(f"{BASE}/cards/{citizen_card.number}/entitlements", **library).status_code == 200
