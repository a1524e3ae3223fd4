"""Who may see whom through the API: agency scoping for staff, self-only for citizens, auditing
of staff reads, the whole-identifier reveal, the audit trail's own visibility, role grants."""

import json

import pytest
from django.test import Client

from civicstack.core import services
from civicstack.core.errors import PermissionDenied
from civicstack.core.models import Agency, AuditEvent, StaffRole
from tests.conftest import district_office

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Seven logins a test: a cheap hasher keeps set-up fast (password checks still run for real)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


PEOPLE_URL = "/api/v1/core/people"
ROLES = ["anonymous", "citizen", "clerk_a", "clerk_b", "city_admin"]


@pytest.fixture
def caller(staff, citizen, token_for):
    """The bearer header for a role name (anonymous: no header)."""

    def make(role: str) -> dict:
        if role == "anonymous":
            return {}
        if role == "citizen":
            return token_for(citizen[0])
        return token_for(staff[role])

    return make


def events(action: str):
    return AuditEvent.objects.filter(action=action).order_by("sequence")


def ids(response) -> set[int]:
    return {item["id"] for item in response.json()["items"]}


# --- the people list --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status", "sees_a", "sees_b"),
    [
        ("anonymous", 401, False, False),
        ("citizen", 403, False, False),
        ("clerk_a", 200, True, False),
        ("clerk_b", 200, False, True),
        ("city_admin", 200, True, True),
    ],
)
def test_people_list_authorization(people, caller, role, status, sees_a, sees_b):
    # given residents of districts A and B
    person_a, _ = people["a"]
    person_b, _ = people["b"]

    # when the role lists people
    response = Client().get(PEOPLE_URL, **caller(role))

    # then only those in the role's reach come back
    assert response.status_code == status
    if status == 200:
        found = ids(response)
        assert (person_a.pk in found) is sees_a
        assert (person_b.pk in found) is sees_b
    else:
        assert set(response.json()) == {"error"}


def test_clerk_lists_only_people_of_their_district(people, staff, token_for, districts):
    # given a clerk of district A
    a, _ = districts
    response = Client().get(f"{PEOPLE_URL}?page_size=200", **token_for(staff["clerk_a"]))

    # then every listed person lives in district A
    assert response.status_code == 200
    assert response.json()["count"] >= 1
    assert {item["district_code"] for item in response.json()["items"]} == {a.code}


def test_citywide_bureau_clerk_sees_both_districts(people, staff, token_for):
    # given a clerk of a citywide first-level agency
    response = Client().get(f"{PEOPLE_URL}?page_size=200", **token_for(staff["bureau_clerk"]))

    # then residents of both districts are listed
    assert response.status_code == 200
    assert {people["a"][0].pk, people["b"][0].pk} <= ids(response)


def test_people_list_never_contains_raw_identifiers(people, staff, token_for):
    # given people with known identifiers
    _, id_a = people["a"]
    _, id_b = people["b"]

    # when the city admin lists everyone and filters by an identifier
    listing = Client().get(f"{PEOPLE_URL}?page_size=200", **token_for(staff["city_admin"]))
    by_id = Client().get(f"{PEOPLE_URL}?identifier={id_a}", **token_for(staff["city_admin"]))

    # then only masked numbers appear (A12****789), never the whole one
    for response in (listing, by_id):
        assert response.status_code == 200
        text = response.content.decode()
        assert id_a not in text
        assert id_b not in text
    items = by_id.json()["items"]
    assert [item["id_masked"] for item in items] == [f"{id_a[:3]}****{id_a[7:]}"]
    assert all("identifier" not in item for item in listing.json()["items"])


def test_people_search_is_audited_without_the_identifier(people, staff, token_for):
    # given a staff search by identifier
    _, id_a = people["a"]
    before = events("people.searched").count()

    response = Client().get(f"{PEOPLE_URL}?identifier={id_a}", **token_for(staff["clerk_a"]))

    # then one people.searched event records it, with the number redacted
    assert response.status_code == 200
    assert events("people.searched").count() == before + 1
    event = events("people.searched").last()
    assert event.actor_username == "clerk_a"
    assert event.data == {"filters": {"identifier": "<identifier>"}, "results": 1, "channel": "api"}
    assert id_a not in json.dumps(event.data)


# --- one person -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [("anonymous", 401), ("citizen", 404), ("clerk_a", 200), ("clerk_b", 404), ("city_admin", 200)],
)
def test_person_detail_authorization(people, caller, role, status):
    # given a resident of district A (not the citizen)
    person_a, id_a = people["a"]

    # when the role opens their record
    response = Client().get(f"{PEOPLE_URL}/{person_a.pk}", **caller(role))

    # then in-reach staff see it; everyone else is told it does not exist (or to log in)
    assert response.status_code == status
    if status == 200:
        assert response.json()["id"] == person_a.pk
        assert response.json()["id_masked"] == f"{id_a[:3]}****{id_a[7:]}"
        assert id_a not in response.content.decode()
    else:
        assert set(response.json()["error"]) == {"code", "message", "details"}


