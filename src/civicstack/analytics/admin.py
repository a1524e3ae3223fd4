"""Staff console screens: sources (schedule and connector options editable by the owner agency),
loads (read-only history), dashboards, charts and curated datasets (read-only here: charts are
saved through the API so their SQL is validated), and API key quotas (key administrators)."""

from django.contrib import admin

from civicstack.core.admin import ScopedAdmin, console
from civicstack.core.selectors import staff_scope

from . import services
from .models import ApiKeyQuota, Chart, CuratedDataset, Dashboard, Load, Source


@admin.register(Source, site=console)
class SourceAdmin(ScopedAdmin):
    list_display = (
        "code",
        "name",
        "kind",
        "table",
        "every_minutes",
        "agency",
        "restricted_to_agency",
        "next_load_at",
    )
    list_filter = ("kind", "restricted_to_agency")
    fields = (
        "code",
        "name",
        "kind",
        "table",
        "natural_key",
        "agency",
        "every_minutes",
        "options",
        "description",
    )
    readonly_fields = ("code", "name", "kind", "table", "natural_key", "agency")

    def can_change(self, request, obj) -> bool:
        return obj is not None and staff_scope(request.user).acts_for(obj.agency_id)


@admin.register(Load, site=console)
class LoadAdmin(ScopedAdmin):
    list_display = (
        "source",
        "started_at",
        "status",
        "rows_in",
        "rows_loaded",
        "rows_rejected",
        "duration_ms",
    )
    list_filter = ("status", "source")
    readonly_fields = [field.name for field in Load._meta.fields]


@admin.register(Dashboard, site=console)
class DashboardAdmin(ScopedAdmin):
    list_display = ("title", "topic", "agency", "is_public")


@admin.register(Chart, site=console)
class ChartAdmin(ScopedAdmin):
    list_display = ("title", "dashboard", "is_public", "tables")
    list_filter = ("dashboard",)


@admin.register(CuratedDataset, site=console)
class CuratedDatasetAdmin(ScopedAdmin):
    list_display = ("code", "title", "agency", "is_open_data", "opendata_name")


@admin.register(ApiKeyQuota, site=console)
class ApiKeyQuotaAdmin(ScopedAdmin):
    list_display = ("api_key", "daily_limit")
    fields = ("api_key", "daily_limit")

    def can_change(self, request, obj) -> bool:
        scope = staff_scope(request.user)
        return (
            obj is None
            and scope.is_staff
            or obj is not None
            and scope.can_manage_staff_of(obj.api_key.agency_id)
        )

    def save_model(self, request, obj, form, change):
        services.quota_set(actor=request.user, api_key=obj.api_key, daily_limit=obj.daily_limit)
