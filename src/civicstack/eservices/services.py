"""Writes of the eservices module: the catalog and its form versions, applications (draft, submit,
supplement, withdraw), the staff workflow (receive, review, supplement request, approve, reject,
complete, assign), fees through payment orders, the kiosk pickup and the deadline run.

Each runs in a transaction, records the change in the application's timeline and in the core
audit log in that transaction, and notifies the applicant; other modules call these only.
"""

import contextlib
import contextvars
import datetime
import hashlib
import secrets
import zipfile
from dataclasses import dataclass

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from civicstack.core import working_days
from civicstack.core.errors import InvalidInput, NotFound, PermissionDenied
from civicstack.core.models import Agency, ApiKey, Person, StaffRole, User
from civicstack.core.selectors import person_of_user, staff_scope
from civicstack.core.services import audit_record, notification_send
from civicstack.core.stored_files import delete_after_commit
from civicstack.payments import services as payments
from civicstack.payments.models import PaymentOrder

from . import form_schema, search
from .errors import ApplicationStateConflict, FormInvalid, InvalidAttachment, RoutingRefused
from .models import Application, ApplicationEvent, Attachment, BlankForm, FormDefinition, ServiceItem
from .models.applications import OPEN_STATES

SOURCE_TYPE = "eservices.application"
FEE_PAYMENT_DAYS = 14
REMIND_WORKING_DAYS = 2  # remind the handling office this many working days before the deadline
PICKUP_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: read aloud at a store
KIOSK_SCOPE = "eservices.kiosk"
State = Application.State

# Staff actions: the state they lead to and the states they may start from.
STAFF_ACTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "receive": (State.RECEIVED, (State.SUBMITTED,)),
    "review": (State.IN_REVIEW, (State.RECEIVED,)),
    "request_supplement": (State.SUPPLEMENT_REQUESTED, (State.RECEIVED, State.IN_REVIEW)),
    "approve": (State.APPROVED, (State.RECEIVED, State.IN_REVIEW)),
    "reject": (
        State.REJECTED,
        (State.SUBMITTED, State.RECEIVED, State.IN_REVIEW, State.SUPPLEMENT_REQUESTED),
    ),
    "complete": (State.COMPLETED, (State.APPROVED,)),
}
REASON_REQUIRED = {"request_supplement", "reject"}
WITHDRAWABLE = (State.DRAFT, State.SUBMITTED, State.RECEIVED, State.IN_REVIEW, State.SUPPLEMENT_REQUESTED)


# Demo data makes a year of history through these services; its steps are not news to anyone.
_notifications_off = contextvars.ContextVar("eservices_notifications_off", default=False)


@contextlib.contextmanager
def notifications_suppressed():
    token = _notifications_off.set(True)
    try:
        yield
    finally:
        _notifications_off.reset(token)


def _notify(**kwargs) -> None:
    if not _notifications_off.get():
        notification_send(**kwargs)


# --- catalog ----------------------------------------------------------------------------------


def item_search_text(item: ServiceItem) -> str:
    parts = [item.name, item.name, item.category, item.description, item.eligibility, item.agency.name_zh]
    return " ".join(search.tokens(" ".join(parts)))


@dataclass
class ItemInput:
    agency: Agency
    code: str
    name: str
    category: str
    time_limit_days: int
    description: str = ""
    eligibility: str = ""
    required_documents: str = ""
    fee: int = 0
    office_kind: str = ""
    cross_district: str = ServiceItem.CrossDistrict.NOT_ALLOWED
    channel: str = ServiceItem.Channel.ONLINE


ITEM_MANAGERS = (StaffRole.Role.SUPERVISOR, StaffRole.Role.AGENCY_ADMIN, StaffRole.Role.CITY_ADMIN)


def _require_item_manager(actor: User | None, agency_id: int) -> None:
    if actor is None:
        return
    scope = staff_scope(actor)
    if not (scope.acts_for(agency_id) and scope.has_role(*ITEM_MANAGERS)):
        raise PermissionDenied("only supervisors and administrators of the agency manage its items and forms")


def _check_item(data: ItemInput) -> None:
    if not data.code.strip() or not data.name.strip() or not data.category.strip():
        raise InvalidInput("an item needs a code, a name and a category")
    if (
        data.cross_district not in ServiceItem.CrossDistrict.values
        or data.channel not in ServiceItem.Channel.values
    ):
        raise InvalidInput("unknown cross-district rule or channel")
    if data.office_kind and data.office_kind not in Agency.Kind.values:
        raise InvalidInput("unknown office kind", details={"field": "office_kind"})
    if data.cross_district != ServiceItem.CrossDistrict.NOT_ALLOWED and not data.office_kind:
        raise InvalidInput("cross-district filing needs an office kind (offices in every district)")
    if not 1 <= data.time_limit_days <= 365 or data.fee < 0:
        raise InvalidInput("the time limit is 1–365 working days and the fee is not negative")


