"""Analytics API: dashboards and chart data (public ones without login), chart definitions,
sources and their loads, and the curated datasets other agencies read with an API key carrying
the ``analytics.datasets:read`` scope, within a daily quota. Thin: parse, call, shape."""

import datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import Field, model_validator

from civicstack.core.api_support import (
    ERROR_RESPONSES,
    USER_AUTH,
    USER_OR_PARTNER_AUTH,
    ErrorOut,
    Pagination,
    require_scope,
    require_staff,
)  # fmt: skip
from civicstack.core.errors import PermissionDenied

from . import selectors, services
from .models import Chart, Dashboard, Load, Source

router = Router(tags=["analytics"])
RESPONSES = {**ERROR_RESPONSES, 429: ErrorOut}
MAX_RANGE_DAYS = 3 * 366


def _anyone(request: HttpRequest):
    """Last in the list: lets anonymous visitors through to public figures."""
    return "anonymous"


OPTIONAL_USER_AUTH = [*USER_AUTH, _anyone]


def _user(request: HttpRequest):
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


class Filters(Schema):
    date_from: datetime.date | None = Field(None, description="first day (default: 29 days before date_to)")
    date_to: datetime.date | None = Field(None, description="last day (default: today)")
    district: str = Field("", pattern=r"^(\d{8})?$", description="district code; empty for all")

    @model_validator(mode="after")
    def _sane_range(self):
        if self.date_from and self.date_to:
            if self.date_from > self.date_to:
                raise ValueError("date_from is after date_to")
            if (self.date_to - self.date_from).days > MAX_RANGE_DAYS:
                raise ValueError(f"at most {MAX_RANGE_DAYS} days at a time")
        return self

    def values(self, declared: list[str]) -> dict:
        return selectors.filters_of(
            declared, date_from=self.date_from, date_to=self.date_to, district=self.district
        )


class ChartDataOut(Schema):
    columns: list[str]
    labels: dict[str, str] = Field(description="each column's heading in the request's language")
    rows: list[list[Any]]
    computed_at: datetime.datetime
    cached: bool


class ChartOut(Schema):
    id: int
    slug: str
    title: str
    spec: dict
    parameters: list[str]
    tables: list[str]
    is_public: bool

    @staticmethod
    def of(chart: Chart) -> "ChartOut":
        return ChartOut(id=chart.pk, slug=chart.slug, title=chart.title, spec=chart.spec, parameters=chart.parameters,
                        tables=chart.tables, is_public=chart.is_public)  # fmt: skip


class ChartWithDataOut(ChartOut):
    data: ChartDataOut


class DashboardOut(Schema):
    slug: str
    title: str
    topic: str
    description: str
    method: str
    agency_code: str
    is_public: bool

    @staticmethod
    def of(dashboard: Dashboard) -> "DashboardOut":
        return DashboardOut(slug=dashboard.slug, title=dashboard.title, topic=dashboard.topic,
                            description=dashboard.description, method=dashboard.method,
                            agency_code=dashboard.agency.code, is_public=dashboard.is_public)  # fmt: skip


class DashboardDetailOut(DashboardOut):
    charts: list[ChartWithDataOut]


@router.get("/dashboards", response={200: list[DashboardOut], **RESPONSES}, auth=OPTIONAL_USER_AUTH)
def dashboard_list(request: HttpRequest):
    return [DashboardOut.of(d) for d in selectors.dashboards_visible_to(_user(request))]


@router.get("/dashboards/{slug}", response={200: DashboardDetailOut, **RESPONSES}, auth=OPTIONAL_USER_AUTH)
def dashboard_detail(request: HttpRequest, slug: str, filters: Query[Filters]):
    """Every chart's rows for the filters, as the caller may see them (row-level security)."""
    user = _user(request)
    dashboard = selectors.access_dashboard_by_slug(user, slug)
    viewer = selectors.viewer_for_user(user)
    charts = [
        ChartWithDataOut(**ChartOut.of(chart).dict(), data=selectors.chart_data(chart, viewer, filters.values(chart.parameters)))
        for chart in selectors.charts_visible_to(user, dashboard)
    ]  # fmt: skip
    return DashboardDetailOut(**DashboardOut.of(dashboard).dict(), charts=charts)


@router.get("/charts/{chart_id}/data", response={200: ChartDataOut, **RESPONSES}, auth=OPTIONAL_USER_AUTH)
def chart_data(request: HttpRequest, chart_id: int, filters: Query[Filters]):
    user = _user(request)
    chart = selectors.access_chart_by_id(user, chart_id)
    return selectors.chart_data(chart, selectors.viewer_for_user(user), filters.values(chart.parameters))


class ChartIn(Schema):
    slug: str = Field(pattern=r"^[a-z0-9-]{1,60}$")
    title: str = Field(min_length=1, max_length=160)
    sql: str = Field(min_length=1, max_length=20_000)
    parameters: list[str] = Field(default_factory=list, max_length=3)
    spec: dict = Field(
        description='{"type": "line|bar|map|table", "x": column, "y": [columns], "series"?: column, '
        '"labels"?: {column: heading}}'
    )
    is_public: bool = False
    position: int = Field(100, ge=0, le=10_000)


@router.post("/dashboards/{slug}/charts", response={201: ChartOut, **RESPONSES}, auth=USER_AUTH)
def chart_save(request: HttpRequest, slug: str, payload: ChartIn):
    """Add or replace a chart; refused with ``chart_invalid`` unless its SQL is one SELECT over
    warehouse tables with declared parameters, binds, and its spec names result columns."""
    require_staff(request)
    dashboard = selectors.access_dashboard_by_slug(request.user, slug)
    chart = services.chart_save(actor=request.user, dashboard=dashboard, **payload.dict())
    return Status(201, ChartOut.of(chart))


