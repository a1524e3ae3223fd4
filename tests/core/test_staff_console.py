"""The staff console (/staff/): who gets in, what each staff member sees, and the audit trail it
leaves. Real HTTP through Django's test client, with sessions of real users."""

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from civicstack.core import services
from civicstack.core.models import AgencyContact, ApiKey, AuditEvent, StaffRole
from tests.conftest import PASSWORD, district_office, new_identifier

pytestmark = pytest.mark.django_db

PEOPLE = "/staff/core/person/"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def console_client(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def viewed_events(person):
    return AuditEvent.objects.filter(action="person.viewed", object_id=str(person.pk))


def form_data(response) -> dict:
    """The POST a browser would send back for an admin change form, unchanged."""
    data = {}
    form = response.context["adminform"].form
    for name in form.fields:
        value = form[name].value()
        if value is None:
            continue
        data[name] = value
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name in formset.management_form.fields:
            data[f"{formset.prefix}-{name}"] = formset.management_form[name].value()
        for form in formset.forms:
            for name in form.fields:
                value = form[name].value()
                if value is not None:
                    data[form.add_prefix(name)] = value
    data["_save"] = "Save"
    return data


# --- getting in -------------------------------------------------------------------------------


def test_anonymous_is_sent_to_the_login_page(db):
    client = Client()
    response = client.get("/staff/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/login/?next=")
    assert response.status_code == 200
    assert response.templates[0].name == "core/login.html"


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("anonymous", False),
        ("citizen", False),
        ("clerk_a", True),
        ("clerk_b", True),
        ("agency_admin_a", True),
        ("city_admin", True),
    ],
)
def test_console_index_authorization(staff, citizen, role, allowed):
    if role == "anonymous":
        client = Client()
    elif role == "citizen":
        client = console_client(citizen[0])
    else:
        client = console_client(staff[role])

    response = client.get("/staff/")

    if allowed:
        assert response.status_code == 200
        assert response.templates[0].name == "admin/index.html"
    else:
        assert response.status_code == 302
        assert "/login/" in response["Location"]


def test_citizen_is_refused_every_console_page(citizen, people):
    person_a, _ = people["a"]
    client = console_client(citizen[0])
    for path in ["/staff/", PEOPLE, f"{PEOPLE}{person_a.pk}/change/", "/staff/core/auditevent/"]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert "/login/" in response["Location"]


def test_citizen_who_is_django_staff_is_still_refused(citizen):
    # is_staff alone (no StaffRole) does not open the console
    user, _ = citizen
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    assert console_client(user).get("/staff/").status_code == 302


def test_login_from_a_console_link_lands_on_that_page(staff):
    # given an anonymous clerk following a link into the console
    client = Client()
    first = client.get(f"{PEOPLE}?q=x")
    assert first.status_code == 302
    login_page = client.get(first["Location"], follow=True)
    assert login_page.templates[0].name == "core/login.html"
    next_url = login_page.context["next"]

    # when they log in on the page they were sent to
    response = client.post(
        "/login/", {"username": "clerk_a", "password": PASSWORD, "next": next_url}, follow=True
    )

    # then they end on the console page they asked for, not on the login form again
    assert response.status_code == 200
    assert response.request["PATH_INFO"] == PEOPLE
    assert response.request["QUERY_STRING"] == "q=x"


def test_logged_in_staff_opening_console_login_goes_to_console(staff):
    response = console_client(staff["clerk_a"]).get("/staff/login/?next=/staff/", follow=True)
    assert response.request["PATH_INFO"] == "/staff/"
    assert response.status_code == 200


def test_staff_with_totp_who_skipped_the_code_is_refused(staff):
    # given a clerk with a confirmed authenticator, logged in with a password only
    clerk = staff["clerk_a"]
    TOTPDevice.objects.create(user=clerk, name="phone", confirmed=True)
    client = Client()
    response = client.post("/login/", {"username": "clerk_a", "password": PASSWORD})
    assert response["Location"] == "/login/verify/"

    # when they open the console
    console = client.get("/staff/")

    # then they are refused
    assert console.status_code == 302
    assert "/login/" in console["Location"]


