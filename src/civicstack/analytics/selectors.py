"""Reads of the analytics module: who sees which rows (the warehouse viewer of a user or of an
API key's agency), dashboards and charts visible to a user, chart and dataset results (cached),
and the sources with their loads."""

import datetime
import hashlib
import json

from django.core.cache import cache
from django.db.models import Max, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from civicstack.core.errors import NotFound
from civicstack.core.models import Agency, District, StaffRole, User
from civicstack.core.selectors import staff_scope

from . import catalog, warehouse
from .definitions import COLUMN_LABELS
from .errors import QueryFailed
from .models import Chart, CuratedDataset, Dashboard, Load, Source

CACHE_SECONDS = 600
RESULT_LIMIT = 10_000


# --- who sees which rows ------------------------------------------------------------------------


def viewer_for_user(user: User | None) -> warehouse.Viewer:
    """Staff see their districts' rows (all, for citywide agencies) and restricted tables of the
    agencies they act for; everyone else sees public figures only."""
    scope = staff_scope(user) if user is not None else None
    if scope is None or not scope.is_staff:
        return warehouse.PUBLIC
    if scope.all_agencies:
        return warehouse.Viewer(all_districts=True, agency_codes=None, label="city")
    agency_codes = frozenset(Agency.objects.filter(id__in=scope.agency_ids).values_list("code", flat=True))
    if scope.all_districts:
        return warehouse.Viewer(all_districts=True, agency_codes=agency_codes, label="citywide agency")
    codes = frozenset(District.objects.filter(id__in=scope.district_ids).values_list("code", flat=True))
    return warehouse.Viewer(
        all_districts=False, district_codes=codes, agency_codes=agency_codes, label="district"
    )


def viewer_for_agency(agency: Agency) -> warehouse.Viewer:
    """An inter-agency API key reads as its agency: a district office sees its district."""
    if agency.kind == Agency.Kind.CITY_GOVERNMENT:
        return warehouse.Viewer(all_districts=True, agency_codes=None, label="city")
    if agency.district_id:
        return warehouse.Viewer(all_districts=False, district_codes=frozenset({agency.district.code}),
                                agency_codes=frozenset({agency.code}), label="district")  # fmt: skip
    return warehouse.Viewer(
        all_districts=True, agency_codes=frozenset({agency.code}), label="citywide agency"
    )


# --- the engine ---------------------------------------------------------------------------------


def table_specs() -> list[warehouse.TableSpec]:
    """Every source's table and its rollups, with who may read them."""
    specs = []
    for source in Source.objects.select_related("agency"):
        for name, schema in [(source.table, source.schema)] + [
            (rollup["table"], rollup["schema"]) for rollup in catalog.ROLLUPS.get(source.code, [])
        ]:
            specs.append(warehouse.TableSpec(name=name, columns=[(c["name"], c["type"]) for c in schema],
                                             owner_agency=source.agency.code, restricted=source.restricted_to_agency))  # fmt: skip
    return specs


def warehouse_tables() -> set[str]:
    tables = set()
    for code, table in Source.objects.values_list("code", "table"):
        tables |= {table, *(rollup["table"] for rollup in catalog.ROLLUPS.get(code, []))}
    return tables


def district_rows() -> list[tuple[str, str, str, int]]:
    from civicstack.core.city_profile import profile_path, read_profile

    try:
        population = {
            row["code"]: row.get("population_approx", 0) for row in read_profile(profile_path())["districts"]
        }
    except (OSError, KeyError, ValueError):
        population = {}
    return [(code, zh, en, population.get(code, 0))
            for code, zh, en in District.objects.values_list("code", "name_zh", "name_en")]  # fmt: skip


def district_choices() -> list[tuple[str, str]]:
    return list(District.objects.order_by("code").values_list("code", "name_zh"))


def connection_for(viewer: warehouse.Viewer):
    return warehouse.connect(table_specs(), district_rows(), viewer)


def warehouse_version() -> int:
    """Changes whenever a load adds rows, so cached results of older data are not served."""
    latest = Load.objects.filter(rows_loaded__gt=0).order_by("-id").values_list("id", flat=True).first()
    return latest or 0


# --- dashboards and charts ----------------------------------------------------------------------

CHART_EDITORS = (StaffRole.Role.SUPERVISOR, StaffRole.Role.AGENCY_ADMIN, StaffRole.Role.CITY_ADMIN)


def may_edit_charts_of(user: User | None, agency_id: int) -> bool:
    """Supervisors and administrators acting for a dashboard's agency change its charts."""
    if user is None:
        return False
    scope = staff_scope(user)
    return scope.acts_for(agency_id) and scope.has_role(*CHART_EDITORS)


def may_edit_charts(user: User | None) -> bool:
    return user is not None and staff_scope(user).has_role(*CHART_EDITORS)


def dashboards_editable_by(user: User) -> QuerySet[Dashboard]:
    scope = staff_scope(user)
    if not scope.has_role(*CHART_EDITORS):
        return Dashboard.objects.none()
    dashboards = Dashboard.objects.select_related("agency")
    return dashboards if scope.all_agencies else dashboards.filter(agency_id__in=scope.agency_ids)


def agencies_for_dashboards(user: User) -> QuerySet[Agency]:
    """The agencies a user may create dashboards for."""
    scope = staff_scope(user)
    if not scope.has_role(*CHART_EDITORS):
        return Agency.objects.none()
    return Agency.objects.all() if scope.all_agencies else Agency.objects.filter(id__in=scope.agency_ids)


def dashboard_slug_taken(slug: str) -> bool:
    return Dashboard.objects.filter(slug=slug).exists()


