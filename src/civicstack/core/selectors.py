"""Reads, and the one place that decides who may see what.

Staff reach: a clerk or supervisor acts for their agency; an agency administrator also for
the agencies below it; a city administrator for all. For people (personal data) an agency's
reach is its district when it serves one district (district office, household registration
office, health centre...), and the whole city when it is a citywide agency.
Citizens see only their own Person. ``access_*`` functions raise the same NotFound for
"missing" and "not yours", so a caller cannot probe which records exist.
"""

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from . import identity
from .crypto import lookup_digest
from .errors import NotFound
from .models import Agency, AuditEvent, Notification, Person, StaffRole, User

ID_LOOKUP_PURPOSE = "person-id"


@dataclass(frozen=True)
class StaffScope:
    roles: frozenset[tuple[int, str]]  # (agency id, role)
    all_agencies: bool
    agency_ids: frozenset[int]  # agencies the user acts for (empty when all_agencies)
    all_districts: bool
    district_ids: frozenset[int]  # districts whose residents the user may look up

    @property
    def is_staff(self) -> bool:
        return bool(self.roles)

    def has_role(self, *roles: str) -> bool:
        return any(role in roles for _, role in self.roles)

    def acts_for(self, agency_id: int | None) -> bool:
        return self.all_agencies or agency_id in self.agency_ids

    def can_manage_staff_of(self, agency_id: int) -> bool:
        if self.has_role(StaffRole.Role.CITY_ADMIN):
            return True
        return self.has_role(StaffRole.Role.AGENCY_ADMIN) and agency_id in self.agency_ids


NO_SCOPE = StaffScope(frozenset(), False, frozenset(), False, frozenset())


def _descendants(root_ids: set[int]) -> set[int]:
    children: dict[int | None, list[int]] = {}
    for agency_id, parent_id in Agency.objects.values_list("id", "parent_id"):
        children.setdefault(parent_id, []).append(agency_id)
    found, frontier = set(root_ids), list(root_ids)
    while frontier:
        for child in children.get(frontier.pop(), []):
            if child not in found:
                found.add(child)
                frontier.append(child)
    return found


def staff_scope(user: User) -> StaffScope:
    """The user's reach, computed once per request (cached on the user object)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return NO_SCOPE
    cached = getattr(user, "_civicstack_staff_scope", None)
    if cached is not None:
        return cached
    roles = frozenset(StaffRole.objects.filter(user=user).values_list("agency_id", "role"))
    all_agencies = any(role == StaffRole.Role.CITY_ADMIN for _, role in roles)
    if all_agencies:
        scope = StaffScope(roles, True, frozenset(), True, frozenset())
    else:
        direct = {agency_id for agency_id, _ in roles}
        admin_roots = {agency_id for agency_id, role in roles if role == StaffRole.Role.AGENCY_ADMIN}
        agency_ids = direct | (_descendants(admin_roots) if admin_roots else set())
        districts = list(Agency.objects.filter(id__in=agency_ids).values_list("district_id", flat=True))
        all_districts = any(district_id is None for district_id in districts)
        scope = StaffScope(
            roles, False, frozenset(agency_ids), all_districts,
            frozenset() if all_districts else frozenset(districts),
        )  # fmt: skip
    user._civicstack_staff_scope = scope
    return scope


def acting_agency(user: User) -> Agency | None:
    """The agency a staff member acts for by default: their most senior role's agency."""
    order = [
        StaffRole.Role.CITY_ADMIN,
        StaffRole.Role.AGENCY_ADMIN,
        StaffRole.Role.SUPERVISOR,
        StaffRole.Role.CLERK,
    ]
    roles = list(StaffRole.objects.filter(user=user).select_related("agency"))
    roles.sort(key=lambda r: order.index(r.role))
    return roles[0].agency if roles else None


def agencies_visible_to_staff(user: User) -> QuerySet[Agency]:
    scope = staff_scope(user)
    if scope.all_agencies:
        return Agency.objects.all()
    return Agency.objects.filter(id__in=scope.agency_ids)


def scope_by_agency(queryset: QuerySet, user: User, *, field: str = "agency") -> QuerySet:
    """Limit any queryset of agency-owned records to the agencies the user acts for."""
    scope = staff_scope(user)
    if scope.all_agencies:
        return queryset
    return queryset.filter(**{f"{field}__in": scope.agency_ids})


def people_visible_to(user: User) -> QuerySet[Person]:
    scope = staff_scope(user)
    people = Person.objects.select_related("district", "village")
    if scope.all_districts:
        return people
    if scope.is_staff:
        own = Q(user=user) if user.is_authenticated else Q(pk__in=[])
        return people.filter(Q(district_id__in=scope.district_ids) | own)
    if getattr(user, "is_authenticated", False):
        return people.filter(user=user)
    return people.none()


def person_digest(raw_identifier: str) -> str:
    return lookup_digest(identity.normalize(raw_identifier), purpose=ID_LOOKUP_PURPOSE)


def access_person_by_id(user: User, person_id: int) -> Person:
    person = people_visible_to(user).filter(pk=person_id).first()
    if person is None:
        raise NotFound("person not found")
    return person


def access_person_by_identifier(user: User, raw_identifier: str) -> Person:
    person = people_visible_to(user).filter(id_digest=person_digest(raw_identifier)).first()
    if person is None:
        raise NotFound("person not found")
    return person


def person_of_user(user: User) -> Person | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Person.objects.select_related("district", "village", "household").filter(user=user).first()


def household_members(person: Person) -> QuerySet[Person]:
    if person.household_id is None:
        return Person.objects.filter(pk=person.pk)
    return Person.objects.filter(household_id=person.household_id).order_by("birth_date")


def notifications_for(user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user)


def access_notification_by_id(user: User, notification_id: int) -> Notification:
    notification = notifications_for(user).filter(pk=notification_id).first()
    if notification is None:
        raise NotFound("notification not found")
    return notification


def object_history(obj) -> QuerySet[AuditEvent]:
    """Every audit event recorded against one object (a case, a card, an application), oldest first."""
    return AuditEvent.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk)).order_by(
        "sequence"
    )


def audit_events_visible_to(user: User) -> QuerySet[AuditEvent]:
    """City administrators see every event; agency administrators those of their agencies."""
    scope = staff_scope(user)
    if scope.has_role(StaffRole.Role.CITY_ADMIN):
        return AuditEvent.objects.all()
    if scope.has_role(StaffRole.Role.AGENCY_ADMIN):
        codes = Agency.objects.filter(id__in=scope.agency_ids).values_list("code", flat=True)
        return AuditEvent.objects.filter(agency_code__in=list(codes))
    return AuditEvent.objects.none()
