"""Writes of the analytics module: installing sources, dashboards and datasets; loading sources
into the warehouse; saving validated charts; counting API quota; publishing to open data."""

import datetime
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from civicstack.core.errors import PermissionDenied
from civicstack.core.models import Agency, ApiKey, District, User
from civicstack.core.selectors import staff_scope
from civicstack.core.services import audit_record

from . import catalog, connectors, definitions, loader, selectors, warehouse
from .errors import ChartInvalid, QuotaExceeded
from .models import (
    DEFAULT_DAILY_QUOTA,
    ApiKeyQuota,
    ApiKeyUsage,
    Chart,
    CuratedDataset,
    Dashboard,
    Load,
    Source,
)

DATASETS_SCOPE = "analytics.datasets:read"
CHART_TYPES = {choice for choice, _label in Chart.Type.choices}


def _agency_named(name_en: str) -> Agency:
    agency = Agency.objects.filter(name_en=name_en).first()
    return agency or Agency.objects.get(kind=Agency.Kind.CITY_GOVERNMENT)


def _require_chart_editor(actor: User | None, *agency_ids: int) -> None:
    """Charts and dashboards are changed by supervisors and administrators acting for the
    dashboard's agency (selectors.may_edit_charts_of); ``None`` is the installer."""
    if actor is not None and not all(
        selectors.may_edit_charts_of(actor, agency_id) for agency_id in agency_ids
    ):
        raise PermissionDenied(
            _("Only supervisors and administrators of the dashboard's agency may change its charts.")
        )


def _require_analyst(actor: User | None) -> None:
    if actor is not None and not staff_scope(actor).is_staff:
        raise PermissionDenied(_("Staff only."))


# --- sources and loads --------------------------------------------------------------------------


@transaction.atomic
def sources_install(*, actor: User | None) -> list[Source]:
    """Create or refresh the shipped sources; a source's cursor and schedule survive."""
    installed = []
    for entry in catalog.SOURCES:
        defaults = {
            "name": str(entry["name"]), "kind": entry["kind"], "table": entry["table"], "schema": entry["schema"],
            "agency": _agency_named(entry["agency"]), "restricted_to_agency": entry.get("restricted", False),
            "description": str(entry.get("description", "")), "natural_key": entry.get("key", []),
        }  # fmt: skip
        source, created = Source.objects.get_or_create(
            code=entry["code"],
            defaults={**defaults, "every_minutes": entry["every_minutes"], "options": entry.get("options", {})},
        )  # fmt: skip
        if not created:
            for field, value in defaults.items():
                setattr(source, field, value)
            source.save(update_fields=list(defaults))
        installed.append(source)
    audit_record(actor=actor, action="analytics.sources_installed", object_type="analytics.source",
                 data={"sources": [s.code for s in installed]})  # fmt: skip
    return installed


