"""Writes of the core module. Every function here is the only way other modules, the API, the
pages and the CLI change core records: each runs in a transaction and writes its audit event
in that same transaction."""

import datetime
import hashlib
import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from . import audit_chain, crypto, identity
from .errors import Conflict, InvalidInput, NotAuthenticated, PermissionDenied
from .models import (
    Agency,
    ApiKey,
    ApiToken,
    AuditChainHead,
    AuditEvent,
    District,
    Household,
    Notification,
    Person,
    SchoolEnrolment,
    StaffRole,
    User,
    Village,
)  # fmt: skip
from .selectors import ID_LOOKUP_PURPOSE, acting_agency, staff_scope

logger = logging.getLogger(__name__)

ID_ENCRYPTION_PURPOSE = "person-id"


# --- audit ------------------------------------------------------------------------------------


def audit_record(
    *, actor: User | None, action: str, obj=None, object_type: str = "", object_id: str = "",
    agency: Agency | None = None, reason: str = "", data: dict | None = None,
) -> AuditEvent:  # fmt: skip
    """Append one event to the hash chain, inside the caller's transaction.

    The chain head row is locked for the rest of the transaction, so concurrent writers append
    one after the other and the chain never forks.
    """
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    if agency is None and actor is not None and getattr(actor, "is_authenticated", False):
        agency = acting_agency(actor)
    with transaction.atomic():
        AuditChainHead.objects.get_or_create(id=1)  # created by migration; recreated after a flush
        head = AuditChainHead.objects.select_for_update().get(id=1)
        event = AuditEvent(
            sequence=head.last_sequence + 1,
            created_at=timezone.now().astimezone(datetime.UTC),
            actor_id=actor.pk if actor is not None and actor.pk else None,
            actor_username=actor.get_username() if actor is not None and actor.pk else "",
            agency_code=agency.code if agency else "",
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            reason=reason,
            data=data or {},
            previous_hash=head.last_hash,
        )
        event.hash = audit_chain.hash_of(event)
        event.save(force_insert=True)
        AuditChainHead.objects.filter(id=1).update(last_sequence=event.sequence, last_hash=event.hash)
    return event


# --- people -----------------------------------------------------------------------------------


@dataclass
class PersonInput:
    identifier: str
    name: str
    birth_date: datetime.date
    sex: str
    district: District
    village: Village | None = None
    address: str = ""
    registered_since: datetime.date | None = None
    household: Household | None = None
    relationship: str = ""
    phone: str = ""
    email: str = ""
    income_status: str = Person.IncomeStatus.GENERAL
    disability_level: str = ""
    disability_certificate_expires_on: datetime.date | None = None
    disability_needs_companion: bool = False
    indigenous: bool = False


def identifier_fields(number: str, kind: str) -> dict:
    """The stored forms of a validated identification number: ciphertext, lookup hash, mask."""
    return {
        "id_kind": kind,
        "id_ciphertext": crypto.encrypt(number, purpose=ID_ENCRYPTION_PURPOSE),
        "id_digest": crypto.lookup_digest(number, purpose=ID_LOOKUP_PURPOSE),
        "id_masked": identity.mask(number),
    }


def person_build(data: PersonInput) -> Person:
    """Validate and encrypt without saving: used by person_register and by bulk demo loading."""
    try:
        number, kind = identity.validate(data.identifier)
    except identity.InvalidIdentifier as exc:
        raise InvalidInput(f"identification number: {exc}", details={"field": "identifier"}) from exc
    if not data.name.strip():
        raise InvalidInput("name is required", details={"field": "name"})
    if data.sex not in Person.Sex.values:
        raise InvalidInput("sex must be M or F", details={"field": "sex"})
    if data.birth_date > timezone.localdate():
        raise InvalidInput("birth date is in the future", details={"field": "birth_date"})
    if data.village is not None and data.village.district_id != data.district.pk:
        raise InvalidInput("village is not in the district", details={"field": "village"})
    return Person(
        **identifier_fields(number, kind),
        name=data.name.strip(),
        birth_date=data.birth_date,
        sex=data.sex,
        district=data.district,
        village=data.village,
        address=data.address,
        registered_since=data.registered_since,
        household=data.household,
        relationship=data.relationship,
        phone=data.phone,
        email=data.email,
        income_status=data.income_status,
        disability_level=data.disability_level,
        disability_certificate_expires_on=data.disability_certificate_expires_on,
        disability_needs_companion=data.disability_needs_companion,
        indigenous=data.indigenous,
    )


@transaction.atomic
def person_register(*, actor: User | None, data: PersonInput, user: User | None = None) -> Person:
    person = person_build(data)
    if Person.objects.filter(id_digest=person.id_digest).exists():
        raise Conflict("a person with this identification number is already registered")
    person.user = user
    person.save(force_insert=True)
    audit_record(actor=actor, action="person.registered", obj=person, data={"district": data.district.code})
    return person


