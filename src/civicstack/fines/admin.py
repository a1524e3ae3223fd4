"""Fines in the staff console: the item catalog (edited through the services, so the audit trail
is the same as the API's) and the cases, read-only, scoped to the agencies the user acts for."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from civicstack.core import selectors as core_selectors
from civicstack.core.admin import ScopedAdmin, console

from . import services
from .models import BusinessItem, FineCase


class ScopedByAgency(ScopedAdmin):
    def get_queryset(self, request):
        return core_selectors.scope_by_agency(super().get_queryset(request), request.user)


class BusinessItemForm(forms.ModelForm):
    request = None  # set by BusinessItemAdmin.get_form

    class Meta:
        model = BusinessItem
        fields = ["agency", "code", "name", "kind", "statute", "article", "default_amount", "min_amount",
                  "max_amount", "is_active"]  # fmt: skip

    def clean_agency(self):
        agency = self.cleaned_data["agency"]
        scope = core_selectors.staff_scope(self.request.user)
        if not (self.request.user.is_superuser or scope.acts_for(agency.pk)):
            raise ValidationError(_("You may manage the items of your own agency only."))
        return agency


@admin.register(BusinessItem, site=console)
class BusinessItemAdmin(ScopedByAgency):
    list_display = ["code", "name", "agency", "kind", "statute", "article", "default_amount", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["code", "name", "statute"]
    list_select_related = ["agency"]
    raw_id_fields = ["agency"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = type("BusinessItemFormForRequest", (BusinessItemForm,), {"request": request})
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return ["agency", "code", "kind"] if obj is not None else []

    def can_change(self, request, obj):
        scope = core_selectors.staff_scope(request.user)
        if not scope.has_role(*services.ITEM_MANAGERS):
            return False
        return obj is None or scope.acts_for(obj.agency_id)

    def save_model(self, request, obj, form, change):
        data = {
            name: form.cleaned_data[name]
            for name in form.changed_data
            if name in services.ITEM_EDITABLE_FIELDS
        }
        if change:
            services.item_update(actor=request.user, item=obj, **data)
        else:
            obj.pk = services.item_create(
                actor=request.user, **{k: form.cleaned_data[k] for k in BusinessItemForm.Meta.fields}
            ).pk


@admin.register(FineCase, site=console)
class FineCaseAdmin(ScopedByAgency):
    """Read-only here: cases are issued and changed on the fines pages and the API, through services."""

    list_display = ["number", "agency", "item", "payer_name", "amount", "due_date", "state", "created_at"]
    list_filter = ["state", "kind", "payer_kind"]
    search_fields = ["number", "payer_company_ban"]
    list_select_related = ["agency", "item"]
    show_full_result_count = False
    exclude = ["payer_lookup_digest"]
    readonly_fields = [f.name for f in FineCase._meta.fields if f.name != "payer_lookup_digest"]