def source_load(*, actor: User | None, source: Source, now: datetime.datetime | None = None) -> list[Load]:
    """Run a source's connector once: every pending batch is typed, checked and appended, each
    with its Load row (rows in, kept, rejected by reason, duplicates skipped, drift, quality).
    The source row is locked for the run, so two loaders never append the same batch.

    Publication is atomic for readers: the parts are written pending and renamed into place on
    commit, and a dropped file moves to done/ only then. A rolled-back run leaves nothing visible
    and its files in the drop folder; its pending parts are swept by the source's next load."""
    _require_analyst(actor)
    now = now or timezone.now()
    district_codes = list(District.objects.values_list("code", flat=True))
    loads = []
    rollups = catalog.ROLLUPS.get(source.code, [])
    with tempfile.TemporaryDirectory(prefix="analytics-load-") as work, transaction.atomic():
        locked = Source.objects.select_for_update().get(pk=source.pk)
        tables = [locked.table, *(rollup["table"] for rollup in rollups)]
        left = {path.name.removesuffix(warehouse.PENDING_SUFFIX) for table in tables
                for path in warehouse.pending_parts(table)}  # fmt: skip
        if left:
            committed = set(locked.loads.filter(parquet_file__in=left).values_list("parquet_file", flat=True))
            warehouse.sweep_pending(tables, committed)
        started = time.monotonic()
        try:
            batches = list(connectors.batches(locked, Path(work)))
        except connectors.ConnectorFailed as error:
            loads.append(_failed_load(locked, now, started, str(error)))
            batches = []
        written: list[Path] = []
        finished: list[connectors.RawBatch] = []
        for batch in batches:
            batch_started = time.monotonic()
            try:
                outcome = loader.load_batch(
                    batch.path, table=locked.table, schema=locked.schema, key=locked.natural_key,
                    district_codes=district_codes, now=now, rollups=rollups,
                    pending_files=[warehouse.pending_path(path) for path in written if path.parent.name == locked.table],
                )  # fmt: skip
            except Exception as error:  # noqa: BLE001 -- DuckDB raises many kinds; the load records any
                loads.append(_failed_load(locked, now, batch_started, f"{batch.origin}: {error}"))
                continue
            written += outcome.parts
            status = Load.Status.EMPTY if not outcome.rows_in else (
                Load.Status.PARTIAL if outcome.rows_rejected else Load.Status.OK)  # fmt: skip
            loads.append(Load.objects.create(
                source=locked, started_at=now, duration_ms=int((time.monotonic() - batch_started) * 1000),
                status=status, origin=batch.origin[:255], rows_in=outcome.rows_in, rows_loaded=outcome.rows_loaded,
                rows_rejected=outcome.rows_rejected, rejected_by_reason=outcome.rejected_by_reason,
                duplicates_skipped=outcome.duplicates_skipped, rejected_samples=outcome.rejected_samples,
                drift=outcome.drift, quality=outcome.quality, parquet_file=outcome.part,
            ))  # fmt: skip
            if batch.new_cursor is not None:
                locked.cursor = batch.new_cursor
            finished.append(batch)
        locked.next_load_at = now + datetime.timedelta(minutes=locked.every_minutes)
        locked.save(update_fields=["cursor", "next_load_at"])
        audit_record(
            actor=actor, action="analytics.source_loaded", obj=locked, agency=locked.agency,
            data={"loads": [load.pk for load in loads], "rows_loaded": sum(load.rows_loaded for load in loads),
                  "rows_rejected": sum(load.rows_rejected for load in loads),
                  "duplicates_skipped": sum(load.duplicates_skipped for load in loads)},
        )  # fmt: skip
        transaction.on_commit(lambda: _publish(written, finished))
    source.cursor, source.next_load_at = locked.cursor, locked.next_load_at
    return loads


def _publish(parts: list[Path], batches: list) -> None:
    """After the commit: the parts appear to readers, then the dropped files move to done/."""
    warehouse.publish_pending(parts)
    for batch in batches:
        connectors.finish(batch)


def _failed_load(source: Source, now, started: float, error: str) -> Load:
    return Load.objects.create(source=source, started_at=now, status=Load.Status.FAILED, error=error[:2000],
                               duration_ms=int((time.monotonic() - started) * 1000))  # fmt: skip


def sources_load_due(*, actor: User | None, now: datetime.datetime | None = None) -> list[Load]:
    now = now or timezone.now()
    due = Source.objects.filter(next_load_at__isnull=True) | Source.objects.filter(next_load_at__lte=now)
    loads = []
    for source in due.order_by("code"):
        loads += source_load(actor=actor, source=source, now=now)
    return loads


# --- charts and dashboards ----------------------------------------------------------------------