PERSON_EDITABLE_FIELDS = {
    "name", "address", "phone", "email", "village", "district", "household", "relationship",
    "income_status", "disability_level", "disability_certificate_expires_on", "disability_needs_companion",
    "indigenous", "registered_since", "deceased_on", "moved_out_on",
}  # fmt: skip


@transaction.atomic
def person_update(*, actor: User, person: Person, reason: str = "", **changes) -> Person:
    unknown = set(changes) - PERSON_EDITABLE_FIELDS
    if unknown:
        raise InvalidInput(f"cannot change {', '.join(sorted(unknown))}")
    changed = [name for name, value in changes.items() if getattr(person, name) != value]
    for name in changed:
        setattr(person, name, changes[name])
    if changed:
        person.save(update_fields=[*changed, "updated_at"])
        # Field names only: the audit trail must not become a second copy of personal data.
        audit_record(
            actor=actor, action="person.updated", obj=person, reason=reason, data={"fields": changed}
        )
    return person


def person_identifier(person: Person) -> str:
    return crypto.decrypt(person.id_ciphertext, purpose=ID_ENCRYPTION_PURPOSE)


@transaction.atomic
def person_reveal_identifier(*, actor: User, person: Person, reason: str) -> str:
    """Staff see the whole number only on purpose, with a reason, and it is audited."""
    if not reason.strip():
        raise InvalidInput("a reason is required to see a whole identification number")
    if not staff_scope(actor).is_staff:
        raise PermissionDenied("only staff may reveal identification numbers")
    audit_record(actor=actor, action="person.identifier_revealed", obj=person, reason=reason)
    return person_identifier(person)


@transaction.atomic
def person_link_user(*, actor: User | None, person: Person, user: User) -> Person:
    if Person.objects.filter(user=user).exclude(pk=person.pk).exists():
        raise Conflict("this login is already linked to another person")
    person.user = user
    person.save(update_fields=["user", "updated_at"])
    audit_record(actor=actor, action="person.user_linked", obj=person, data={"user": user.pk})
    return person


def person_viewed(*, actor: User, person: Person, channel: str) -> None:
    """Record a staff read of personal data (citizens reading their own record are not audited)."""
    if staff_scope(actor).is_staff and person.user_id != actor.pk:
        audit_record(actor=actor, action="person.viewed", obj=person, data={"channel": channel})


def people_searched(*, actor: User, filters: dict, result_count: int, channel: str) -> None:
    if staff_scope(actor).is_staff:
        audit_record(
            actor=actor, action="people.searched", object_type="core.person",
            data={"filters": filters, "results": result_count, "channel": channel},
        )  # fmt: skip


# --- staff roles ------------------------------------------------------------------------------


@transaction.atomic
def staff_role_grant(*, actor: User | None, user: User, agency: Agency, role: str) -> StaffRole:
    """Grant a role. ``actor=None`` is the system itself (profile loading, demo data, CLI)."""
    if role not in StaffRole.Role.values:
        raise InvalidInput(f"unknown role {role!r}")
    if actor is not None:
        scope = staff_scope(actor)
        if not scope.can_manage_staff_of(agency.pk):
            raise PermissionDenied("you may not manage the staff of this agency")
        if role == StaffRole.Role.CITY_ADMIN and not scope.has_role(StaffRole.Role.CITY_ADMIN):
            raise PermissionDenied("only a city administrator may grant that role")
    staff_role, created = StaffRole.objects.get_or_create(
        user=user, agency=agency, role=role, defaults={"granted_by": actor}
    )
    if created:
        if not user.is_staff:
            user.is_staff = True  # lets them into the staff console
            user.save(update_fields=["is_staff"])
        audit_record(
            actor=actor, action="staff_role.granted", obj=staff_role, agency=agency,
            data={"user": user.get_username(), "role": role},
        )  # fmt: skip
    return staff_role


@transaction.atomic
def staff_role_revoke(*, actor: User | None, staff_role: StaffRole) -> None:
    if actor is not None and not staff_scope(actor).can_manage_staff_of(staff_role.agency_id):
        raise PermissionDenied("you may not manage the staff of this agency")
    user = staff_role.user
    audit_record(
        actor=actor, action="staff_role.revoked", obj=staff_role, agency=staff_role.agency,
        data={"user": user.get_username(), "role": staff_role.role},
    )  # fmt: skip
    staff_role.delete()
    if not StaffRole.objects.filter(user=user).exists() and not user.is_superuser:
        user.is_staff = False
        user.save(update_fields=["is_staff"])


# --- notifications ----------------------------------------------------------------------------


def notification_send(
    *, recipient: User, subject: str, body: str, url: str = "", send_email: bool = True
) -> Notification:
    """Put a message in the recipient's inbox and, after commit, e-mail it to them."""
    notification = Notification.objects.create(recipient=recipient, subject=subject, body=body, url=url)
    if send_email and recipient.email:
        transaction.on_commit(lambda: _email_notification(notification.pk))
    return notification


