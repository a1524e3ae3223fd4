"""Online applications in the staff console: the catalog (read here; created through the services)
and the form versions — a supervisor of the item's agency adds a new version by pasting its JSON
Schema and layout, checked and versioned by the same service the API uses; published versions are
never edited. Applications are handled on the staff inbox pages, not here."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from civicstack.core import selectors as core_selectors
from civicstack.core.admin import ScopedAdmin, console
from civicstack.core.errors import ServiceError

from . import form_schema, services
from .models import FormDefinition, ServiceItem


@admin.register(ServiceItem, site=console)
class ServiceItemAdmin(ScopedAdmin):
    list_display = [
        "code",
        "name",
        "agency",
        "category",
        "fee",
        "time_limit_days",
        "cross_district",
        "channel",
        "is_active",
    ]
    list_filter = ["channel", "cross_district", "is_active"]
    search_fields = ["code", "name", "category"]
    list_select_related = ["agency"]
    readonly_fields = [f.name for f in ServiceItem._meta.fields if f.name != "search_tokens"]
    exclude = ["search_tokens"]

    def get_queryset(self, request):
        return core_selectors.scope_by_agency(super().get_queryset(request), request.user)


class FormDefinitionForm(forms.ModelForm):
    request = None  # set by FormDefinitionAdmin.get_form

    class Meta:
        model = FormDefinition
        fields = ["item", "schema", "layout", "is_published"]
        help_texts = {
            "schema": _(
                "JSON Schema (draft 2020-12) of the answers; see docs/eservices.md for the form format."
            ),
            "layout": _(
                '{"sections": [{"title": "...", "fields": [...]}], "prefill": {"field": "person.name"}}'
            ),
        }

    def clean(self):
        cleaned = super().clean()
        if "schema" in cleaned and "layout" in cleaned:
            try:
                form_schema.check_definition(cleaned["schema"], cleaned["layout"])
            except ServiceError as exc:
                details = f" {exc.details}" if exc.details else ""
                raise ValidationError(exc.message + details) from exc
        return cleaned


@admin.register(FormDefinition, site=console)
class FormDefinitionAdmin(ScopedAdmin):
    list_display = ["item", "version", "is_published", "published_at", "created_by"]
    list_filter = ["is_published"]
    search_fields = ["item__code", "item__name"]
    list_select_related = ["item", "created_by"]
    raw_id_fields = ["item"]

    def get_queryset(self, request):
        return core_selectors.scope_by_agency(
            super().get_queryset(request), request.user, field="item__agency"
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = type("FormDefinitionFormForRequest", (FormDefinitionForm,), {"request": request})
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return (
            ["item", "version", "schema", "layout", "is_published", "published_at", "created_by"]
            if obj
            else []
        )

    def can_change(self, request, obj):
        scope = core_selectors.staff_scope(request.user)
        return obj is None and scope.has_role(*services.ITEM_MANAGERS)

    def save_model(self, request, obj, form, change):
        try:
            created = services.form_definition_create(
                actor=request.user, item=form.cleaned_data["item"], schema=form.cleaned_data["schema"],
                layout=form.cleaned_data["layout"], publish=form.cleaned_data["is_published"],
            )  # fmt: skip
        except ServiceError as exc:
            raise ValidationError(exc.message) from exc
        obj.pk, obj.version = created.pk, created.version