class QueryChecker:
    """Checks chart and dataset SQL against the warehouse tables' columns (no rows): one SELECT,
    allowed tables only, declared parameters, and it binds. Reusable for many checks in a row."""

    def __init__(self):
        self.tables = selectors.warehouse_tables()
        specs = [
            warehouse.TableSpec(name=spec.name, columns=spec.columns) for spec in selectors.table_specs()
        ]
        self.connection = warehouse.connect(specs, [], warehouse.EVERYONE, empty=True)

    def check(self, sql: str, parameters: list[str]) -> tuple[list[str], list[str]]:
        """Returns (tables read, result columns)."""
        if not isinstance(parameters, list) or not all(isinstance(name, str) for name in parameters):
            raise ChartInvalid(_("Parameters must be a list of names."), details={"parameters": parameters})
        try:
            tables = warehouse.check_sql(
                sql, allowed_tables=self.tables, declared=parameters, parser=self.connection
            )
        except warehouse.QueryRefused as error:
            raise ChartInvalid(_("The SQL is not allowed: %(error)s") % {"error": error},
                               details={"sql": str(error)}) from error  # fmt: skip
        try:
            result = warehouse.run(self.connection, f"SELECT * FROM ({sql}) AS checked LIMIT 0",  # noqa: S608 -- checked above
                                   warehouse.sample_parameters(parameters))  # fmt: skip
        except warehouse.QueryRefused as error:
            raise ChartInvalid(_("The SQL does not run: %(error)s") % {"error": error},
                               details={"sql": str(error)}) from error  # fmt: skip
        return tables, result.columns


def validate_spec(spec: dict, columns: list[str]) -> None:
    problems = {}
    if not isinstance(spec, dict):
        raise ChartInvalid(_("The chart spec must be an object."), details={"spec": spec})
    if spec.get("type") not in CHART_TYPES:
        problems["type"] = _("Unknown chart type; use one of %(types)s.") % {
            "types": ", ".join(sorted(CHART_TYPES))
        }
    y = spec.get("y")
    if not isinstance(y, list) or not y:
        problems["y"] = _("Name at least one value column.")
    named = (
        [spec.get("x")]
        + (y if isinstance(y, list) else [])
        + [spec[k] for k in ("series", "label") if spec.get(k)]
    )
    labels = spec.get("labels", {})
    if not isinstance(labels, dict) or not all(
        isinstance(v, str) and 0 < len(v) <= 80 for v in labels.values()
    ):
        problems["labels"] = _("Labels map a column to its heading (text of 1 to 80 characters).")
    elif unlabelled := [name for name in labels if name not in columns]:
        problems["labels"] = _("Headings for columns not in the query's result: %(names)s") % {
            "names": ", ".join(map(str, unlabelled))
        }
    missing = [name for name in named if name not in columns]
    if missing:
        problems["columns"] = _("Columns not in the query's result: %(names)s") % {
            "names": ", ".join(map(str, missing))
        }
    if problems:
        raise ChartInvalid(_("The chart spec is not valid."), details=problems)


@transaction.atomic
def chart_save(*, actor: User | None, dashboard: Dashboard, slug: str, title: str, sql: str, spec: dict,
               parameters: list[str], is_public: bool = False, position: int = 100,
               checker: QueryChecker | None = None, chart: Chart | None = None) -> Chart:  # fmt: skip
    """Validate and save a chart: a new one, or the one with this slug on the dashboard, or
    ``chart`` itself (which may move to another dashboard and take another slug)."""
    _require_analyst(actor)
    _require_chart_editor(actor, dashboard.agency_id, *([chart.dashboard.agency_id] if chart else []))
    tables, columns = (checker or QueryChecker()).check(sql, parameters)
    validate_spec(spec, columns)
    fields = {"title": title, "sql": sql, "spec": spec, "parameters": parameters, "tables": tables,
              "is_public": is_public, "position": position}  # fmt: skip
    taken = Chart.objects.filter(dashboard=dashboard, slug=slug).exclude(pk=chart.pk if chart else None)
    if chart is None:
        chart, created = Chart.objects.update_or_create(dashboard=dashboard, slug=slug, defaults=fields)
    elif taken.exists():
        raise ChartInvalid(_("The dashboard already has a chart with this slug."), details={"slug": slug})
    else:
        created = False
        for name, value in {**fields, "dashboard": dashboard, "slug": slug}.items():
            setattr(chart, name, value)
        chart.save(update_fields=[*fields, "dashboard", "slug", "updated_at"])
    audit_record(actor=actor, action="analytics.chart_saved", obj=chart, agency=dashboard.agency,
                 data={"created": created, "tables": tables})  # fmt: skip
    return chart


