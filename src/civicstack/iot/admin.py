"""City sensors in the staff console: every staff member sees the registry (an emergency centre
needs the neighbouring district's river too); staff of the owner agency add and change stations
and their sensors, through the same services as everything else. Alert episodes and the
quarantine are read-only here."""

from django.contrib import admin

from civicstack.core.admin import ScopedAdmin, console
from civicstack.core.selectors import agencies_visible_to_staff, staff_scope

from . import services
from .models import AlertEpisode, QuarantinedReading, Sensor, Station


class SensorInline(admin.TabularInline):
    model = Sensor
    extra = 0
    can_delete = False
    fields = ["quantity", "unit", "valid_min", "valid_max", "warning_level", "alert_level", "hysteresis"]
    readonly_fields = fields  # changed on the sensor's own page, through sensor_configure

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Station, site=console)
class StationAdmin(ScopedAdmin):
    list_display = ["code", "name", "kind", "district", "agency", "active"]
    list_filter = ["kind", "active", "district"]
    search_fields = ["code", "name"]
    list_select_related = ["district", "agency"]
    fields = ["code", "name", "kind", "district", "agency", "latitude", "longitude", "active"]
    inlines = [SensorInline]

    def can_change(self, request, obj):
        scope = staff_scope(request.user)
        return scope.is_staff if obj is None else scope.acts_for(obj.agency_id)

    def get_readonly_fields(self, request, obj=None):
        return ["code"] if obj is not None else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "agency":
            kwargs["queryset"] = agencies_visible_to_staff(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in self.fields if name in form.cleaned_data}
        if change:
            changed = {name: data[name] for name in form.changed_data if name in services.STATION_FIELDS}
            saved = services.station_update(
                actor=request.user, station=Station.objects.get(pk=obj.pk), **changed
            )
        else:
            saved = services.station_register(actor=request.user, quantities=[], **data)
        obj.pk = saved.pk

    def save_related(self, request, form, formsets, change):
        form.save_m2m()  # the read-only sensor inline has nothing to save


@admin.register(Sensor, site=console)
class SensorAdmin(ScopedAdmin):
    list_display = ["station", "quantity", "unit", "valid_min", "valid_max", "warning_level", "alert_level"]
    search_fields = ["station__code", "station__name", "quantity"]
    list_select_related = ["station"]
    raw_id_fields = ["station"]
    fields = ["station", "quantity", *services.SENSOR_FIELDS]

    def can_change(self, request, obj):
        scope = staff_scope(request.user)
        return scope.is_staff if obj is None else scope.acts_for(obj.station.agency_id)

    def get_readonly_fields(self, request, obj=None):
        return ["station", "quantity"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        spec = {name: getattr(obj, name) for name in services.SENSOR_FIELDS}
        saved = services.sensor_configure(
            actor=request.user, station=obj.station, quantity=obj.quantity, **spec
        )
        obj.pk = saved.pk


@admin.register(AlertEpisode, site=console)
class AlertEpisodeAdmin(ScopedAdmin):
    list_display = ["sensor", "level", "threshold", "opened_at", "peak_value", "closed_at"]
    list_filter = ["level", ("closed_at", admin.EmptyFieldListFilter)]
    list_select_related = ["sensor__station"]
    search_fields = ["sensor__station__code", "sensor__station__name"]


@admin.register(QuarantinedReading, site=console)
class QuarantinedReadingAdmin(ScopedAdmin):
    list_display = ["received_at", "reason", "station_code", "quantity", "source", "detail"]
    list_filter = ["reason", "source"]
    search_fields = ["station_code"]
