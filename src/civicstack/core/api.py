"""Core HTTP API: authentication, the agency directory, districts, people, notifications, audit."""

import datetime

from django.contrib.auth import authenticate
from django.db.models import Q
from django.http import HttpRequest
from django_otp import devices_for_user, match_token
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import Field

from . import identity, selectors, services
from .api_support import (
    ERROR_RESPONSES,
    USER_AUTH,
    USER_OR_PARTNER_AUTH,
    Pagination,
    PlausibleDateTime,
    require_scope,
    require_staff,
    require_user,
)  # fmt: skip
from .errors import InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from .models import Agency, District, Person

auth_router = Router(tags=["auth"])
router = Router(tags=["core"])


# --- auth -------------------------------------------------------------------------------------


class TokenIn(Schema):
    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=1024)
    otp_token: str | None = Field(None, max_length=12, description="Required when the user has TOTP enrolled")


class TokenOut(Schema):
    token: str
    token_type: str = "Bearer"  # noqa: S105 - the scheme name, not a secret
    expires_at: datetime.datetime


@auth_router.post("/token", response={200: TokenOut, **ERROR_RESPONSES}, auth=None)
def token_create(request: HttpRequest, payload: TokenIn):
    """Exchange a username and password (and TOTP code, if enrolled) for a bearer token.
    Failed attempts count towards the login lockout."""
    user = authenticate(request, username=payload.username, password=payload.password)
    if user is None:
        if getattr(request, "axes_locked_out", False):
            raise PermissionDenied("too many failed logins; try again later", code="locked_out")
        raise NotAuthenticated("wrong username or password")
    if any(True for _ in devices_for_user(user, confirmed=True)):
        if not payload.otp_token or match_token(user, payload.otp_token) is None:
            raise NotAuthenticated("a valid one-time code (otp_token) is required", code="otp_required")
    raw, token = services.api_token_issue(user=user)
    return {"token": raw, "expires_at": token.expires_at}


