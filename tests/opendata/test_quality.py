"""Five-star scoring examples, freshness against the update frequency, and the agency report."""

import datetime

import pytest
from django.utils import timezone

from civicstack.opendata import quality, services
from civicstack.opendata.models import Dataset

TURTLE_LINKED = b"""@prefix dct: <http://purl.org/dc/terms/> .
<https://data.tycg.gov.tw/id/station/1> dct:spatial <http://sws.geonames.org/1665194/> ."""
TURTLE_LOCAL = b"""@prefix dct: <http://purl.org/dc/terms/> .
<https://data.tycg.gov.tw/id/station/1> dct:isPartOf <https://data.tycg.gov.tw/id/network/1> ."""


@pytest.mark.parametrize(
    ("format", "license", "links", "stars"),
    [
        ("PDF", "gov-tw-open-1", False, 1),
        ("XLSX", "gov-tw-open-1", False, 2),
        ("CSV", "gov-tw-open-1", False, 3),
        ("GeoJSON", "cc-by-4.0", False, 3),
        ("RDF", "gov-tw-open-1", False, 4),
        ("RDF", "gov-tw-open-1", True, 5),
        ("CSV", "other-closed", False, 0),
    ],
)
def test_star_examples(format, license, links, stars):
    assert quality.resource_stars(format=format, license=license, links_elsewhere=links) == stars


def test_rdf_that_links_to_other_hosts_earns_the_fifth_star():
    assert quality.rdf_links_elsewhere(TURTLE_LINKED, "turtle") is True
    assert quality.rdf_links_elsewhere(TURTLE_LOCAL, "turtle") is False


def test_uploaded_resources_are_scored_and_the_dataset_takes_the_best(make_dataset, publisher):
    dataset = make_dataset(content=b"%PDF-1.4 report", filename="report.pdf")
    assert dataset.stars == 1
    services.resource_upload(actor=publisher, dataset=dataset, filename="linked.ttl", content=TURTLE_LINKED)
    assert Dataset.objects.get(pk=dataset.pk).stars == 5


def test_closing_the_licence_drops_the_stars(make_dataset, publisher, publisher_agency):
    dataset = make_dataset()
    data = services.DatasetInput(title=dataset.title, agency=publisher_agency, license="other-closed")
    assert services.dataset_update(actor=publisher, dataset=dataset, data=data).stars == 0


@pytest.mark.parametrize(
    ("frequency", "age_days", "stale"),
    [("daily", 1, False), ("daily", 3, True), ("monthly", 20, False), ("monthly", 40, True),
     ("yearly", 300, False), ("irregular", 3000, False)],
)  # fmt: skip
def test_freshness_against_declared_frequency(frequency, age_days, stale):
    now = timezone.now()
    last = now - datetime.timedelta(days=age_days)
    assert quality.is_stale(update_frequency=frequency, last_updated=last, now=now) is stale


def test_agency_report_share_at_three_stars(make_dataset, publisher_agency):
    make_dataset("A")
    make_dataset("B", filename="b.pdf", content=b"%PDF-1.4")
    make_dataset("C", update_frequency="daily")
    later = timezone.now() + datetime.timedelta(days=5)
    (row,) = quality.agency_quality_report(now=later)
    assert row.agency_id == publisher_agency.pk
    assert (row.datasets, row.three_stars_or_more, row.stale) == (3, 2, 1)
    assert row.share_three_stars == pytest.approx(2 / 3)