def test_staff_with_totp_logged_in_without_otp_session_is_refused(staff):
    # force_login bypasses the code step: the console must still ask for it
    clerk = staff["clerk_a"]
    TOTPDevice.objects.create(user=clerk, name="phone", confirmed=True)
    response = console_client(clerk).get("/staff/")
    assert response.status_code == 302


# --- people -----------------------------------------------------------------------------------


def test_clerk_changelist_shows_only_their_district(people, staff):
    person_a, id_a = people["a"]
    person_b, id_b = people["b"]

    response = console_client(staff["clerk_a"]).get(PEOPLE)

    assert response.status_code == 200
    shown = {p.pk for p in response.context["cl"].result_list}
    assert person_a.pk in shown
    assert person_b.pk not in shown
    html = response.content.decode()
    assert "張志明" in html
    assert "李佳穎" not in html
    assert person_a.id_masked in html


def test_changelist_never_contains_raw_identifiers(people, staff):
    _, id_a = people["a"]
    _, id_b = people["b"]
    html = console_client(staff["city_admin"]).get(PEOPLE).content.decode()
    assert id_a not in html
    assert id_b not in html


def test_changelist_search_by_identifier_finds_without_echoing_it(people, staff):
    # given a clerk who searches by a whole identification number
    person_a, id_a = people["a"]

    response = console_client(staff["clerk_a"]).get(PEOPLE, {"q": id_a}, follow=True)

    # then the person is found, and neither the page nor the URL it lands on holds the number
    assert response.status_code == 200
    assert id_a not in response.request["QUERY_STRING"]
    assert [p.pk for p in response.context["cl"].result_list] == [person_a.pk]
    assert id_a not in response.content.decode()


def test_changelist_is_audited_as_a_search(people, staff):
    before = AuditEvent.objects.filter(action="people.searched").count()
    console_client(staff["clerk_a"]).get(PEOPLE, {"q": "張志明"})
    events = AuditEvent.objects.filter(action="people.searched").order_by("sequence")
    assert events.count() == before + 1
    assert events.last().data["filters"] == {"q": "<search>"}
    assert events.last().data["channel"] == "console"


def test_opening_a_person_writes_person_viewed(people, staff):
    person_a, id_a = people["a"]
    assert viewed_events(person_a).count() == 0

    response = console_client(staff["clerk_a"]).get(f"{PEOPLE}{person_a.pk}/change/")

    assert response.status_code == 200
    assert id_a not in response.content.decode()
    events = list(viewed_events(person_a))
    assert len(events) == 1
    assert events[0].actor_username == "clerk_a"
    assert events[0].data == {"channel": "console"}


def test_clerk_cannot_open_other_district_person(people, staff):
    person_b, id_b = people["b"]

    response = console_client(staff["clerk_a"]).get(f"{PEOPLE}{person_b.pk}/change/")

    assert response.status_code in (302, 404)
    assert id_b not in response.content.decode()
    assert "李佳穎" not in response.content.decode()
    assert viewed_events(person_b).count() == 0


def test_clerk_cannot_change_other_district_person(people, staff):
    person_b, _ = people["b"]
    response = console_client(staff["clerk_a"]).post(
        f"{PEOPLE}{person_b.pk}/change/", {"name": "改名", "district": person_b.district_id}
    )
    assert response.status_code in (302, 403, 404)
    person_b.refresh_from_db()
    assert person_b.name == "李佳穎"


def test_clerk_edits_own_district_person_through_services(people, staff):
    person_a, _ = people["a"]
    client = console_client(staff["clerk_a"])
    data = form_data(client.get(f"{PEOPLE}{person_a.pk}/change/"))
    data["phone"] = "0912345678"

    response = client.post(f"{PEOPLE}{person_a.pk}/change/", data)

    assert response.status_code == 302
    person_a.refresh_from_db()
    assert person_a.phone == "0912345678"
    updated = AuditEvent.objects.filter(action="person.updated", object_id=str(person_a.pk))
    assert [e.data for e in updated] == [{"fields": ["phone"]}]