@auth_router.delete("/token", response={204: None, **ERROR_RESPONSES}, auth=USER_AUTH)
def token_revoke(request: HttpRequest):
    """Revoke the bearer token this request was made with."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        services.api_token_revoke(raw=header[7:].strip())
    return Status(204, None)


class RoleOut(Schema):
    agency_code: str
    agency_name: str
    role: str


class MeOut(Schema):
    username: str
    full_name: str
    email: str
    is_staff_member: bool
    roles: list[RoleOut]
    person_id: int | None


@auth_router.get("/me", response={200: MeOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def me(request: HttpRequest):
    user = require_user(request)
    roles = user.staff_roles.select_related("agency")
    person = selectors.person_of_user(user)
    return {
        "username": user.username,
        "full_name": user.get_full_name(),
        "email": user.email,
        "is_staff_member": selectors.staff_scope(user).is_staff,
        "roles": [
            {"agency_code": r.agency.code, "agency_name": r.agency.name, "role": r.role} for r in roles
        ],
        "person_id": person.pk if person else None,
    }


# --- districts and agencies (public directory) ------------------------------------------------


class VillageOut(Schema):
    code: str
    name_zh: str


class DistrictOut(Schema):
    code: str
    name_zh: str
    name_en: str
    postal_code: str
    indigenous_mountain: bool


class DistrictDetailOut(DistrictOut):
    villages: list[VillageOut]


@router.get("/districts", response=list[DistrictOut], auth=None)
@paginate(Pagination)
def district_list(request: HttpRequest):
    return District.objects.all()


@router.get("/districts/{code}", response={200: DistrictDetailOut, **ERROR_RESPONSES}, auth=None)
def district_detail(request: HttpRequest, code: str):
    district = District.objects.prefetch_related("villages").filter(code=code).first()
    if district is None:
        raise NotFound("district not found")
    return {**DistrictOut.from_orm(district).dict(), "villages": list(district.villages.all())}


class ContactOut(Schema):
    unit: str
    title: str
    name: str
    phone: str
    fax: str


class AgencyOut(Schema):
    code: str
    name_zh: str
    name_en: str
    kind: str
    parent_code: str | None
    district_code: str | None
    phone: str
    address: str

    @staticmethod
    def resolve_parent_code(agency: Agency) -> str | None:
        return agency.parent.code if agency.parent_id else None

    @staticmethod
    def resolve_district_code(agency: Agency) -> str | None:
        return agency.district.code if agency.district_id else None


class AgencyDetailOut(AgencyOut):
    contacts: list[ContactOut]


class AgencyFilter(Schema):
    kind: Agency.Kind | None = None
    district: str | None = Field(None, max_length=16, description="district code")
    parent: str | None = Field(None, max_length=20, description="parent agency code")
    q: str | None = Field(None, max_length=100, description="part of the Chinese or English name")


@router.get("/agencies", response=list[AgencyOut], auth=None)
@paginate(Pagination)
def agency_list(request: HttpRequest, filters: Query[AgencyFilter]):
    agencies = Agency.objects.filter(is_active=True).select_related("parent", "district")
    if filters.kind:
        agencies = agencies.filter(kind=filters.kind)
    if filters.district:
        agencies = agencies.filter(district__code=filters.district)
    if filters.parent:
        agencies = agencies.filter(parent__code=filters.parent)
    if filters.q:
        agencies = agencies.filter(Q(name_zh__icontains=filters.q) | Q(name_en__icontains=filters.q))
    return agencies


@router.get("/agencies/{code}", response={200: AgencyDetailOut, **ERROR_RESPONSES}, auth=None)
def agency_detail(request: HttpRequest, code: str):
    agency = (
        Agency.objects.select_related("parent", "district")
        .prefetch_related("contacts")
        .filter(code=code)
        .first()
    )
    if agency is None:
        raise NotFound("agency not found")
    return {**AgencyOut.from_orm(agency).dict(), "contacts": list(agency.contacts.all())}


# --- people -----------------------------------------------------------------------------------


class PersonListOut(Schema):
    id: int
    id_masked: str
    name: str
    sex: str
    birth_date: datetime.date
    district_code: str

    @staticmethod
    def resolve_district_code(person: Person) -> str:
        return person.district.code


class HouseholdMemberOut(Schema):
    id: int
    name: str
    relationship: str
    birth_date: datetime.date


class PersonOut(PersonListOut):
    id_kind: str
    village: str | None
    address: str
    registered_since: datetime.date | None
    phone: str
    email: str
    income_status: str
    disability_level: str
    indigenous: bool
    deceased_on: datetime.date | None
    moved_out_on: datetime.date | None
    household_members: list[HouseholdMemberOut]

    @staticmethod
    def resolve_village(person: Person) -> str | None:
        return person.village.name_zh if person.village_id else None

    @staticmethod
    def resolve_household_members(person: Person) -> list[Person]:
        return list(selectors.household_members(person).exclude(pk=person.pk))


class PeopleFilter(Schema):
    district: str | None = Field(None, max_length=16, description="district code")
    name: str | None = Field(None, max_length=60, description="exact name")
    identifier: str | None = Field(
        None, max_length=12, description="exact national ID or resident certificate number"
    )


@router.get("/people", response={200: list[PersonListOut], **ERROR_RESPONSES}, auth=USER_AUTH)
@paginate(Pagination)
def person_list(request: HttpRequest, filters: Query[PeopleFilter]):
    """Staff: people in the districts their agency serves (masked identifiers). Audited."""
    require_staff(request)
    people = selectors.people_visible_to(request.user).order_by("id")
    if filters.district:
        people = people.filter(district__code=filters.district)
    if filters.name:
        people = people.filter(name=filters.name)
    if filters.identifier:
        people = people.filter(id_digest=selectors.person_digest(filters.identifier))
    used = {
        k: ("<identifier>" if k == "identifier" else v) for k, v in filters.dict(exclude_none=True).items()
    }
    services.people_searched(actor=request.user, filters=used, result_count=people.count(), channel="api")
    return people


@router.get("/people/{int:person_id}", response={200: PersonOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def person_detail(request: HttpRequest, person_id: int):
    """A person's record: staff within their reach (audited), or a citizen's own."""
    user = require_user(request)
    person = selectors.access_person_by_id(user, person_id)
    services.person_viewed(actor=user, person=person, channel="api")
    return person


class RevealIn(Schema):
    reason: str = Field(min_length=4, max_length=500)


class RevealOut(Schema):
    identifier: str


@router.post(
    "/people/{int:person_id}/reveal-identifier", response={200: RevealOut, **ERROR_RESPONSES}, auth=USER_AUTH
)
def person_reveal_identifier(request: HttpRequest, person_id: int, payload: RevealIn):
    """Staff: the whole identification number, with a reason that goes into the audit trail."""
    require_staff(request)
    person = selectors.access_person_by_id(request.user, person_id)
    return {
        "identifier": services.person_reveal_identifier(
            actor=request.user, person=person, reason=payload.reason
        )
    }


@router.get("/me/person", response={200: PersonOut, **ERROR_RESPONSES}, auth=USER_AUTH)
def my_person(request: HttpRequest):
    """The logged-in citizen's own record."""
    person = selectors.person_of_user(require_user(request))
    if person is None:
        raise NotFound("no resident record is linked to this login")
    return person


