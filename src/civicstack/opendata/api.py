"""The open data module in the platform API (``/api/v1/opendata/``), described in
``/api/openapi.json``: the quality report, usage per agency, and the catalog of datastore
resources with their own OpenAPI documents. The CKAN-compatible Action API lives at
``/api/3/action/<name>`` (ckan_api.py): CKAN clients expect that path and envelope."""

import datetime

from django.db.models import Sum
from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.pagination import paginate
from pydantic import Field

from civicstack.core.api_support import ERROR_RESPONSES, Pagination

from . import quality, selectors
from .models import Resource, UsageMonthly

router = Router(tags=["opendata"])


class AgencyQualityOut(Schema):
    agency_id: int
    agency_name: str
    datasets: int
    three_stars_or_more: int
    share_three_stars: float
    stale: int = Field(description="public datasets older than their declared update frequency allows")


@router.get("/quality", response={200: list[AgencyQualityOut]}, summary="Openness (5-star) report per agency")
def quality_report(request: HttpRequest):
    return [
        AgencyQualityOut(
            agency_id=row.agency_id,
            agency_name=row.agency_name,
            datasets=row.datasets,
            three_stars_or_more=row.three_stars_or_more,
            share_three_stars=round(row.share_three_stars, 4),
            stale=row.stale,
        )  # fmt: skip
        for row in quality.agency_quality_report()
    ]


class UsageFilter(Schema):
    month_from: datetime.date | None = None
    month_to: datetime.date | None = None


class AgencyUsageOut(Schema):
    agency_code: str
    agency_name: str
    month: datetime.date
    views: int
    downloads: int
    api_calls: int


@router.get(
    "/usage", response={200: list[AgencyUsageOut], **ERROR_RESPONSES}, summary="Usage per agency and month"
)
def usage_report(request: HttpRequest, filters: Query[UsageFilter]):
    rows = UsageMonthly.objects.filter(dataset__state="public")
    if filters.month_from:
        rows = rows.filter(month__gte=filters.month_from)
    if filters.month_to:
        rows = rows.filter(month__lte=filters.month_to)
    rows = (
        rows.values("dataset__agency__code", "dataset__agency__name_zh", "month")
        .annotate(views=Sum("views"), downloads=Sum("downloads"), api_calls=Sum("api_calls"))
        .order_by("-month", "dataset__agency__code")
    )
    return [
        AgencyUsageOut(
            agency_code=row["dataset__agency__code"],
            agency_name=row["dataset__agency__name_zh"],
            month=row["month"],
            views=row["views"],
            downloads=row["downloads"],
            api_calls=row["api_calls"],
        )  # fmt: skip
        for row in rows
    ]


class DatastoreResourceOut(Schema):
    id: str
    name: str
    dataset_name: str
    rows: int
    openapi_url: str


@router.get("/datastore-resources", response={200: list[DatastoreResourceOut]},
            summary="Datastore tables, each with its own OpenAPI document")  # fmt: skip
@paginate(Pagination)
def datastore_resources(request: HttpRequest):
    public = selectors.datasets_visible_to(None)
    resources = (
        Resource.objects.filter(dataset__in=public, datastore_active=True)
        .select_related("dataset").order_by("dataset__name", "position")
    )  # fmt: skip
    return [
        DatastoreResourceOut(
            id=str(r.id),
            name=r.name,
            dataset_name=r.dataset.name,
            rows=r.datastore_row_count,
            openapi_url=f"/opendata/resource/{r.id}/openapi.json",
        )  # fmt: skip
        for r in resources
    ]