def test_clerk_gets_404_not_403_for_other_district(people, staff, token_for):
    person_b, _ = people["b"]
    missing = Client().get(f"{PEOPLE_URL}/987654321", **token_for(staff["clerk_a"]))
    other = Client().get(f"{PEOPLE_URL}/{person_b.pk}", **token_for(staff["clerk_a"]))

    # the two answers are indistinguishable
    assert other.status_code == 404
    assert other.json() == missing.json()


def test_citizen_reads_own_record(citizen, token_for):
    user, person = citizen
    header = token_for(user)

    mine = Client().get("/api/v1/core/me/person", **header)
    by_id = Client().get(f"{PEOPLE_URL}/{person.pk}", **header)

    assert mine.status_code == 200
    assert by_id.status_code == 200
    assert mine.json()["id"] == person.pk
    assert mine.json() == by_id.json()
    assert mine.json()["name"] == "陳美玲"


def test_citizen_gets_404_for_someone_else(citizen, people, token_for):
    user, _ = citizen
    person_a, _ = people["a"]
    response = Client().get(f"{PEOPLE_URL}/{person_a.pk}", **token_for(user))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("role", "status"),
    [("anonymous", 401), ("citizen", 200), ("clerk_a", 404), ("clerk_b", 404), ("city_admin", 404)],
)
def test_my_person_authorization(citizen, caller, role, status):
    # /me/person is the caller's own record; staff logins have none linked
    response = Client().get("/api/v1/core/me/person", **caller(role))
    assert response.status_code == status
    if status == 200:
        assert response.json()["id"] == citizen[1].pk


def test_staff_reads_are_audited(people, staff, token_for):
    # given a clerk reading a person of their district
    person_a, _ = people["a"]
    viewed, searched = events("person.viewed").count(), events("people.searched").count()
    header = token_for(staff["clerk_a"])

    Client().get(f"{PEOPLE_URL}/{person_a.pk}", **header)
    Client().get(PEOPLE_URL, **header)

    # then both reads are in the audit trail
    assert events("person.viewed").count() == viewed + 1
    assert events("people.searched").count() == searched + 1
    event = events("person.viewed").last()
    assert (event.actor_username, event.object_type, event.object_id) == (
        "clerk_a",
        "core.person",
        str(person_a.pk),
    )
    assert event.agency_code == district_office(person_a.district).code
    assert event.data == {"channel": "api"}


def test_refused_staff_read_is_not_recorded_as_a_view(people, staff, token_for):
    person_b, _ = people["b"]
    viewed = events("person.viewed").count()
    assert Client().get(f"{PEOPLE_URL}/{person_b.pk}", **token_for(staff["clerk_a"])).status_code == 404
    assert events("person.viewed").count() == viewed


def test_citizen_own_reads_are_not_audited(citizen, token_for):
    user, person = citizen
    header = token_for(user)
    before = AuditEvent.objects.exclude(action="api_token.issued").count()

    assert Client().get("/api/v1/core/me/person", **header).status_code == 200
    assert Client().get(f"{PEOPLE_URL}/{person.pk}", **header).status_code == 200

    assert AuditEvent.objects.exclude(action="api_token.issued").count() == before


# --- reveal the whole identifier --------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [("anonymous", 401), ("citizen", 403), ("clerk_a", 200), ("clerk_b", 404), ("city_admin", 200)],
)
def test_reveal_identifier_authorization(people, caller, role, status):
    person_a, id_a = people["a"]
    before = events("person.identifier_revealed").count()

    response = Client().post(
        f"{PEOPLE_URL}/{person_a.pk}/reveal-identifier",
        data=json.dumps({"reason": "核對低收入戶申請"}),
        content_type="application/json",
        **caller(role),
    )

    assert response.status_code == status
    if status == 200:
        assert response.json() == {"identifier": id_a}
        assert events("person.identifier_revealed").count() == before + 1
        event = events("person.identifier_revealed").last()
        assert event.reason == "核對低收入戶申請"
        assert event.object_id == str(person_a.pk)
        assert id_a not in json.dumps(event.data)
    else:
        assert id_a not in response.content.decode()
        assert events("person.identifier_revealed").count() == before


@pytest.mark.parametrize(
    "body", [{}, {"reason": ""}, {"reason": "   "}, {"reason": "abc"}, {"reason": "        "}]
)
def test_reveal_identifier_requires_a_reason(people, staff, token_for, body):
    person_a, id_a = people["a"]
    before = events("person.identifier_revealed").count()

    response = Client().post(
        f"{PEOPLE_URL}/{person_a.pk}/reveal-identifier",
        data=json.dumps(body),
        content_type="application/json",
        **token_for(staff["clerk_a"]),
    )

    assert response.status_code in (400, 422)
    assert set(response.json()["error"]) == {"code", "message", "details"}
    assert id_a not in response.content.decode()
    assert events("person.identifier_revealed").count() == before


