"""The staff console: Django admin themed for the city and scoped by agency.

Rights come from StaffRoles, not from Django's per-user model permissions, so an agency's
records are editable only by that agency's staff (see selectors.staff_scope). Writes to people,
roles and keys go through services, so the console leaves the same audit trail as the API.
"""

import datetime

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext_lazy as _
from django_otp import devices_for_user

from . import identity, selectors, services
from .errors import ServiceError
from .models import (
    Agency,
    AgencyContact,
    ApiKey,
    AuditEvent,
    District,
    Notification,
    Person,
    StaffRole,
    Village,
)


class StaffConsole(admin.AdminSite):
    site_header = _("Civic Stack staff console")
    site_title = _("Staff console")
    index_title = _("Records you can act on")
    login_template = None

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        if not (user.is_active and user.is_authenticated):
            return False
        if not (selectors.staff_scope(user).is_staff or user.is_superuser):
            return False
        # Staff who enrolled a second factor must have used it in this session.
        enrolled = any(True for _ in devices_for_user(user, confirmed=True))
        return not enrolled or user.is_verified()

    def login(self, request, extra_context=None):
        """One login page for the whole site (with its TOTP step and throttling)."""
        next_url = request.GET.get("next") or reverse("admin:index")
        if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
            next_url = reverse("admin:index")
        if self.has_permission(request):
            return redirect(next_url)
        return redirect(f"{reverse('core:login')}?{urlencode({'next': next_url})}")


console = StaffConsole(name="admin")


