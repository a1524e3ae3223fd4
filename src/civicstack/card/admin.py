"""The citizen card in the staff console. Cards and applications are read-only here and scoped to
the card desk's reach (they change on the card desk pages and the API, through the services);
partners and experience events are added through the services, so the audit trail is the same.
People appear as their ``str`` (name and masked ID): the whole number is never shown."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from civicstack.core import selectors as core_selectors
from civicstack.core.admin import ScopedAdmin, console

from . import selectors, services
from .models import Card, CardApplication, CardFunction, CardPartner, ExperienceEvent


def _is_card_desk(request) -> bool:
    return request.user.is_superuser or selectors.is_card_desk(request.user)


@admin.register(Card, site=console)
class CardAdmin(ScopedAdmin):
    """Read-only: lifecycle actions are on the card desk page linked from each row."""

    list_display = ["number", "kind", "person", "district", "state", "expires_on", "issued_at", "desk_link"]
    list_filter = ["state", "kind", "channel"]
    search_fields = ["number"]
    list_select_related = ["person", "district"]
    show_full_result_count = False
    fields = [
        "number", "kind", "person", "state", "district", "channel", "companion_for", "partner", "replaces",
        "application", "event", "einvoice_carrier", "issued_at", "expires_on", "blocked_at", "cancel_reason",
        "desk_link",
    ]  # fmt: skip
    readonly_fields = fields

    def get_queryset(self, request):
        return selectors.cards_visible_to(request.user)

    @admin.display(description=_("Card desk page"))
    def desk_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("card:staff_card", args=[obj.number]), _("Open"))


@admin.register(CardApplication, site=console)
class CardApplicationAdmin(ScopedAdmin):
    """Read-only: applications are reviewed on the card desk's queue, where the photo is shown to
    desk staff only (never from a public media URL, so the photo field is left out here)."""

    list_display = ["number", "kind", "reason", "person", "channel", "state", "created_at", "desk_link"]
    list_filter = ["state", "kind", "reason", "channel"]
    search_fields = ["number"]
    list_select_related = ["person"]
    show_full_result_count = False
    fields = [
        "number", "person", "kind", "reason", "channel", "state", "companion_for", "partner", "mobile_number",
        "replaces", "event", "receiving_agency", "fee_order", "reviewed_by", "reviewed_at", "decision_note",
        "created_at", "desk_link",
    ]  # fmt: skip
    readonly_fields = fields

    def get_queryset(self, request):
        if not _is_card_desk(request):
            return CardApplication.objects.none()
        return selectors.applications_visible_to(request.user)

    @admin.display(description=_("Card desk page"))
    def desk_link(self, obj):
        return format_html(
            '<a href="{}">{}</a>', reverse("card:staff_application", args=[obj.number]), _("Review")
        )


@admin.register(CardFunction, site=console)
class CardFunctionAdmin(ScopedAdmin):
    """Read-only: the functions come from the shipped registry (registry.json), reloaded on every
    migrate, so an edit here would be overwritten."""

    list_display = ["code", "name_zh", "name_en", "category", "provider", "requires_enrolment", "is_active"]
    list_filter = ["category", "requires_enrolment", "issued_per_organisation", "is_active"]
    search_fields = ["code", "name_zh", "name_en"]
    list_select_related = ["provider_agency", "provider_partner"]
    readonly_fields = [
        "code", "name_zh", "name_en", "category", "description", "card_kinds", "provider_agency", "provider_partner",
        "requires_enrolment", "issued_per_organisation", "reference_label", "available_from", "sort_order",
        "is_active",
    ]  # fmt: skip
    fields = readonly_fields

    @admin.display(description=_("provider"))
    def provider(self, obj):
        return obj.provider_name()


@admin.register(CardPartner, site=console)
class CardPartnerAdmin(ScopedAdmin):
    list_display = ["code", "name", "kind", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["code", "name"]
    fields = ["code", "name", "kind"]

    def get_readonly_fields(self, request, obj=None):
        return ["code"] if obj is not None else []

    def can_change(self, request, obj):
        return selectors.is_card_desk(request.user)

    def save_model(self, request, obj, form, change):
        obj.pk = services.partner_create(
            actor=request.user,
            code=obj.code,
            name=form.cleaned_data["name"],
            kind=form.cleaned_data["kind"],
        ).pk


class ExperienceEventForm(forms.ModelForm):
    request = None  # set by ExperienceEventAdmin.get_form

    class Meta:
        model = ExperienceEvent
        fields = ["title", "venue", "district", "address", "starts_on", "ends_on", "organiser", "capacity",
                  "description"]  # fmt: skip

    def clean_organiser(self):
        organiser = self.cleaned_data["organiser"]
        scope = core_selectors.staff_scope(self.request.user)
        if not (self.request.user.is_superuser or scope.acts_for(organiser.pk)):
            raise ValidationError(_("You may organise events for your own agency only."))
        return organiser


@admin.register(ExperienceEvent, site=console)
class ExperienceEventAdmin(ScopedAdmin):
    """Events are added here through the service; sign-ups, visits and walk-ins are recorded on the
    card desk's event page. An event's details do not change once created (no service does that)."""

    list_display = ["title", "venue", "district", "starts_on", "ends_on", "organiser", "desk_link"]
    list_filter = ["district"]
    search_fields = ["title", "venue"]
    list_select_related = ["district", "organiser"]
    raw_id_fields = ["organiser"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = type("ExperienceEventFormForRequest", (ExperienceEventForm,), {"request": request})
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return ExperienceEventForm.Meta.fields if obj is not None else []

    def can_change(self, request, obj):
        # Adding only: whoever organises for an agency (checked on the form) or the card desk.
        return obj is None and core_selectors.staff_scope(request.user).is_staff

    def save_model(self, request, obj, form, change):
        if change:
            return
        data = form.cleaned_data
        obj.pk = services.event_create(
            actor=request.user, title=data["title"], venue=data["venue"], district=data["district"],
            starts_on=data["starts_on"], ends_on=data["ends_on"], organiser=data["organiser"],
            address=data["address"], capacity=data["capacity"], description=data["description"],
        ).pk  # fmt: skip

    @admin.display(description=_("Card desk page"))
    def desk_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("card:staff_event", args=[obj.pk]), _("Open"))
