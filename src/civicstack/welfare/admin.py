"""Welfare in the staff console: the catalog and rule versions, read-only and scoped to the agencies
the staff member acts for. Rules are edited on the rule editor page (/welfare/staff/), which
validates them and adds dated versions through the same service as the API."""

from django.contrib import admin

from civicstack.core import selectors as core_selectors
from civicstack.core.admin import ScopedAdmin, console

from .models import Benefit, BenefitRule


@admin.register(Benefit, site=console)
class BenefitAdmin(ScopedAdmin):
    list_display = ["code", "name", "agency", "category", "amount_text", "eservices_item_code", "is_active"]
    list_filter = ["category", "is_active"]
    search_fields = ["code", "name"]
    list_select_related = ["agency"]
    readonly_fields = [f.name for f in Benefit._meta.fields]

    def get_queryset(self, request):
        return core_selectors.scope_by_agency(super().get_queryset(request), request.user)


@admin.register(BenefitRule, site=console)
class BenefitRuleAdmin(ScopedAdmin):
    list_display = ["benefit", "effective_from", "note", "created_by", "created_at"]
    search_fields = ["benefit__code", "benefit__name"]
    list_select_related = ["benefit", "created_by"]
    readonly_fields = [f.name for f in BenefitRule._meta.fields]

    def get_queryset(self, request):
        return core_selectors.scope_by_agency(
            super().get_queryset(request), request.user, field="benefit__agency"
        )