# --- the audit trail's visibility -------------------------------------------------------------


@pytest.fixture
def trail(people, staff, token_for):
    """person.viewed events by clerk A (agency: district office A) and clerk B (office B)."""
    person_a, _ = people["a"]
    person_b, _ = people["b"]
    Client().get(f"{PEOPLE_URL}/{person_a.pk}", **token_for(staff["clerk_a"]))
    Client().get(f"{PEOPLE_URL}/{person_b.pk}", **token_for(staff["clerk_b"]))
    return {e.actor_username: e for e in events("person.viewed")}


def audit_page(header: dict, query: str = "action=person.viewed"):
    return Client().get(f"/api/v1/core/audit-events?{query}&page_size=200", **header)


@pytest.mark.parametrize(
    ("role", "status", "seen"),
    [
        ("anonymous", 401, None),
        ("citizen", 403, None),
        ("clerk_a", 200, set()),
        ("clerk_b", 200, set()),
        ("city_admin", 200, {"clerk_a", "clerk_b"}),
    ],
)
def test_audit_events_authorization(trail, caller, role, status, seen):
    response = audit_page(caller(role))
    assert response.status_code == status
    if status == 200:
        assert {item["actor_username"] for item in response.json()["items"]} == seen


def test_agency_admin_sees_only_their_agencies_events(trail, staff, token_for, districts):
    # given events by clerks of district offices A and B
    a, _ = districts
    office_a = district_office(a)

    # when the administrator of office A reads the audit trail
    response = audit_page(token_for(staff["agency_admin_a"]), query="")

    # then every event is one of their agency's (or the agencies below it)
    assert response.status_code == 200
    codes = {item["agency_code"] for item in response.json()["items"]}
    below = set(Agency.objects.filter(parent=office_a).values_list("code", flat=True))
    assert codes
    assert codes <= {office_a.code} | below
    assert trail["clerk_a"].sequence in {item["sequence"] for item in response.json()["items"]}
    assert trail["clerk_b"].sequence not in {item["sequence"] for item in response.json()["items"]}


def test_city_admin_sees_all_events(trail, staff, token_for):
    response = audit_page(token_for(staff["city_admin"]), query="")
    assert response.status_code == 200
    assert response.json()["count"] == AuditEvent.objects.count()


# --- role grants ------------------------------------------------------------------------------


def test_agency_admin_cannot_grant_roles_in_another_agency(staff, make_user, districts):
    _, b = districts
    newcomer = make_user("newcomer")
    with pytest.raises(PermissionDenied):
        services.staff_role_grant(
            actor=staff["agency_admin_a"], user=newcomer, agency=district_office(b), role=StaffRole.Role.CLERK
        )
    assert not StaffRole.objects.filter(user=newcomer).exists()


def test_agency_admin_grants_roles_in_their_agency(staff, make_user, districts):
    a, _ = districts
    newcomer = make_user("newcomer")
    role = services.staff_role_grant(
        actor=staff["agency_admin_a"], user=newcomer, agency=district_office(a), role=StaffRole.Role.CLERK
    )
    assert role.granted_by == staff["agency_admin_a"]
    newcomer.refresh_from_db()
    assert newcomer.is_staff is True


@pytest.mark.parametrize("granter", ["agency_admin_a", "clerk_a", "supervisor_a", "bureau_clerk"])
def test_only_city_admin_grants_city_admin(staff, make_user, districts, granter):
    a, _ = districts
    newcomer = make_user("newcomer")
    city = Agency.objects.get(kind=Agency.Kind.CITY_GOVERNMENT)
    for agency in (district_office(a), city):
        with pytest.raises(PermissionDenied):
            services.staff_role_grant(
                actor=staff[granter], user=newcomer, agency=agency, role=StaffRole.Role.CITY_ADMIN
            )
    assert not StaffRole.objects.filter(user=newcomer).exists()


def test_city_admin_grants_city_admin(staff, make_user):
    newcomer = make_user("newcomer")
    city = Agency.objects.get(kind=Agency.Kind.CITY_GOVERNMENT)
    services.staff_role_grant(
        actor=staff["city_admin"], user=newcomer, agency=city, role=StaffRole.Role.CITY_ADMIN
    )
    assert StaffRole.objects.filter(user=newcomer, role=StaffRole.Role.CITY_ADMIN).count() == 1


def test_clerk_cannot_grant_roles(staff, make_user, districts):
    a, _ = districts
    newcomer = make_user("newcomer")
    with pytest.raises(PermissionDenied):
        services.staff_role_grant(
            actor=staff["clerk_a"], user=newcomer, agency=district_office(a), role=StaffRole.Role.CLERK
        )