_ITEM_FIELDS = ("name", "category", "description", "eligibility", "required_documents", "fee",
                "time_limit_days", "office_kind", "cross_district", "channel")  # fmt: skip


@transaction.atomic
def item_create(*, actor: User | None, data: ItemInput) -> ServiceItem:
    _require_item_manager(actor, data.agency.pk)
    _check_item(data)
    if ServiceItem.objects.filter(code=data.code.strip()).exists():
        raise ApplicationStateConflict(f"an item {data.code} exists already", code="item_exists")
    item = ServiceItem(agency=data.agency, code=data.code.strip())
    for name in _ITEM_FIELDS:
        value = getattr(data, name)
        setattr(item, name, value.strip() if isinstance(value, str) else value)
    item.search_tokens = item_search_text(item)
    item.save()
    audit_record(actor=actor, action="eservices.item.created", obj=item, agency=item.agency,
                 data={"code": item.code, "name": item.name})  # fmt: skip
    return item


@transaction.atomic
def item_update(
    *, actor: User | None, item: ServiceItem, data: ItemInput, is_active: bool = True
) -> ServiceItem:
    """Change an item's description, fee, time limit, routing or channel. Its code and agency stay:
    receipts, links and statistics refer to them. Cases already filed keep their due dates."""
    _require_item_manager(actor, item.agency_id)
    if data.code.strip() != item.code or data.agency.pk != item.agency_id:
        raise InvalidInput("an item's code and agency do not change; make a new item instead")
    _check_item(data)
    item = ServiceItem.objects.select_for_update().get(pk=item.pk)
    changed = {}
    for name in _ITEM_FIELDS:
        value = getattr(data, name)
        value = value.strip() if isinstance(value, str) else value
        if getattr(item, name) != value:
            changed[name] = value
            setattr(item, name, value)
    if item.is_active != is_active:
        changed["is_active"] = item.is_active = is_active
    if changed:
        item.search_tokens = item_search_text(item)
        item.save()
        audit_record(actor=actor, action="eservices.item.changed", obj=item, agency=item.agency,
                     data={"code": item.code, "changed": sorted(changed)})  # fmt: skip
    return item


# --- blank forms (PDF, ODT or DOCX files to print and hand in) ------------------------------------