class ScopedAdmin(admin.ModelAdmin):
    """Every staff member may view; who may change is decided per model by ``can_change``."""

    def has_module_permission(self, request):
        return self.admin_site.has_permission(request)

    def has_view_permission(self, request, obj=None):
        return self.admin_site.has_permission(request)

    def can_change(self, request, obj) -> bool:
        return False

    def has_change_permission(self, request, obj=None):
        return self.admin_site.has_permission(request) and self.can_change(request, obj)

    def has_add_permission(self, request):
        return self.has_change_permission(request, None)

    def has_delete_permission(self, request, obj=None):
        return False

    # Saves, deletions and actions go through services, which refuse with a ServiceError (a
    # broken rule, a conflict). The admin's own transaction is rolled back by then; the refusal is
    # shown on the page it came from instead of as a server error.
    def changeform_view(self, request, *args, **kwargs):
        return self._refusals_as_messages(request, super().changeform_view, *args, **kwargs)

    def changelist_view(self, request, *args, **kwargs):
        return self._refusals_as_messages(request, super().changelist_view, *args, **kwargs)

    def delete_view(self, request, *args, **kwargs):
        return self._refusals_as_messages(request, super().delete_view, *args, **kwargs)

    def _refusals_as_messages(self, request, view, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except ServiceError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


def _is_city_admin(request) -> bool:
    return request.user.is_superuser or selectors.staff_scope(request.user).has_role(
        StaffRole.Role.CITY_ADMIN
    )


class VillageInline(admin.TabularInline):
    model = Village
    extra = 0
    fields = ["code", "name_zh"]
    readonly_fields = ["code", "name_zh"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(District, site=console)
class DistrictAdmin(ScopedAdmin):
    list_display = ["code", "name_zh", "name_en", "postal_code", "indigenous_mountain"]
    search_fields = ["code", "name_zh", "name_en"]
    inlines = [VillageInline]

    def can_change(self, request, obj):
        return _is_city_admin(request)


class AgencyContactInline(admin.TabularInline):
    model = AgencyContact
    extra = 1
    fields = ["unit", "title", "name", "phone", "fax", "sort_order"]

    def has_change_permission(self, request, obj=None):
        return (
            obj is None or selectors.staff_scope(request.user).acts_for(obj.pk) or request.user.is_superuser
        )

    has_add_permission = has_change_permission
    has_delete_permission = has_change_permission


@admin.register(Agency, site=console)
class AgencyAdmin(ScopedAdmin):
    list_display = ["code", "name_zh", "name_en", "kind", "district", "phone"]
    list_filter = ["kind", "district"]
    search_fields = ["code", "name_zh", "name_en"]
    list_select_related = ["district"]
    raw_id_fields = ["parent"]
    inlines = [AgencyContactInline]

    def get_readonly_fields(self, request, obj=None):
        # Agency staff may keep their contact details current; the tree itself is the city's.
        return (
            []
            if _is_city_admin(request)
            else ["code", "name_zh", "name_en", "kind", "parent", "district", "is_active"]
        )

    def can_change(self, request, obj):
        if obj is None:
            return _is_city_admin(request)
        return request.user.is_superuser or selectors.staff_scope(request.user).acts_for(obj.pk)


class PersonAddForm(forms.ModelForm):
    identifier = forms.CharField(label=_("National ID or resident certificate number"), max_length=12)
    request = None  # set by PersonAdmin.get_form

    def clean_identifier(self):
        try:
            number, _kind = identity.validate(self.cleaned_data["identifier"])
        except identity.InvalidIdentifier as exc:
            raise ValidationError(_("Not a valid number: %(reason)s") % {"reason": exc}) from exc
        if Person.objects.filter(id_digest=selectors.person_digest(number)).exists():
            raise ValidationError(_("A person with this number is already registered."))
        return number

    def clean_district(self):
        district = self.cleaned_data["district"]
        scope = selectors.staff_scope(self.request.user)
        if not (scope.all_districts or district.pk in scope.district_ids):
            raise ValidationError(_("You may register residents of your own district only."))
        return district

    class Meta:
        model = Person
        fields = ["name", "birth_date", "sex", "district", "village", "address", "phone", "email",
                  "income_status", "disability_level", "indigenous", "registered_since"]  # fmt: skip


@admin.register(Person, site=console)
class PersonAdmin(ScopedAdmin):
    list_display = ["id_masked", "name", "sex", "birth_date", "district"]
    list_filter = ["district", "income_status", "disability_level", "indigenous"]
    search_fields = ["name"]
    list_select_related = ["district"]
    raw_id_fields = ["household", "user", "village"]
    readonly_fields = ["id_masked", "id_kind", "birth_date", "sex", "user", "created_at", "updated_at"]
    fields = [
        "id_masked", "id_kind", "name", "birth_date", "sex", "district", "village", "address", "registered_since",
        "household", "relationship", "phone", "email", "income_status", "disability_level", "indigenous",
        "deceased_on", "moved_out_on", "user", "created_at", "updated_at",
    ]  # fmt: skip
    show_full_result_count = False

    def get_queryset(self, request):
        people = selectors.people_visible_to(request.user)
        digest = getattr(request, "_person_digest", None)
        return people.filter(id_digest=digest) if digest else people

    def changelist_view(self, request, extra_context=None):
        # A whole identification number typed into the search box is swapped at once for its
        # keyed hash, so the number is not echoed in the page, its links or later URLs.
        term = request.GET.get("q", "").strip()
        if identity.identifier_kind(term):
            return redirect(f"{request.path}?{urlencode({'digest': selectors.person_digest(term)})}")
        if "digest" in request.GET:
            query = request.GET.copy()
            request._person_digest = query.pop("digest")[0]
            request.GET = query
        services.people_searched(
            actor=request.user,
            filters={k: ("<search>" if k == "q" else v) for k, v in request.GET.items()}
            | ({"identifier": "<digest>"} if getattr(request, "_person_digest", None) else {}),
            result_count=-1,
            channel="console",
        )
        return super().changelist_view(request, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = type("PersonAddFormForRequest", (PersonAddForm,), {"request": request})
            kwargs["fields"] = None
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["identifier", *PersonAddForm.Meta.fields]
        return self.fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def can_change(self, request, obj):
        scope = selectors.staff_scope(request.user)
        if obj is None:
            return scope.is_staff
        return scope.all_districts or obj.district_id in scope.district_ids

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            person = self.get_queryset(request).filter(pk=object_id).first()
            if person is not None:
                services.person_viewed(actor=request.user, person=person, channel="console")
        return super().change_view(request, object_id, form_url, extra_context)

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        # The forms have validated the number, duplicates and reach; the services write and audit.
        if change:
            changes = {
                name: form.cleaned_data[name]
                for name in form.changed_data
                if name in services.PERSON_EDITABLE_FIELDS
            }
            fresh = Person.objects.select_for_update().get(pk=obj.pk)
            services.person_update(actor=request.user, person=fresh, **changes)
        else:
            data = services.PersonInput(
                identifier=form.cleaned_data["identifier"],
                **{k: form.cleaned_data[k] for k in PersonAddForm.Meta.fields},
            )
            obj.pk = services.person_register(actor=request.user, data=data).pk


class ScopedByAgencyAdmin(ScopedAdmin):
    def get_queryset(self, request):
        return selectors.scope_by_agency(super().get_queryset(request), request.user)


@admin.register(StaffRole, site=console)
class StaffRoleAdmin(ScopedByAgencyAdmin):
    list_display = ["user", "agency", "role", "granted_by", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "agency__name_zh", "agency__code"]
    raw_id_fields = ["user", "agency"]
    fields = ["user", "agency", "role"]
    list_select_related = ["user", "agency", "granted_by"]

    def can_change(self, request, obj):
        scope = selectors.staff_scope(request.user)
        if obj is None:
            return scope.has_role(StaffRole.Role.CITY_ADMIN, StaffRole.Role.AGENCY_ADMIN)
        return scope.can_manage_staff_of(obj.agency_id)

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        scope = selectors.staff_scope(request.user)

        class StaffRoleForm(form):
            def clean(self):
                data = super().clean()
                agency, role = data.get("agency"), data.get("role")
                if agency is not None and not (
                    request.user.is_superuser or scope.can_manage_staff_of(agency.pk)
                ):
                    raise ValidationError(_("You may not manage the staff of this agency."))
                if role == StaffRole.Role.CITY_ADMIN and not scope.has_role(StaffRole.Role.CITY_ADMIN):
                    raise ValidationError(_("Only a city administrator may grant that role."))
                return data

        return StaffRoleForm

    def save_model(self, request, obj, form, change):
        if change:
            raise ServiceError("roles are granted or revoked, not edited")
        granted = services.staff_role_grant(
            actor=request.user, user=form.cleaned_data["user"], agency=form.cleaned_data["agency"],
            role=form.cleaned_data["role"],
        )  # fmt: skip
        obj.pk = granted.pk

    def delete_model(self, request, obj):
        services.staff_role_revoke(actor=request.user, staff_role=obj)

    def delete_queryset(self, request, queryset):
        for staff_role in queryset:
            services.staff_role_revoke(actor=request.user, staff_role=staff_role)


@admin.register(AuditEvent, site=console)
class AuditEventAdmin(ScopedAdmin):
    list_display = [
        "sequence",
        "created_at",
        "actor_username",
        "agency_code",
        "action",
        "object_type",
        "object_id",
    ]
    list_filter = ["action"]
    search_fields = ["actor_username", "object_id", "agency_code"]
    readonly_fields = [f.name for f in AuditEvent._meta.fields]
    show_full_result_count = False

    def get_queryset(self, request):
        return selectors.audit_events_visible_to(request.user)


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(label=_("Scopes"), widget=forms.CheckboxSelectMultiple)
    valid_days = forms.IntegerField(label=_("Valid for (days)"), min_value=1, max_value=730, initial=365)

    class Meta:
        model = ApiKey
        fields = ["name", "partner", "agency"]

    request = None  # set by ApiKeyAdmin.get_form

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scopes"].choices = sorted(services.API_KEY_SCOPES.items())

    def clean_agency(self):
        agency = self.cleaned_data["agency"]
        if not (
            self.request.user.is_superuser
            or selectors.staff_scope(self.request.user).can_manage_staff_of(agency.pk)
        ):
            raise ValidationError(_("You may not create keys for this agency."))
        return agency


@admin.register(ApiKey, site=console)
class ApiKeyAdmin(ScopedByAgencyAdmin):
    list_display = ["name", "partner", "agency", "prefix", "expires_at", "revoked_at", "last_used_at"]
    readonly_fields = [
        "prefix",
        "scopes",
        "created_by",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
    ]
    raw_id_fields = ["agency"]
    actions = ["revoke"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = type("ApiKeyFormForRequest", (ApiKeyForm,), {"request": request})
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "partner", "agency", "scopes", "valid_days"]
        return ["name", "partner", "agency", *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["name", "partner", "agency", *self.readonly_fields]

    def can_change(self, request, obj):
        scope = selectors.staff_scope(request.user)
        if obj is None:
            return scope.has_role(StaffRole.Role.CITY_ADMIN, StaffRole.Role.AGENCY_ADMIN)
        return scope.can_manage_staff_of(obj.agency_id)

    def save_model(self, request, obj, form, change):
        if change:
            return
        raw, key = services.api_key_create(
            actor=request.user, name=form.cleaned_data["name"], partner=form.cleaned_data["partner"],
            agency=form.cleaned_data["agency"], scopes=form.cleaned_data["scopes"],
            expires_at=timezone.now() + datetime.timedelta(days=form.cleaned_data["valid_days"]),
        )  # fmt: skip
        obj.pk = key.pk
        messages.warning(request, _("Copy the key now; it will not be shown again: %(key)s") % {"key": raw})

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request, queryset):
        for key in queryset:
            services.api_key_revoke(actor=request.user, key=key)


@admin.register(Notification, site=console)
class NotificationAdmin(ScopedAdmin):
    """Staff see their own inbox here."""

    list_display = ["subject", "created_at", "read_at"]
    readonly_fields = ["subject", "body", "url", "created_at", "read_at", "emailed_at"]
    fields = readonly_fields

    def get_queryset(self, request):
        return selectors.notifications_for(request.user)