def chart_preview(
    *, viewer: warehouse.Viewer, sql: str, spec: dict, parameters: list[str], values: dict
) -> dict:
    """What a chart would show the viewer, validated as ``chart_save`` validates it; saves nothing."""
    _tables, columns = QueryChecker().check(sql, parameters)
    validate_spec(spec, columns)
    return selectors.query_result(sql, {name: values[name] for name in parameters}, viewer, cache_key=None)


@transaction.atomic
def charts_arrange(*, actor: User | None, dashboard: Dashboard, positions: dict[int, int]) -> None:
    """Set the order of a dashboard's charts (chart id → position)."""
    _require_analyst(actor)
    _require_chart_editor(actor, dashboard.agency_id)
    charts = {chart.pk: chart for chart in dashboard.charts.filter(pk__in=list(positions))}
    for chart_id, position in positions.items():
        if chart_id in charts:
            charts[chart_id].position = position
    Chart.objects.bulk_update(list(charts.values()), ["position"])
    audit_record(actor=actor, action="analytics.charts_arranged", obj=dashboard, agency=dashboard.agency,
                 data={"positions": {str(k): v for k, v in positions.items() if k in charts}})  # fmt: skip


@transaction.atomic
def dashboard_save(*, actor: User | None, slug: str, title: str, topic: str, agency: Agency, description: str = "",
                   method: str = "", is_public: bool = False, position: int = 100) -> Dashboard:  # fmt: skip
    _require_analyst(actor)
    existing = Dashboard.objects.filter(slug=slug).values_list("agency_id", flat=True).first()
    _require_chart_editor(actor, agency.pk, *([existing] if existing else []))
    dashboard, created = Dashboard.objects.update_or_create(
        slug=slug, defaults={"title": title, "topic": topic, "agency": agency, "description": description,
                             "method": method, "is_public": is_public, "position": position},
    )  # fmt: skip
    audit_record(
        actor=actor,
        action="analytics.dashboard_saved",
        obj=dashboard,
        agency=agency,
        data={"created": created},
    )
    return dashboard


@transaction.atomic
def definitions_install(*, actor: User | None) -> dict:
    """The shipped dashboards and the 27 curated datasets (sources first: charts name their tables)."""
    if not Source.objects.exists():
        sources_install(actor=actor)
    checker = QueryChecker()
    for position, entry in enumerate(definitions.DASHBOARDS):
        dashboard = dashboard_save(
            actor=actor, slug=entry["slug"], title=str(entry["title"]), topic=str(entry["topic"]),
            agency=_agency_named(entry["agency"]), description=str(entry["description"]),
            method=str(entry["method"]), is_public=entry["public"], position=position,
        )  # fmt: skip
        for chart_position, item in enumerate(entry["charts"]):
            chart_save(actor=actor, dashboard=dashboard, slug=item["slug"], title=str(item["title"]), sql=item["sql"],
                       spec=item["spec"], parameters=item["parameters"], is_public=item["is_public"],
                       position=chart_position, checker=checker)  # fmt: skip
    for entry in definitions.DATASETS:
        dataset_save(actor=actor, code=entry["code"], title=str(entry["title"]), sql=entry["sql"],
                     agency=_agency_named(entry["agency"]), is_open_data=entry["open_data"], checker=checker)  # fmt: skip
    return {"dashboards": len(definitions.DASHBOARDS), "datasets": len(definitions.DATASETS)}


# --- curated datasets and their API quota -------------------------------------------------------


@transaction.atomic
def dataset_save(*, actor: User | None, code: str, title: str, sql: str, agency: Agency, description: str = "",
                 is_open_data: bool = False, checker: QueryChecker | None = None) -> CuratedDataset:  # fmt: skip
    _require_analyst(actor)
    declared = sorted(warehouse.parameters_used(sql))
    tables, _columns = (checker or QueryChecker()).check(sql, declared)
    dataset, created = CuratedDataset.objects.update_or_create(
        code=code, defaults={"title": title, "sql": sql, "tables": tables, "agency": agency,
                             "description": description, "is_open_data": is_open_data},
    )  # fmt: skip
    audit_record(
        actor=actor, action="analytics.dataset_saved", obj=dataset, agency=agency, data={"created": created}
    )
    return dataset


