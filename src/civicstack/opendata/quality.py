"""Openness and quality: Berners-Lee's five stars per resource, freshness against the declared
update frequency, and the per-agency report (share of public datasets at 3 stars or more).

Stars, cumulative as on 5stardata.info:
  1: on the web under an open licence (any format; PDF, scans)
  2: machine-readable structured data (XLSX: structured but in a proprietary format)
  3: a non-proprietary format (CSV, JSON, XML, ODS, GeoJSON, KML)
  4: URIs to denote things (RDF: Turtle, RDF/XML, JSON-LD)
  5: linked to other people's data (RDF that refers to URIs on other hosts)
A resource under a closed licence gets 0 whatever its format.
"""

import datetime
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.db.models import Count, Max, Q
from django.utils import timezone

from .models import OPEN_LICENSES, Dataset, Resource, UpdateFrequency

Format = Resource.Format
FORMAT_STARS = {
    Format.PDF: 1, Format.OTHER: 1, Format.XLSX: 2, Format.CSV: 3, Format.JSON: 3, Format.XML: 3,
    Format.ODS: 3, Format.GEOJSON: 3, Format.KML: 3, Format.RDF: 4,
}  # fmt: skip

# How old the newest data may be before a dataset counts as stale (a day's grace).
MAX_AGE = {
    UpdateFrequency.REALTIME: datetime.timedelta(days=1),
    UpdateFrequency.DAILY: datetime.timedelta(days=2),
    UpdateFrequency.WEEKLY: datetime.timedelta(days=8),
    UpdateFrequency.MONTHLY: datetime.timedelta(days=32),
    UpdateFrequency.QUARTERLY: datetime.timedelta(days=93),
    UpdateFrequency.YEARLY: datetime.timedelta(days=367),
}


def resource_stars(*, format: str, license: str, links_elsewhere: bool = False) -> int:
    if license not in OPEN_LICENSES:
        return 0
    stars = FORMAT_STARS.get(format, 1)
    if stars == 4 and links_elsewhere:
        stars = 5
    return stars


def rdf_links_elsewhere(content: bytes, format_hint: str = "") -> bool:
    """Whether an RDF file refers to URIs on a host other than its subjects' host (5th star)."""
    import rdflib

    graph = rdflib.Graph()
    for rdf_format in ([format_hint] if format_hint else []) + ["turtle", "xml", "json-ld"]:
        try:
            graph.parse(data=content, format=rdf_format)
            break
        except Exception:  # noqa: BLE001 - rdflib raises parser-specific errors; try the next syntax
            graph = rdflib.Graph()
    subject_hosts = {urlsplit(str(s)).netloc for s in graph.subjects() if isinstance(s, rdflib.URIRef)}
    for obj in graph.objects():
        if isinstance(obj, rdflib.URIRef):
            host = urlsplit(str(obj)).netloc
            if host and host not in subject_hosts and "w3.org" not in host and "purl.org" not in host:
                return True
    return False


def is_stale(
    *, update_frequency: str, last_updated: datetime.datetime, now: datetime.datetime | None = None
) -> bool:
    limit = MAX_AGE.get(update_frequency)
    if limit is None:  # irregular: never stale by the calendar
        return False
    return (now or timezone.now()) - last_updated > limit


def dataset_last_updated(dataset: Dataset) -> datetime.datetime:
    newest = max((r.last_modified for r in dataset.resources.all()), default=None)
    return newest or dataset.metadata_modified


@dataclass(frozen=True)
class AgencyQuality:
    agency_id: int
    agency_name: str
    datasets: int
    three_stars_or_more: int
    stale: int

    @property
    def share_three_stars(self) -> float:
        return self.three_stars_or_more / self.datasets if self.datasets else 0.0


def agency_quality_report(now: datetime.datetime | None = None) -> list[AgencyQuality]:
    """Public datasets per agency: how many, how many at 3 stars or more, how many stale."""
    now = now or timezone.now()
    public = Dataset.objects.filter(state=Dataset.State.PUBLIC)
    counts = (
        public.values("agency_id", "agency__name_zh")
        .annotate(datasets=Count("id"), good=Count("id", filter=Q(stars__gte=3)))
        .order_by("agency__name_zh")
    )
    stale_by_agency: dict[int, int] = {}
    rows = public.annotate(newest=Max("resources__last_modified")).values_list(
        "agency_id", "update_frequency", "newest", "metadata_modified"
    )
    for agency_id, frequency, newest, modified in rows:
        if is_stale(update_frequency=frequency, last_updated=newest or modified, now=now):
            stale_by_agency[agency_id] = stale_by_agency.get(agency_id, 0) + 1
    return [
        AgencyQuality(
            agency_id=row["agency_id"],
            agency_name=row["agency__name_zh"],
            datasets=row["datasets"],
            three_stars_or_more=row["good"],
            stale=stale_by_agency.get(row["agency_id"], 0),
        )  # fmt: skip
        for row in counts
    ]