def access_editable_dashboard_by_slug(user: User, slug: str) -> Dashboard:
    dashboard = dashboards_editable_by(user).filter(slug=slug).first()
    if dashboard is None:
        raise NotFound(_("No such dashboard."))
    return dashboard


def access_editable_chart_by_id(user: User, chart_id: int) -> Chart:
    chart = Chart.objects.select_related("dashboard__agency").filter(
        id=chart_id, dashboard__in=dashboards_editable_by(user)).first()  # fmt: skip
    if chart is None:
        raise NotFound(_("No such chart."))
    return chart


def dashboards_visible_to(user: User | None) -> QuerySet[Dashboard]:
    dashboards = Dashboard.objects.select_related("agency")
    if user is not None and staff_scope(user).is_staff:
        return dashboards
    return dashboards.filter(is_public=True)


def access_dashboard_by_slug(user: User | None, slug: str) -> Dashboard:
    dashboard = dashboards_visible_to(user).filter(slug=slug).first()
    if dashboard is None:
        raise NotFound(_("No such dashboard."))
    return dashboard


def charts_visible_to(user: User | None, dashboard: Dashboard) -> list[Chart]:
    charts = list(dashboard.charts.all())
    if user is not None and staff_scope(user).is_staff:
        return charts
    return [chart for chart in charts if chart.is_public]


def access_chart_by_id(user: User | None, chart_id: int) -> Chart:
    chart = Chart.objects.select_related("dashboard").filter(id=chart_id).first()
    if chart is None or chart not in charts_visible_to(user, chart.dashboard) or (
        not chart.dashboard.is_public and not (user is not None and staff_scope(user).is_staff)
    ):  # fmt: skip
        raise NotFound(_("No such chart."))
    return chart


def filters_of(declared: list[str], *, date_from=None, date_to=None, district: str = "") -> dict:
    """The parameter values a query receives: the last 30 days and all districts by default."""
    today = timezone.localdate()
    values = {
        "date_to": date_to or today,
        "date_from": date_from or (date_to or today) - datetime.timedelta(days=29),
        "district": district or "",
    }
    return {name: values[name] for name in declared}


def _cache_key(kind: str, object_id: int, stamp, viewer: warehouse.Viewer, parameters: dict) -> str:
    payload = json.dumps([kind, object_id, str(stamp), viewer.cache_key, warehouse_version(),
                          sorted((k, str(v)) for k, v in parameters.items())])  # fmt: skip
    return "analytics:" + hashlib.sha256(payload.encode()).hexdigest()


def query_result(sql: str, parameters: dict, viewer: warehouse.Viewer, *, cache_key: str | None) -> dict:
    """Rows of a validated query for a viewer, from the cache when the same question was asked of
    the same data; ``computed_at`` tells the page how fresh the figures are."""
    if cache_key:
        cached = cache.get(cache_key)
        if cached is not None:
            return {**cached, "cached": True}
    connection = connection_for(viewer)
    try:
        # Checked again at run time (it was checked on save): the views are the only way to rows.
        warehouse.check_sql(
            sql, allowed_tables=warehouse_tables(), declared=list(parameters), parser=connection
        )
        result = warehouse.run(connection, sql, parameters, limit=RESULT_LIMIT)
    except warehouse.QueryRefused as error:
        raise QueryFailed(_("The query failed: %(error)s") % {"error": error}) from error
    finally:
        connection.close()
    answer = {"columns": result.columns, "rows": result.rows, "computed_at": timezone.now().isoformat(),
              "cached": False}  # fmt: skip
    if cache_key:
        cache.set(cache_key, answer, CACHE_SECONDS)
    return answer


def column_labels(spec: dict, columns: list[str]) -> dict[str, str]:
    """Each result column's heading in the current language: the chart's own label from its
    spec, else the shipped glossary's, else the column's name."""
    own = spec.get("labels") or {}
    return {name: str(own.get(name) or COLUMN_LABELS.get(name) or name) for name in columns}


def chart_data(chart: Chart, viewer: warehouse.Viewer, parameters: dict) -> dict:
    key = _cache_key("chart", chart.pk, chart.updated_at, viewer, parameters)
    answer = query_result(chart.sql, parameters, viewer, cache_key=key)
    return {**answer, "labels": column_labels(chart.spec, answer["columns"])}  # not cached: per language


def dataset_rows(dataset: CuratedDataset, viewer: warehouse.Viewer, parameters: dict) -> dict:
    declared = sorted(warehouse.parameters_used(dataset.sql))
    values = {name: parameters[name] for name in declared}
    key = _cache_key("dataset", dataset.pk, dataset.sql, viewer, values)
    return query_result(dataset.sql, values, viewer, cache_key=key)


def datasets() -> QuerySet[CuratedDataset]:
    return CuratedDataset.objects.select_related("agency")


def access_dataset_by_code(code: str) -> CuratedDataset:
    dataset = datasets().filter(code=code).first()
    if dataset is None:
        raise NotFound(_("No such dataset."))
    return dataset


# --- sources ------------------------------------------------------------------------------------


def sources() -> QuerySet[Source]:
    return Source.objects.select_related("agency")


def access_source_by_code(code: str) -> Source:
    source = sources().filter(code=code).first()
    if source is None:
        raise NotFound(_("No such source."))
    return source


def latest_loads() -> dict[int, Load]:
    """Each source's most recent load, in two queries."""
    last_ids = Load.objects.values("source_id").annotate(last=Max("id")).values_list("last", flat=True)
    return {load.source_id: load for load in Load.objects.filter(id__in=list(last_ids))}


def loads_of(source: Source) -> QuerySet[Load]:
    return source.loads.all()