def quota_limit(api_key: ApiKey) -> int:
    quota = ApiKeyQuota.objects.filter(api_key=api_key).values_list("daily_limit", flat=True).first()
    return DEFAULT_DAILY_QUOTA if quota is None else quota


@transaction.atomic
def quota_set(*, actor: User | None, api_key: ApiKey, daily_limit: int) -> ApiKeyQuota:
    if actor is not None and not staff_scope(actor).can_manage_staff_of(api_key.agency_id):
        raise PermissionDenied(_("You may not change quotas of this agency's keys."))
    quota, _created = ApiKeyQuota.objects.update_or_create(
        api_key=api_key, defaults={"daily_limit": daily_limit}
    )
    audit_record(actor=actor, action="analytics.quota_set", obj=api_key, agency=api_key.agency,
                 data={"daily_limit": daily_limit})  # fmt: skip
    return quota


def quota_consume(*, api_key: ApiKey, today: datetime.date | None = None) -> tuple[int, int]:
    """Count one request of the key today; refuse it when the day's allowance is spent. Counted in
    Redis (INCR with a two-day expiry) when REDIS_URL is set, else in the database with F()."""
    today = today or timezone.localdate()
    limit = quota_limit(api_key)
    if getattr(settings, "REDIS_URL", None):
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        key = f"civicstack:analytics:quota:{api_key.prefix}:{today.isoformat()}"  # prefixes are random
        used = client.incr(key)
        if used == 1:
            client.expire(key, 2 * 24 * 3600)
    else:
        with transaction.atomic():
            ApiKeyUsage.objects.get_or_create(api_key=api_key, day=today)
            ApiKeyUsage.objects.filter(api_key=api_key, day=today).update(requests=F("requests") + 1)
            used = ApiKeyUsage.objects.get(api_key=api_key, day=today).requests
    if used > limit:
        raise QuotaExceeded(
            _("This API key has used its %(limit)s requests for today.") % {"limit": limit},
            details={"limit": limit, "used": used - 1, "resets": (today + datetime.timedelta(days=1)).isoformat()},
        )  # fmt: skip
    return used, limit


# --- open data ----------------------------------------------------------------------------------


def open_data_source_key(dataset: CuratedDataset) -> str:
    return f"analytics.{dataset.code}"


def dataset_csv(dataset: CuratedDataset) -> bytes:
    """The dataset as public CSV: the whole city, the past year, no restricted tables."""
    import csv
    import io

    today = timezone.localdate()
    parameters = {"date_from": today - datetime.timedelta(days=365), "date_to": today, "district": ""}
    result = selectors.dataset_rows(dataset, warehouse.PUBLIC, parameters)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(result["columns"])
    writer.writerows(result["rows"])
    return buffer.getvalue().encode("utf-8")


def dataset_publish(*, actor: User | None, dataset: CuratedDataset):
    """Create (or find) the open-data dataset with a CSV resource bound to this dataset, which
    the open data module refreshes daily through the registered internal source."""
    from civicstack.opendata import services as opendata
    from civicstack.opendata.models import Dataset

    if not dataset.is_open_data:
        raise PermissionDenied(_("This dataset is not marked as publishable."))
    with transaction.atomic():
        published = (
            Dataset.objects.filter(name=dataset.opendata_name).first() if dataset.opendata_name else None
        )
        if published is None:
            published = opendata.dataset_create(
                actor=actor, state=Dataset.State.PUBLIC,
                data=opendata.DatasetInput(title=dataset.title, agency=dataset.agency, name=f"analytics-{dataset.code}",
                                           notes=dataset.description or dataset.title, update_frequency="daily",
                                           tags=["analytics"]),
            )  # fmt: skip
            opendata.resource_from_internal(actor=actor, dataset=published, key=open_data_source_key(dataset),
                                            refresh_every_hours=24)  # fmt: skip
            CuratedDataset.objects.filter(pk=dataset.pk).update(opendata_name=published.name)
            dataset.opendata_name = published.name
            audit_record(actor=actor, action="analytics.dataset_published", obj=dataset, agency=dataset.agency,
                         data={"opendata": published.name})  # fmt: skip
    return published