class VerifyIn(Schema):
    identifier: str = Field(min_length=1, max_length=12)
    birth_date: datetime.date


class VerifyOut(Schema):
    match: bool
    resident: bool


@router.post("/people/verify", response={200: VerifyOut, **ERROR_RESPONSES}, auth=USER_OR_PARTNER_AUTH)
def person_verify(request: HttpRequest, payload: VerifyIn):
    """Partners (scope ``core.people:verify``): does this number and birth date belong to a living
    resident of the city? Answers yes or no and nothing more; each call is audited."""
    api_key = require_scope(request, "core.people:verify")
    if api_key is None:
        require_staff(request)
    try:
        identity.validate(payload.identifier)
    except identity.InvalidIdentifier as exc:
        raise InvalidInput(f"identifier: {exc}") from exc
    person = Person.objects.filter(id_digest=selectors.person_digest(payload.identifier)).first()
    match = person is not None and person.birth_date == payload.birth_date
    resident = match and person.deceased_on is None and person.moved_out_on is None
    services.audit_record(
        actor=None if api_key else request.user, action="person.verified",
        agency=api_key.agency if api_key else None,
        object_type="core.person", object_id=str(person.pk) if match else "",
        data={"partner": api_key.partner if api_key else "", "match": match},
    )  # fmt: skip
    return {"match": match, "resident": resident}


# --- notifications ----------------------------------------------------------------------------


class NotificationOut(Schema):
    id: int
    subject: str
    body: str
    url: str
    created_at: datetime.datetime
    read_at: datetime.datetime | None


@router.get("/notifications", response={200: list[NotificationOut], **ERROR_RESPONSES}, auth=USER_AUTH)
@paginate(Pagination)
def notification_list(request: HttpRequest, unread: bool = False):
    notifications = selectors.notifications_for(require_user(request))
    return notifications.filter(read_at__isnull=True) if unread else notifications


@router.post(
    "/notifications/{int:notification_id}/read", response={200: NotificationOut, **ERROR_RESPONSES},
    auth=USER_AUTH,
)  # fmt: skip
def notification_read(request: HttpRequest, notification_id: int):
    notification = selectors.access_notification_by_id(require_user(request), notification_id)
    return services.notification_mark_read(notification=notification)


# --- audit ------------------------------------------------------------------------------------


class AuditEventOut(Schema):
    sequence: int
    created_at: datetime.datetime
    actor_username: str
    agency_code: str
    action: str
    object_type: str
    object_id: str
    reason: str
    data: dict
    hash: str


class AuditFilter(Schema):
    action: str | None = Field(None, max_length=80)
    object_type: str | None = Field(None, max_length=80)
    object_id: str | None = Field(None, max_length=64)
    since: PlausibleDateTime | None = None


@router.get("/audit-events", response={200: list[AuditEventOut], **ERROR_RESPONSES}, auth=USER_AUTH)
@paginate(Pagination)
def audit_event_list(request: HttpRequest, filters: Query[AuditFilter]):
    """Agency and city administrators: the audit trail of the agencies they administer."""
    require_staff(request)
    events = selectors.audit_events_visible_to(request.user).order_by("-sequence")
    for name in ("action", "object_type", "object_id"):
        if getattr(filters, name):
            events = events.filter(**{name: getattr(filters, name)})
    if filters.since:
        events = events.filter(created_at__gte=filters.since)
    return events