# --- agencies and contacts --------------------------------------------------------------------


def test_clerk_edits_own_agency_contacts(staff, districts):
    a, _ = districts
    office = district_office(a)
    contact = AgencyContact.objects.create(
        agency=office, unit="民政課", title="課長", name="舊名字", phone="1"
    )
    client = console_client(staff["clerk_a"])
    page = client.get(f"/staff/core/agency/{office.pk}/change/")
    assert page.status_code == 200
    data = form_data(page)
    index = next(k for k, v in data.items() if k.endswith("-id") and str(v) == str(contact.pk)).split("-")[1]
    data[f"contacts-{index}-name"] = "吳淑貞"

    response = client.post(f"/staff/core/agency/{office.pk}/change/", data)

    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.name == "吳淑貞"


def test_clerk_cannot_change_another_agencys_contacts(staff, districts):
    a, b = districts
    own, other = district_office(a), district_office(b)
    contact = AgencyContact.objects.create(agency=other, unit="民政課", title="課長", name="原名", phone="1")
    client = console_client(staff["clerk_a"])
    # a well-formed change POST, as taken from the clerk's own agency page and retargeted
    data = form_data(client.get(f"/staff/core/agency/{own.pk}/change/"))
    data.update(
        {
            "contacts-TOTAL_FORMS": "1",
            "contacts-INITIAL_FORMS": "1",
            "contacts-0-id": str(contact.pk),
            "contacts-0-agency": str(other.pk),
            "contacts-0-unit": "民政課",
            "contacts-0-title": "課長",
            "contacts-0-name": "被改了",
            "contacts-0-phone": "1",
            "contacts-0-fax": "",
            "contacts-0-sort_order": "0",
        }
    )

    response = client.post(f"/staff/core/agency/{other.pk}/change/", data)

    assert response.status_code == 403
    contact.refresh_from_db()
    assert contact.name == "原名"


def test_clerk_cannot_rename_own_agency(staff, districts):
    a, _ = districts
    office = district_office(a)
    client = console_client(staff["clerk_a"])
    data = form_data(client.get(f"/staff/core/agency/{office.pk}/change/"))
    data["name_zh"] = "改名的機關"
    client.post(f"/staff/core/agency/{office.pk}/change/", data)
    office.refresh_from_db()
    assert office.name_zh != "改名的機關"


# --- staff roles ------------------------------------------------------------------------------


def test_agency_admin_sees_only_their_agencys_roles(staff, districts):
    a, _ = districts
    response = console_client(staff["agency_admin_a"]).get("/staff/core/staffrole/")
    assert response.status_code == 200
    shown = list(response.context["cl"].result_list)
    assert {r.user.username for r in shown} == {"clerk_a", "supervisor_a", "agency_admin_a"}
    assert {r.agency_id for r in shown} == {district_office(a).pk}


def test_city_admin_sees_every_role(staff):
    response = console_client(staff["city_admin"]).get("/staff/core/staffrole/?all=")
    assert response.status_code == 200
    assert {r.pk for r in response.context["cl"].result_list} == set(
        StaffRole.objects.values_list("pk", flat=True)
    )


def test_agency_admin_cannot_grant_role_in_another_agency_from_console(staff, make_user, districts):
    _, b = districts
    newcomer = make_user("newcomer")
    response = console_client(staff["agency_admin_a"]).post(
        "/staff/core/staffrole/add/",
        {"user": newcomer.pk, "agency": district_office(b).pk, "role": StaffRole.Role.CLERK, "_save": "Save"},
    )
    assert response.status_code in (200, 403)
    assert not StaffRole.objects.filter(user=newcomer).exists()