BLANK_FORM_MAX_BYTES = 10 * 1024 * 1024
BLANK_FORM_TYPES = {
    "pdf": ("application/pdf", ".pdf"),
    "odt": ("application/vnd.oasis.opendocument.text", ".odt"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"),
}


def _blank_form_kind(upload: UploadedFile) -> str | None:
    """The file's type read from its bytes: a PDF header, or an ODF/OOXML package's own markers."""
    upload.seek(0)
    head = upload.read(5)
    upload.seek(0)
    if head.startswith(b"%PDF-"):
        return "pdf"
    try:
        with zipfile.ZipFile(upload) as archive:
            names = set(archive.namelist())
            if "mimetype" in names and archive.getinfo("mimetype").file_size < 100:
                if archive.read("mimetype").strip() == BLANK_FORM_TYPES["odt"][0].encode():
                    return "odt"
            if "word/document.xml" in names and "[Content_Types].xml" in names:
                return "docx"
    except (zipfile.BadZipFile, OSError):
        return None
    finally:
        upload.seek(0)
    return None


@transaction.atomic
def blank_form_add(*, actor: User | None, item: ServiceItem, title: str, upload: UploadedFile) -> BlankForm:
    _require_item_manager(actor, item.agency_id)
    title = title.strip() or item.name
    if len(title) > 120:
        raise InvalidAttachment(
            "the title is longer than 120 characters", details={"fields": {"title": "too long"}}
        )
    if not upload.size:
        raise InvalidAttachment("the file is empty", details={"fields": {"file": "empty"}})
    if upload.size > BLANK_FORM_MAX_BYTES:
        raise InvalidAttachment(
            f"the file is larger than {BLANK_FORM_MAX_BYTES // 1024 // 1024} MB",
            details={"fields": {"file": "too large"}},
        )
    kind = _blank_form_kind(upload)
    if kind is None:
        raise InvalidAttachment(
            "a blank form is a PDF, ODT or DOCX file", details={"fields": {"file": "type"}}
        )
    content_type, extension = BLANK_FORM_TYPES[kind]
    blank = BlankForm(item=item, title=title, content_type=content_type, size=upload.size)
    blank.file.save(f"{item.code}-{secrets.token_hex(4)}{extension}", upload, save=False)
    blank.save()
    audit_record(actor=actor, action="eservices.blank_form.added", obj=item, agency=item.agency,
                 data={"title": title, "type": kind, "size": upload.size})  # fmt: skip
    return blank


def blank_form_remove(*, actor: User | None, blank: BlankForm) -> None:
    item = blank.item
    _require_item_manager(actor, item.agency_id)
    with transaction.atomic():
        audit_record(actor=actor, action="eservices.blank_form.removed", obj=item, agency=item.agency,
                     data={"title": blank.title})  # fmt: skip
        delete_after_commit([blank.file])
        blank.delete()


@transaction.atomic
def form_definition_create(
    *, actor: User | None, item: ServiceItem, schema: dict, layout: dict, publish: bool = True
) -> FormDefinition:
    """A new version of the item's form (validated as JSON Schema with a complete layout).
    Published versions are never changed; applications keep the version they were filled with."""
    _require_item_manager(actor, item.agency_id)
    form_schema.check_definition(schema, layout)
    ServiceItem.objects.select_for_update().filter(pk=item.pk).values_list("pk").get()
    latest = item.form_versions.order_by("-version").values_list("version", flat=True).first() or 0
    form = FormDefinition.objects.create(
        item=item, version=latest + 1, schema=schema, layout=layout, is_published=publish,
        published_at=timezone.now() if publish else None, created_by=actor,
    )  # fmt: skip
    audit_record(actor=actor, action="eservices.form.created", obj=form, agency=item.agency,
                 data={"item": item.code, "version": form.version, "published": publish})  # fmt: skip
    return form


@transaction.atomic
def form_definition_publish(*, actor: User | None, form: FormDefinition) -> FormDefinition:
    _require_item_manager(actor, form.item.agency_id)
    if not form.is_published:
        form.is_published, form.published_at = True, timezone.now()
        form.save(update_fields=["is_published", "published_at"])
        audit_record(actor=actor, action="eservices.form.published", obj=form, agency=form.item.agency,
                     data={"item": form.item.code, "version": form.version})  # fmt: skip
    return form


def current_form(item: ServiceItem) -> FormDefinition | None:
    return item.form_versions.filter(is_published=True).order_by("-version").first()


# --- routing ----------------------------------------------------------------------------------


def competent_office(item: ServiceItem, person: Person | None) -> Agency:
    """The office that handles the item for this applicant: the item's agency, or the office of the
    item's kind in the applicant's household registration district."""
    if not item.office_kind:
        return item.agency
    if person is None:
        raise RoutingRefused("this item is handled by the office of your household registration district; "
                             "your login is not linked to a household record")  # fmt: skip
    office = Agency.objects.filter(
        kind=item.office_kind, district_id=person.district_id, is_active=True
    ).first()
    if office is None:
        raise RoutingRefused("no office handles this item in your district")
    return office


def receiving_offices(item: ServiceItem, person: Person | None) -> list[Agency]:
    """Where the applicant may file: any office of the kind when the item allows cross-district
    filing, otherwise only the competent office."""
    if item.office_kind and item.cross_district != ServiceItem.CrossDistrict.NOT_ALLOWED:
        return list(Agency.objects.filter(kind=item.office_kind, is_active=True).select_related("district")
                    .order_by("district__sort_order", "code"))  # fmt: skip
    return [competent_office(item, person)]


def route(item: ServiceItem, person: Person | None, receiving_office: Agency | None) -> tuple[Agency, Agency]:
    """(receiving office, handling office) for an application, by the item's cross-district rule."""
    competent = competent_office(item, person)
    if receiving_office is None:
        return competent, competent
    if receiving_office.pk == competent.pk:
        return competent, competent
    rule = item.cross_district
    if not item.office_kind or rule == ServiceItem.CrossDistrict.NOT_ALLOWED:
        raise RoutingRefused("this item must be filed at the competent office",
                             details={"field": "receiving_office", "competent_office": competent.code})  # fmt: skip
    if receiving_office.kind != item.office_kind or not receiving_office.is_active:
        raise RoutingRefused("this office does not take this item", details={"field": "receiving_office"})
    if rule == ServiceItem.CrossDistrict.HANDLE_ANYWHERE:
        return receiving_office, receiving_office
    return receiving_office, competent


# --- attachments ------------------------------------------------------------------------------

_SIGNATURES = (
    (b"%PDF-", "pdf", {".pdf"}),
    (b"\xff\xd8\xff", "jpeg", {".jpg", ".jpeg"}),
    (b"\x89PNG\r\n\x1a\n", "png", {".png"}),
)


@dataclass
class CheckedFile:
    field: str
    upload: UploadedFile
    kind: str
    name: str
    extension: str


def _check_files(schema: dict, files: dict[str, UploadedFile]) -> list[CheckedFile]:
    """Every file checked before anything is written: field, size, and type read from the bytes."""
    fields = form_schema.attachment_fields(schema)
    checked, errors = [], {}
    for field, upload in files.items():
        spec = fields.get(field)
        if spec is None:
            errors[field] = "this field does not take a file"
            continue
        limit = spec.get("x-max-bytes", form_schema.DEFAULT_ATTACHMENT_MAX_BYTES)
        accept = spec.get("x-accept", list(form_schema.ATTACHMENT_TYPES))
        if not upload.size:
            errors[field] = "the file is empty"
            continue
        if upload.size > limit:
            errors[field] = f"the file is larger than {limit // 1024:,} KB"
            continue
        upload.seek(0)
        head = upload.read(16)
        upload.seek(0)
        name = (upload.name or "file").replace("\\", "/").rsplit("/", 1)[-1][-200:]
        extension = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
        kind = next((k for signature, k, _e in _SIGNATURES if head.startswith(signature)), None)
        if kind is None or kind not in accept:
            errors[field] = "accepted file types: " + ", ".join(k.upper() for k in accept)
            continue
        if extension not in next(e for _s, k, e in _SIGNATURES if k == kind):
            errors[field] = f"the file is a {kind.upper()} but is named {extension or 'without extension'}"
            continue
        checked.append(CheckedFile(field, upload, kind, name, extension))
    if errors:
        raise InvalidAttachment("an attached file was refused", details={"fields": errors})
    return checked


def _store_files(application: Application, checked: list[CheckedFile], *, supplement: bool) -> dict[str, str]:
    references = {}
    for item in checked:
        digest = hashlib.sha256()
        for chunk in item.upload.chunks():
            digest.update(chunk)
        item.upload.seek(0)
        attachment = Attachment(
            application=application, field=item.field, original_name=item.name,
            content_type=form_schema.ATTACHMENT_TYPES[item.kind], size=item.upload.size,
            sha256=digest.hexdigest(), is_supplement=supplement,
        )  # fmt: skip
        attachment.file.save(f"{application.number}-{item.field}{item.extension}", item.upload, save=False)
        attachment.save()
        references[item.field] = f"attachment:{attachment.pk}"
    return references


def _delete_attachments(attachments) -> None:
    """Remove attachment rows, and their files once the transaction has committed."""
    delete_after_commit([attachment.file for attachment in attachments])
    attachments.delete()


# --- applications -----------------------------------------------------------------------------


def _new_number() -> str:
    today = timezone.localdate()
    for _ in range(5):
        number = f"E{today:%y%m%d}{secrets.randbelow(10**6):06d}"
        if not Application.objects.filter(number=number).exists():
            return number
    raise ApplicationStateConflict("could not allocate a receipt number; try again")  # pragma: no cover


def _new_pickup_code() -> str:
    for _ in range(10):
        code = "".join(secrets.choice(PICKUP_ALPHABET) for _ in range(8))
        if not Application.objects.filter(pickup_code=code).exists():
            return code
    raise ApplicationStateConflict("could not allocate a pickup code; try again")  # pragma: no cover


def _actor_label(actor: User | None, application: Application) -> str:
    if actor is None:
        return "system"
    if application.applicant_id is not None and actor.pk == application.applicant_id:
        return application.applicant_name
    return application.handling_office.name_zh


def _record(application: Application, *, actor: User | None, action: str, previous: str = "", note: str = "",
            data: dict | None = None, notify: bool = True) -> None:  # fmt: skip
    ApplicationEvent.objects.create(
        application=application, action=action, from_state=previous, to_state=application.state, note=note,
        actor_label=_actor_label(actor, application),
    )  # fmt: skip
    audit_record(
        actor=actor, action=f"eservices.application.{action}", obj=application, agency=application.handling_office,
        reason=note, data={"number": application.number, "from": previous, "to": application.state, **(data or {})},
    )  # fmt: skip
    user = application.applicant
    if notify and user is not None and user.is_active and (actor is None or actor.pk != user.pk):
        _notify(
            recipient=user,
            subject=f"申辦案件 {application.number}:{application.get_state_display()} Application update",
            body=(f"{application.item.name}({application.number})目前狀態:{application.get_state_display()}。"
                  + (f"\n{note}" if note else "")),
            url=f"/eservices/my/{application.number}/",
        )  # fmt: skip


def _lock(application: Application) -> Application:
    Application.objects.select_for_update().filter(pk=application.pk).values_list("pk").get()
    return Application.objects.select_related(
        "item", "item__agency", "form", "applicant", "handling_office", "receiving_office", "payment_order"
    ).get(pk=application.pk)


def _merge_answers(application: Application | None, form: FormDefinition, answers: dict) -> dict:
    """Answers typed by the applicant; attachment fields only ever come from stored files."""
    attachment_fields = form_schema.attachment_fields(form.schema)
    merged = {k: v for k, v in answers.items() if k not in attachment_fields}
    if application is not None:
        for field in attachment_fields:
            if field in application.data:
                merged[field] = application.data[field]
    return merged


@transaction.atomic
def application_draft_save(
    *, actor: User, item: ServiceItem, answers: dict, files: dict[str, UploadedFile] | None = None,
    receiving_office: Agency | None = None, application: Application | None = None, prefill_consent: bool = False,
) -> Application:  # fmt: skip
    """Create or update the applicant's draft: answers given are checked (missing ones are not yet),
    files are checked before anything is stored. Resume later with the same draft."""
    files = files or {}
    person = person_of_user(actor)
    if application is None:
        if not item.is_active or not item.applies_online:
            raise InvalidInput("this item cannot be applied for online", details={"field": "item"})
        form = current_form(item)
        if form is None:
            raise InvalidInput("this item has no online form yet", details={"field": "item"})
    else:
        application = _lock(application)
        if application.applicant_id != actor.pk:
            raise NotFound("application not found")
        if application.state != State.DRAFT:
            raise ApplicationStateConflict("only a draft can be edited", details={"state": application.state})
        form, item = application.form, application.item
    received_by, handled_by = route(item, person, receiving_office)
    data = _merge_answers(application, form, answers)
    errors = form_schema.validate(form.schema, data, partial=True)
    if errors:
        raise FormInvalid("some answers are not valid", details={"fields": errors})
    checked = _check_files(form.schema, files)
    created = application is None
    if created:
        application = Application.objects.create(
            number=_new_number(), item=item, form=form, applicant=actor, applicant_person=person,
            applicant_name=(person.name if person else actor.get_full_name() or actor.get_username())[:60],
            data=data, receiving_office=received_by, handling_office=handled_by,
            is_cross_district=received_by.pk != handled_by.pk or _is_outside_home(received_by, person),
            prefill_consent=prefill_consent, fee=item.fee,
        )  # fmt: skip
    else:
        application.data, application.prefill_consent = data, prefill_consent or application.prefill_consent
        application.receiving_office, application.handling_office = received_by, handled_by
        application.is_cross_district = received_by.pk != handled_by.pk or _is_outside_home(
            received_by, person
        )
    if checked:
        if not created:
            _delete_attachments(
                Attachment.objects.filter(application=application, field__in=[c.field for c in checked])
            )
        application.data.update(_store_files(application, checked, supplement=False))
    application.save()
    if created:
        _record(
            application, actor=actor, action="draft_saved", notify=False, data={"form_version": form.version}
        )
    return application


def _is_outside_home(office: Agency, person: Person | None) -> bool:
    return person is not None and office.district_id is not None and office.district_id != person.district_id


def _open_case(
    application: Application, *, actor: User, action: str, previous: str = State.DRAFT, notify: bool = True
) -> None:
    """A complete application becomes a case: deadline in working days, pickup code, payment order."""
    now = timezone.now()
    application.state = State.SUBMITTED
    application.submitted_at = now
    application.due_date = working_days.add_working_days(
        timezone.localdate(now), application.item.time_limit_days
    )
    application.pickup_code = _new_pickup_code()
    application.fee = application.item.fee
    if application.fee:
        order = payments.payment_order_create(
            actor=actor, payee_agency=application.handling_office,
            items=[payments.OrderItemInput(description=f"{application.item.name} 規費", amount=application.fee)],
            due_date=timezone.localdate(now) + datetime.timedelta(days=FEE_PAYMENT_DAYS),
            payer_name=application.applicant_name, payer_person=application.applicant_person,
            source_type=SOURCE_TYPE, source_id=str(application.pk), reference=application.number,
        )  # fmt: skip
        application.payment_order = payments.payment_order_issue(actor=actor, order=order)
    application.save()
    _record(application, actor=actor, action=action, previous=previous,
            data={"receiving_office": application.receiving_office.code,
                  "handling_office": application.handling_office.code,
                  "cross_district": application.is_cross_district, "due_date": application.due_date.isoformat(),
                  "form_version": application.form.version}, notify=notify)  # fmt: skip


@transaction.atomic
def application_submit(*, actor: User, application: Application) -> Application:
    """Submit a complete draft: it becomes a case of the handling office with a deadline counted in
    working days, a pickup code, and a payment order when the item has a fee. Idempotent: submitting
    an application already submitted returns it unchanged."""
    application = _lock(application)
    if application.applicant_id != actor.pk:
        raise NotFound("application not found")
    if application.state != State.DRAFT:
        if application.submitted_at is not None and application.state != State.WITHDRAWN:
            return application
        raise ApplicationStateConflict("only a draft can be submitted", details={"state": application.state})
    errors = form_schema.validate(application.form.schema, application.data)
    if errors:
        raise FormInvalid("some answers are missing or not valid", details={"fields": errors})
    _open_case(application, actor=actor, action="submitted")
    _notify(
        recipient=actor,
        subject=f"已收到申請 {application.number} Application received",
        body=(f"{application.item.name}:收件機關 {application.receiving_office.name_zh},"
              f"承辦機關 {application.handling_office.name_zh},處理期限 {application.due_date:%Y-%m-%d}。"),
        url=f"/eservices/my/{application.number}/",
    )  # fmt: skip
    return application


@transaction.atomic
def application_file_at_counter(
    *, actor: User, item: ServiceItem, person: Person, receiving_office: Agency, answers: dict,
    files: dict[str, UploadedFile] | None = None,
) -> Application:  # fmt: skip
    """A clerk files an application for a citizen at the counter (臨櫃收件), at any office the item's
    cross-district rule allows: the answers are checked in full, the case opens and is received by
    that office at once. The citizen (identified by ID card) follows it online if he has a login."""
    if not staff_scope(actor).acts_for(receiving_office.pk):
        raise PermissionDenied("you file applications only at your own office")
    if not item.is_active:
        raise InvalidInput("this item is not in the catalog", details={"field": "item"})
    form = current_form(item)
    if form is None:
        raise InvalidInput("this item has no form yet", details={"field": "item"})
    received_by, handled_by = route(item, person, receiving_office)
    data = _merge_answers(None, form, answers)
    # Files are checked before anything is written; their references are set when they are stored.
    checked = _check_files(form.schema, files or {})
    provided = {c.field: "attachment:0" for c in checked}
    errors = form_schema.validate(form.schema, {**data, **provided})
    if errors:
        raise FormInvalid("some answers are missing or not valid", details={"fields": errors})
    application = Application.objects.create(
        number=_new_number(), item=item, form=form, applicant=person.user, applicant_person=person,
        applicant_name=person.name[:60], data=data, receiving_office=received_by, handling_office=handled_by,
        is_cross_district=received_by.pk != handled_by.pk or _is_outside_home(received_by, person), fee=item.fee,
    )  # fmt: skip
    if checked:
        application.data.update(_store_files(application, checked, supplement=False))
    # The citizen hears of it once, when the office has received it (the next step).
    _open_case(application, actor=actor, action="filed_at_counter", previous="", notify=False)
    return application_transition(actor=actor, application=application, action="receive")


def _acts_on(actor: User, application: Application, *, handling_only: bool) -> bool:
    scope = staff_scope(actor)
    if scope.acts_for(application.handling_office_id):
        return True
    return not handling_only and scope.acts_for(application.receiving_office_id)


@transaction.atomic
def application_transition(
    *, actor: User | None, application: Application, action: str, reason: str = ""
) -> Application:
    """A staff step of the workflow. The receiving office may receive a case it took in; every other
    step is the handling office's. Refused steps raise a conflict and change nothing."""
    if action not in STAFF_ACTIONS:
        raise InvalidInput(f"unknown action {action!r}", details={"actions": sorted(STAFF_ACTIONS)})
    reason = (reason or "").strip()
    if action in REASON_REQUIRED and not reason:
        raise InvalidInput("a reason is required", details={"field": "reason"})
    application = _lock(application)
    if application.state == State.DRAFT:
        raise NotFound("application not found")
    if actor is not None and not _acts_on(actor, application, handling_only=action != "receive"):
        if _acts_on(actor, application, handling_only=False):
            raise PermissionDenied("only the handling office decides this case")
        raise NotFound("application not found")
    target, sources = STAFF_ACTIONS[action]
    if application.state not in sources:
        raise ApplicationStateConflict(
            f"application {application.number} is {application.state}; it cannot be {action.replace('_', ' ')}d",
            details={"state": application.state, "action": action},
        )
    if action == "approve" and application.fee and application.fee_paid_at is None:
        raise ApplicationStateConflict("the fee is not paid yet", code="fee_unpaid")
    previous = application.state
    application.state = target
    fields = ["state", "updated_at"]
    today = timezone.localdate()
    if action == "request_supplement":
        remaining = (
            working_days.working_days_between(today, application.due_date) if application.due_date else 0
        )
        application.paused_working_days = max(remaining, 1)
        application.supplement_request = reason
        fields += ["paused_working_days", "supplement_request"]
    if action in ("approve", "reject"):
        application.decided_at = timezone.now()
        application.decision_reason = reason
        fields += ["decided_at", "decision_reason"]
    if action == "reject":
        _cancel_unpaid_order(actor, application, reason)
        fields.append("payment_order")
    if actor is not None and application.assigned_to_id is None and action != "receive":
        if staff_scope(actor).acts_for(application.handling_office_id):
            application.assigned_to = actor
            fields.append("assigned_to")
    application.save(update_fields=fields)
    _record(application, actor=actor, action=action, previous=previous, note=reason)
    return application


def _cancel_unpaid_order(actor, application: Application, reason: str) -> None:
    order = application.payment_order
    if order is not None and order.state in (PaymentOrder.State.CREATED, PaymentOrder.State.PENDING):
        application.payment_order = payments.payment_order_cancel(
            actor=actor, order=order, reason=reason or "withdrawn"
        )


@transaction.atomic
def application_supplement(
    *, actor: User, application: Application, answers: dict, files: dict[str, UploadedFile] | None = None, note: str = ""
) -> Application:  # fmt: skip
    """The applicant answers a supplement request: changed answers and new files (the old files are
    kept), checked in full; the case goes back to review and the clock restarts where it stopped."""
    files = files or {}
    application = _lock(application)
    if application.applicant_id != actor.pk:
        raise NotFound("application not found")
    if application.state != State.SUPPLEMENT_REQUESTED:
        raise ApplicationStateConflict("no supplement was requested", details={"state": application.state})
    schema = application.form.schema
    data = {**application.data, **_merge_answers(None, application.form, answers)}
    checked = _check_files(schema, files)
    provisional = {**data, **{c.field: "attachment:new" for c in checked}}
    errors = form_schema.validate(schema, provisional)
    if errors:
        raise FormInvalid("some answers are missing or not valid", details={"fields": errors})
    if not checked and data == application.data and not note.strip():
        raise InvalidInput("change an answer, attach a file or write a note", details={"field": "note"})
    data.update(_store_files(application, checked, supplement=True))
    previous = application.state
    application.data = data
    application.state = State.IN_REVIEW
    application.due_date = working_days.add_working_days(
        timezone.localdate(), application.paused_working_days or 1
    )
    application.paused_working_days = None
    application.save(update_fields=["data", "state", "due_date", "paused_working_days", "updated_at"])
    _record(application, actor=actor, action="supplemented", previous=previous, note=note.strip(),
            data={"files": [c.field for c in checked], "due_date": application.due_date.isoformat()})  # fmt: skip
    for clerk in _office_staff(application.handling_office_id, assigned=application.assigned_to_id):
        _notify(recipient=clerk, subject=f"案件 {application.number} 已補正 Supplement received",
                          body=f"{application.applicant_name} 已補正 {application.item.name}。",
                          url=f"/eservices/staff/{application.number}/")  # fmt: skip
    return application


@transaction.atomic
def application_withdraw(*, actor: User, application: Application, reason: str = "") -> Application:
    application = _lock(application)
    if application.applicant_id != actor.pk:
        raise NotFound("application not found")
    if application.state not in WITHDRAWABLE:
        raise ApplicationStateConflict(f"application {application.number} is {application.state}; "
                                       "it can no longer be withdrawn", details={"state": application.state})  # fmt: skip
    previous = application.state
    application.state = State.WITHDRAWN
    _cancel_unpaid_order(actor, application, reason or "withdrawn by the applicant")
    application.save(update_fields=["state", "payment_order", "updated_at"])
    _record(
        application, actor=actor, action="withdrawn", previous=previous, note=reason.strip(), notify=False
    )
    return application


def _office_staff(office_id: int, *, assigned: int | None = None, roles=None) -> list[User]:
    if assigned is not None:
        return list(User.objects.filter(pk=assigned, is_active=True))
    users = User.objects.filter(staff_roles__agency_id=office_id, is_active=True)
    if roles:
        users = users.filter(staff_roles__role__in=roles)
    return list(users.distinct())


@transaction.atomic
def application_assign(*, actor: User, application: Application, assignee: User | None) -> Application:
    application = _lock(application)
    scope = staff_scope(actor)
    if not scope.acts_for(application.handling_office_id):
        raise NotFound("application not found")
    if application.state not in OPEN_STATES + (State.APPROVED,):
        raise ApplicationStateConflict("a closed case is not assigned", details={"state": application.state})
    if assignee is not None:
        if not StaffRole.objects.filter(user=assignee, agency_id=application.handling_office_id).exists():
            raise InvalidInput(
                "the assignee does not work at the handling office", details={"field": "assignee"}
            )
        if assignee.pk != actor.pk and not scope.has_role(*ITEM_MANAGERS):
            raise PermissionDenied("only a supervisor assigns cases to others")
    application.assigned_to = assignee
    application.save(update_fields=["assigned_to", "updated_at"])
    audit_record(actor=actor, action="eservices.application.assigned", obj=application,
                 agency=application.handling_office,
                 data={"number": application.number, "assignee": assignee.get_username() if assignee else ""})  # fmt: skip
    return application


@dataclass(frozen=True)
class BulkResult:
    done: list[str]
    refused: dict[str, str]


def applications_bulk(*, actor: User, numbers: list[str], action: str, assignee: User | None = None,
                      reason: str = "") -> BulkResult:  # fmt: skip
    """Apply one action to many cases; each case is its own transaction, so one refusal does not
    undo the others, and every refusal is reported with its reason."""
    from .selectors import access_application_for_staff

    done, refused = [], {}
    for number in dict.fromkeys(numbers):
        try:
            application = access_application_for_staff(actor, number)
            if action == "assign":
                application_assign(actor=actor, application=application, assignee=assignee)
            else:
                application_transition(actor=actor, application=application, action=action, reason=reason)
            done.append(number)
        except (NotFound, PermissionDenied, InvalidInput, ApplicationStateConflict) as exc:
            refused[number] = exc.message
    return BulkResult(done, refused)


# --- fees and kiosk -----------------------------------------------------------------------------


def handle_order_paid(order: PaymentOrder) -> None:
    """payments calls this inside the settlement's transaction; it never refuses (money arrived)."""
    application = (
        Application.objects.select_for_update(of=("self",)).select_related("handling_office", "item", "applicant")
        .filter(pk=int(order.source_id)).first() if order.source_id.isdigit() else None
    )  # fmt: skip
    if application is None:
        audit_record(actor=None, action="eservices.application.payment_unmatched", object_type="eservices.application",
                     object_id=order.source_id, agency=order.payee_agency, data={"order": order.number})  # fmt: skip
        return
    application.fee_paid_at = order.paid_at or timezone.now()
    application.save(update_fields=["fee_paid_at", "updated_at"])
    _record(application, actor=None, action="fee_paid", previous=application.state,
            note=f"NT${order.paid_amount:,} ({order.get_channel_display()})",
            data={"order": order.number, "channel": order.channel})  # fmt: skip


def kiosk_lookup(code: str) -> Application:
    code = (code or "").strip().upper()
    if len(code) != 8 or any(ch not in PICKUP_ALPHABET for ch in code):
        raise InvalidInput("a pickup code is 8 letters and digits", details={"field": "code"})
    application = (
        Application.objects.select_related("item", "handling_office", "receiving_office", "payment_order")
        .filter(pickup_code=code).exclude(state__in=[State.DRAFT, State.WITHDRAWN]).first()
    )  # fmt: skip
    if application is None:
        raise NotFound("no application has this pickup code")
    return application


def kiosk_pay(*, api_key: ApiKey | None, code: str, amount: int, store_reference: str) -> Application:
    """A convenience-store kiosk collected the fee: settle the application's payment order through
    payments (channel convenience_store). Idempotent on the store's reference."""
    if not store_reference.strip():
        raise InvalidInput(
            "the store's transaction reference is required", details={"field": "store_reference"}
        )
    application = kiosk_lookup(code)
    order = application.payment_order
    if order is None:
        raise ApplicationStateConflict("this application has no fee to pay", code="nothing_to_pay")
    payments.payment_order_settle(
        actor=None, order_number=order.number, channel=PaymentOrder.Channel.CONVENIENCE_STORE, amount=amount,
        external_reference=f"kiosk:{api_key.prefix if api_key else ''}:{store_reference.strip()}"[:120],
    )  # fmt: skip
    return Application.objects.select_related(
        "item", "handling_office", "receiving_office", "payment_order"
    ).get(pk=application.pk)


# --- deadlines ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadlineRun:
    reminded: int
    escalated: int


def applications_check_deadlines(*, today: datetime.date | None = None, batch_size: int = 500) -> DeadlineRun:
    """Remind the handling office of open cases due within two working days, and escalate cases past
    their deadline to the office's supervisors. Idempotent: each case is reminded and escalated once.
    Cases waiting for a supplement are paused and left alone."""
    today = today or timezone.localdate()
    horizon = working_days.add_working_days(today, REMIND_WORKING_DAYS)
    active = (State.SUBMITTED, State.RECEIVED, State.IN_REVIEW)
    reminded = escalated = 0
    for kind in ("remind", "escalate"):
        while True:
            with transaction.atomic():
                rows = Application.objects.select_for_update(of=("self",)).filter(state__in=active)
                if kind == "remind":
                    rows = rows.filter(reminded_at__isnull=True, due_date__gte=today, due_date__lte=horizon)
                else:
                    rows = rows.filter(escalated_at__isnull=True, due_date__lt=today)
                batch = list(rows.select_related("item", "handling_office").order_by("id")[:batch_size])
                if not batch:
                    break
                now = timezone.now()
                for application in batch:
                    if kind == "remind":
                        recipients = _office_staff(
                            application.handling_office_id, assigned=application.assigned_to_id
                        )
                        subject = (
                            f"案件 {application.number} 將於 {application.due_date:%Y-%m-%d} 到期 Due soon"
                        )
                        application.reminded_at = now
                        reminded += 1
                    else:
                        recipients = _office_staff(application.handling_office_id, roles=ITEM_MANAGERS)
                        subject = f"案件 {application.number} 已逾處理期限 Overdue case escalated"
                        application.escalated_at = now
                        escalated += 1
                    for user in recipients:
                        _notify(recipient=user, subject=subject, body=application.item.name,
                                          url=f"/eservices/staff/{application.number}/", send_email=False)  # fmt: skip
                    application.save(update_fields=["reminded_at" if kind == "remind" else "escalated_at"])
                    audit_record(actor=None, action=f"eservices.application.{'reminded' if kind == 'remind' else 'escalated'}",
                                 obj=application, agency=application.handling_office,
                                 data={"due_date": application.due_date.isoformat(), "recipients": len(recipients)})  # fmt: skip
    return DeadlineRun(reminded, escalated)