def _email_notification(notification_id: int) -> None:
    notification = Notification.objects.select_related("recipient").get(pk=notification_id)
    body = notification.body + (f"\n\n{notification.url}" if notification.url else "")
    try:
        send_mail(notification.subject, body, settings.DEFAULT_FROM_EMAIL, [notification.recipient.email])
    except OSError:
        # The inbox copy is kept; a mail server outage must not undo the action that notified.
        logger.exception("e-mail of notification %s failed", notification_id)
        return
    Notification.objects.filter(pk=notification_id).update(emailed_at=timezone.now())


def notification_mark_read(*, notification: Notification) -> Notification:
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


# --- API credentials --------------------------------------------------------------------------


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@transaction.atomic
def api_token_issue(*, user: User) -> tuple[str, ApiToken]:
    """A new bearer token for the user; the caller shows it once, only its hash is stored."""
    if not user.is_active:
        raise NotAuthenticated("account is disabled")
    raw = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, token_hash=_sha256(raw), expires_at=timezone.now() + settings.API_TOKEN_LIFETIME
    )
    audit_record(actor=user, action="api_token.issued", obj=token)
    return raw, token


def api_token_authenticate(raw: str) -> User | None:
    token = ApiToken.objects.select_related("user").filter(token_hash=_sha256(raw)).first()
    if token is None or not token.is_usable() or not token.user.is_active:
        return None
    return token.user


@transaction.atomic
def api_token_revoke(*, raw: str) -> None:
    ApiToken.objects.filter(token_hash=_sha256(raw), revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


API_KEY_SCOPES = {
    "core.people:verify": "Check whether an identification number and birth date match a resident",
    "core.directory:read": "Read the agency directory",
}


def register_api_key_scopes(scopes: dict[str, str]) -> None:
    """Modules add the scopes their partner endpoints check (called from AppConfig.ready)."""
    API_KEY_SCOPES.update(scopes)


@transaction.atomic
def api_key_create(
    *, actor: User | None, name: str, partner: str, agency: Agency, scopes: list[str],
    expires_at: datetime.datetime,
) -> tuple[str, ApiKey]:  # fmt: skip
    unknown = sorted(set(scopes) - set(API_KEY_SCOPES))
    if unknown:
        raise InvalidInput(f"unknown scopes: {', '.join(unknown)}", details={"known": sorted(API_KEY_SCOPES)})
    if expires_at <= timezone.now():
        raise InvalidInput("expiry must be in the future")
    if actor is not None and not staff_scope(actor).can_manage_staff_of(agency.pk):
        raise PermissionDenied("you may not create keys for this agency")
    prefix, secret = secrets.token_hex(4), secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        name=name, partner=partner, agency=agency, prefix=prefix, key_hash=_sha256(secret),
        scopes=sorted(set(scopes)), created_by=actor, expires_at=expires_at,
    )  # fmt: skip
    audit_record(actor=actor, action="api_key.created", obj=key, agency=agency, data={"scopes": key.scopes})
    return f"cs_{prefix}_{secret}", key


def api_key_authenticate(raw: str) -> ApiKey | None:
    try:
        marker, prefix, secret = raw.split("_", 2)
    except ValueError:
        return None
    if marker != "cs":
        return None
    key = ApiKey.objects.select_related("agency").filter(prefix=prefix).first()
    if key is None or not secrets.compare_digest(key.key_hash, _sha256(secret)) or not key.is_usable():
        return None
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
    return key


@transaction.atomic
def api_key_revoke(*, actor: User | None, key: ApiKey) -> ApiKey:
    if actor is not None and not staff_scope(actor).can_manage_staff_of(key.agency_id):
        raise PermissionDenied("you may not revoke keys of this agency")
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="api_key.revoked", obj=key, agency=key.agency)
    return key


# --- school enrolments ------------------------------------------------------------------------


@transaction.atomic
def school_enrolment_record(
    *, actor: User | None, person: Person, school_name: str, level: str, enrolled_on: datetime.date,
    school: Agency | None = None, in_city: bool = True, student_number: str = "",
    ends_on: datetime.date | None = None,
) -> SchoolEnrolment:  # fmt: skip
    """Record that a person studies at a school (from the school's roll or the education bureau)."""
    if level not in SchoolEnrolment.Level.values:
        raise InvalidInput(f"unknown school level {level!r}", details={"field": "level"})
    if school is not None and school.kind != Agency.Kind.SCHOOL:
        raise InvalidInput(f"{school} is not a school", details={"field": "school"})
    if ends_on is not None and ends_on < enrolled_on:
        raise InvalidInput("an enrolment cannot end before it starts", details={"field": "ends_on"})
    if actor is not None and not staff_scope(actor).is_staff:
        raise PermissionDenied("only staff record school enrolments")
    enrolment = SchoolEnrolment.objects.create(
        person=person, school=school, school_name=(school.name_zh if school else school_name).strip(),
        level=level, in_city=in_city if school is None else True, student_number=student_number.strip(),
        enrolled_on=enrolled_on, ends_on=ends_on,
    )  # fmt: skip
    audit_record(actor=actor, action="person.school_enrolment_recorded", obj=person, agency=school,
                 data={"level": level, "school": enrolment.school_name})  # fmt: skip
    return enrolment