def test_agency_admin_grants_role_in_own_agency_from_console(staff, make_user, districts):
    a, _ = districts
    newcomer = make_user("newcomer")
    response = console_client(staff["agency_admin_a"]).post(
        "/staff/core/staffrole/add/",
        {"user": newcomer.pk, "agency": district_office(a).pk, "role": StaffRole.Role.CLERK, "_save": "Save"},
    )
    assert response.status_code == 302
    role = StaffRole.objects.get(user=newcomer)
    assert role.granted_by == staff["agency_admin_a"]
    assert AuditEvent.objects.filter(action="staff_role.granted", object_id=str(role.pk)).count() == 1


def test_console_add_person_with_invalid_identifier_is_a_form_error(staff, districts):
    # a bad check digit must come back as an error on the page, not a server error
    a, _ = districts
    response = console_client(staff["clerk_a"]).post(
        f"{PEOPLE}add/",
        {"identifier": "A123456788", "name": "測試", "birth_date": "1990-01-01", "sex": "M", "district": a.pk,
         "income_status": "general", "_save": "Save"},
    )  # fmt: skip
    assert response.status_code == 200
    assert not AuditEvent.objects.filter(action="person.registered", actor_username="clerk_a").exists()


def test_console_add_person_with_taken_identifier_is_a_form_error(people, staff, districts):
    a, _ = districts
    _, id_a = people["a"]
    response = console_client(staff["clerk_a"]).post(
        f"{PEOPLE}add/",
        {"identifier": id_a, "name": "重複", "birth_date": "1990-01-01", "sex": "M", "district": a.pk,
         "income_status": "general", "_save": "Save"},
    )  # fmt: skip
    assert response.status_code == 200
    assert not AuditEvent.objects.filter(action="person.registered", actor_username="clerk_a").exists()


def test_console_add_person(staff, districts):
    a, _ = districts
    identifier = new_identifier("F")
    response = console_client(staff["clerk_a"]).post(
        f"{PEOPLE}add/",
        {"identifier": identifier, "name": "新住民", "birth_date": "1990-01-01", "sex": "F", "district": a.pk,
         "income_status": "general", "_save": "Save"},
    )  # fmt: skip
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="person.registered", actor_username="clerk_a")
    assert identifier not in str(event.data)


def test_clerk_sees_no_audit_events_in_console(staff, people):
    person_a, _ = people["a"]
    console_client(staff["clerk_a"]).get(f"{PEOPLE}{person_a.pk}/change/")
    response = console_client(staff["clerk_a"]).get("/staff/core/auditevent/")
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []


def test_notification_inbox_is_own_only(staff, citizen):
    services.notification_send(recipient=staff["clerk_a"], subject="給承辦人", body="x", send_email=False)
    services.notification_send(recipient=citizen[0], subject="給市民", body="y", send_email=False)
    response = console_client(staff["clerk_a"]).get("/staff/core/notification/")
    assert response.status_code == 200
    assert [n.subject for n in response.context["cl"].result_list] == ["給承辦人"]


def test_agency_admin_creates_a_partner_key_for_own_agency_only(staff, districts):
    a, b = districts
    client = console_client(staff["agency_admin_a"])
    form = {
        "name": "reader",
        "partner": "Bank",
        "scopes": ["core.people:verify"],
        "valid_days": 30,
        "_save": "Save",
    }
    # when they ask for a key for another district's office, then the form refuses it
    refused = client.post("/staff/core/apikey/add/", {**form, "agency": district_office(b).pk})
    assert refused.status_code == 200
    assert "您無權為此機關建立金鑰。" in refused.content.decode()
    assert not ApiKey.objects.exists()
    # and for their own office the key is created, audited, and shown once
    created = client.post("/staff/core/apikey/add/", {**form, "agency": district_office(a).pk}, follow=True)
    assert created.status_code == 200
    key = ApiKey.objects.get()
    assert key.agency == district_office(a)
    assert f"cs_{key.prefix}_" in created.content.decode()
    assert AuditEvent.objects.filter(action="api_key.created", object_id=str(key.pk)).count() == 1
