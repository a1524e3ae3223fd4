"""DCAT-AP feeds parsed back with rdflib: the paged catalog in three syntaxes, and one dataset."""

import pytest
import rdflib
from rdflib.namespace import DCAT, DCTERMS, RDF

from civicstack.opendata import dcat
from civicstack.opendata.models import Dataset

HYDRA = rdflib.Namespace("http://www.w3.org/ns/hydra/core#")
SYNTAXES = {"ttl": "turtle", "jsonld": "json-ld", "rdf": "xml"}


@pytest.fixture
def three_public_one_draft(make_dataset):
    for index in range(3):
        make_dataset(f"資料集{index}", name=f"set-{index}")
    make_dataset("草稿", name="draft-set", state=Dataset.State.DRAFT)


@pytest.mark.parametrize("extension", ["ttl", "jsonld", "rdf"])
def test_catalog_parses_back_with_datasets_and_distributions(client, three_public_one_draft, extension):
    response = client.get(f"/catalog.{extension}")
    assert response.status_code == 200
    graph = rdflib.Graph().parse(data=response.content, format=SYNTAXES[extension])
    catalogs = list(graph.subjects(RDF.type, DCAT.Catalog))
    assert len(catalogs) == 1
    datasets = set(graph.objects(catalogs[0], DCAT.dataset))
    assert len(datasets) == 3
    titles = {str(graph.value(d, DCTERMS.title)) for d in datasets}
    assert "草稿" not in titles
    for dataset in datasets:
        distribution = graph.value(dataset, DCAT.distribution)
        assert (distribution, RDF.type, DCAT.Distribution) in graph
        assert str(graph.value(distribution, DCTERMS["format"])) == "CSV"
        assert str(graph.value(distribution, DCAT.downloadURL)).endswith("/download")
        assert graph.value(dataset, DCTERMS.publisher) is not None
        assert {str(k) for k in graph.objects(dataset, DCAT.keyword)} == {"停車", "交通"}


def test_catalog_is_paged_with_hydra(client, three_public_one_draft, monkeypatch):
    monkeypatch.setattr(dcat, "PAGE_SIZE", 2)
    first = rdflib.Graph().parse(data=client.get("/catalog.ttl").content, format="turtle")
    page = next(first.subjects(RDF.type, HYDRA.PagedCollection))
    assert int(first.value(page, HYDRA.totalItems)) == 3
    assert str(first.value(page, HYDRA.nextPage)).endswith("/catalog.ttl?page=2")
    assert len(list(first.subjects(RDF.type, DCAT.Dataset))) == 2
    second = rdflib.Graph().parse(data=client.get("/catalog.ttl?page=2").content, format="turtle")
    assert len(list(second.subjects(RDF.type, DCAT.Dataset))) == 1
    page2 = next(second.subjects(RDF.type, HYDRA.PagedCollection))
    assert second.value(page2, HYDRA.nextPage) is None


def test_single_dataset_feed_and_draft_is_not_found(client, three_public_one_draft):
    response = client.get("/opendata/dataset/set-1.jsonld")
    graph = rdflib.Graph().parse(data=response.content, format="json-ld")
    (subject,) = graph.subjects(RDF.type, DCAT.Dataset)
    assert str(graph.value(subject, DCTERMS.title)) == "資料集1"
    assert str(graph.value(subject, DCTERMS.accrualPeriodicity)).endswith("/IRREG")
    assert client.get("/opendata/dataset/draft-set.ttl").status_code == 404
