"""The staff console's read-only view of the catalog, scoped to the staff member's agencies;
groups (themes) are kept by city administrators. Publishing itself is on the /opendata/staff/
pages, which go through the services (permission checks, audit, nothing half-published)."""

from django.contrib import admin

from civicstack.core.admin import ScopedAdmin, _is_city_admin, console
from civicstack.core.selectors import scope_by_agency

from .models import Dataset, Group, ResourceUpdate
from .selectors import datasets_editable_by


@admin.register(Dataset, site=console)
class DatasetAdmin(ScopedAdmin):
    list_display = ["title", "agency", "state", "stars", "update_frequency", "metadata_modified"]
    list_filter = ["state", "update_frequency", "license", "category"]
    search_fields = ["title", "name"]

    def get_queryset(self, request):
        return scope_by_agency(super().get_queryset(request), request.user).select_related("agency")


@admin.register(ResourceUpdate, site=console)
class ResourceUpdateAdmin(ScopedAdmin):
    list_display = ["resource", "source", "succeeded", "row_count", "created_at"]
    list_filter = ["source", "succeeded"]

    def get_queryset(self, request):
        datasets = datasets_editable_by(request.user)
        return super().get_queryset(request).filter(resource__dataset__in=datasets).select_related("resource")


@admin.register(Group, site=console)
class GroupAdmin(ScopedAdmin):
    list_display = ["name", "title", "title_en"]

    def can_change(self, request, obj) -> bool:
        return _is_city_admin(request)