# --- sources --------------------------------------------------------------------------------------


class SourceOut(Schema):
    code: str
    name: str
    kind: str
    table: str
    schema_: list[dict] = Field(alias="schema")
    natural_key: list[str]
    every_minutes: int
    agency_code: str
    restricted_to_agency: bool
    next_load_at: datetime.datetime | None

    @staticmethod
    def of(source: Source) -> "SourceOut":
        return SourceOut(code=source.code, name=source.name, kind=source.kind, table=source.table,
                         schema=source.schema, natural_key=source.natural_key, every_minutes=source.every_minutes, agency_code=source.agency.code,
                         restricted_to_agency=source.restricted_to_agency, next_load_at=source.next_load_at)  # fmt: skip


class LoadOut(Schema):
    id: int
    source: str
    started_at: datetime.datetime
    duration_ms: int
    status: str
    origin: str
    rows_in: int
    rows_loaded: int
    rows_rejected: int
    duplicates_skipped: int
    rejected_by_reason: dict
    rejected_samples: list
    drift: dict
    quality: dict
    error: str

    @staticmethod
    def of(load: Load) -> "LoadOut":
        return LoadOut(id=load.pk, source=load.source.code, **{name: getattr(load, name) for name in (
            "started_at", "duration_ms", "status", "origin", "rows_in", "rows_loaded", "rows_rejected",
            "duplicates_skipped", "rejected_by_reason", "rejected_samples", "drift", "quality", "error")})  # fmt: skip


@router.get("/sources", response={200: list[SourceOut], **RESPONSES}, auth=USER_AUTH)
def source_list(request: HttpRequest):
    require_staff(request)
    return [SourceOut.of(source) for source in selectors.sources()]


@router.get("/sources/{code}/loads", response={200: list[LoadOut], **RESPONSES}, auth=USER_AUTH)
@paginate(Pagination)
def load_list(request: HttpRequest, code: str):
    require_staff(request)
    source = selectors.access_source_by_code(code)
    return [LoadOut.of(load) for load in selectors.loads_of(source).select_related("source")[:1000]]


@router.post("/sources/{code}/load", response={200: list[LoadOut], **RESPONSES}, auth=USER_AUTH)
def source_load(request: HttpRequest, code: str):
    """Run the source's connector now (what the scheduler does when the source is due)."""
    scope = require_staff(request)
    source = selectors.access_source_by_code(code)
    if not scope.acts_for(source.agency_id):
        raise PermissionDenied(_("Only the source's agency may load it."))
    return [LoadOut.of(load) for load in services.source_load(actor=request.user, source=source)]


# --- curated datasets for other agencies -------------------------------------------------------


class DatasetOut(Schema):
    code: str
    title: str
    description: str
    agency_code: str
    tables: list[str]
    is_open_data: bool
    url: str


class DatasetRowsOut(Schema):
    code: str
    columns: list[str]
    rows: list[list[Any]]
    computed_at: datetime.datetime
    quota: dict | None = Field(None, description="{limit, used} today, for API-key callers")


def _dataset_out(dataset) -> DatasetOut:
    return DatasetOut(code=dataset.code, title=dataset.title, description=dataset.description,
                      agency_code=dataset.agency.code, tables=dataset.tables, is_open_data=dataset.is_open_data,
                      url=f"/api/v1/analytics/datasets/{dataset.code}")  # fmt: skip


@router.get("/datasets", response={200: list[DatasetOut], **RESPONSES}, auth=USER_OR_PARTNER_AUTH)
def dataset_list(request: HttpRequest):
    if getattr(request, "api_key", None) is not None:
        require_scope(request, services.DATASETS_SCOPE)
    else:
        require_staff(request)
    return [_dataset_out(dataset) for dataset in selectors.datasets()]


@router.get("/datasets/{code}", response={200: DatasetRowsOut, **RESPONSES}, auth=USER_OR_PARTNER_AUTH)
def dataset_rows(request: HttpRequest, code: str, filters: Query[Filters]):
    """Rows of a curated dataset as the caller's agency may see them (a district office: its
    district). API keys need the ``analytics.datasets:read`` scope; each request counts against
    the key's daily quota (429 ``quota_exceeded`` beyond it)."""
    api_key = getattr(request, "api_key", None)
    quota = None
    if api_key is not None:
        require_scope(request, services.DATASETS_SCOPE)
        dataset = selectors.access_dataset_by_code(code)
        used, limit = services.quota_consume(api_key=api_key)
        quota = {"limit": limit, "used": used}
        viewer = selectors.viewer_for_agency(api_key.agency)
    else:
        require_staff(request)
        dataset = selectors.access_dataset_by_code(code)
        viewer = selectors.viewer_for_user(request.user)
    result = selectors.dataset_rows(dataset, viewer, filters.values(["date_from", "date_to", "district"]))
    return DatasetRowsOut(code=dataset.code, columns=result["columns"], rows=result["rows"],
                          computed_at=result["computed_at"], quota=quota)  # fmt: skip


class PublishedOut(Schema):
    code: str
    opendata_name: str


@router.post("/datasets/{code}/publish", response={200: PublishedOut, **RESPONSES}, auth=USER_AUTH)
def dataset_publish(request: HttpRequest, code: str):
    """Publish the dataset on the open data platform as a CSV resource refreshed daily."""
    require_staff(request)
    dataset = selectors.access_dataset_by_code(code)
    services.dataset_publish(actor=request.user, dataset=dataset)
    return PublishedOut(code=dataset.code, opendata_name=dataset.opendata_name)
