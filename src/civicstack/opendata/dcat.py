"""DCAT-AP feeds built with rdflib: the catalog (paged, hydra:PagedCollection as ckanext-dcat
does) and single datasets, serialised as Turtle, JSON-LD or RDF/XML."""

import math

from django.utils import timezone
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, XSD

from .models import LICENSE_URLS, Dataset, UpdateFrequency

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
FREQ = Namespace("http://publications.europa.eu/resource/authority/frequency/")
EU_FILE_TYPE = Namespace("http://publications.europa.eu/resource/authority/file-type/")
PAGE_SIZE = 100

SERIALIZATIONS = {
    "ttl": ("turtle", "text/turtle; charset=utf-8"),
    "jsonld": ("json-ld", "application/ld+json; charset=utf-8"),
    "rdf": ("xml", "application/rdf+xml; charset=utf-8"),
}
FREQUENCIES = {
    UpdateFrequency.REALTIME: FREQ.CONT, UpdateFrequency.DAILY: FREQ.DAILY, UpdateFrequency.WEEKLY: FREQ.WEEKLY,
    UpdateFrequency.MONTHLY: FREQ.MONTHLY, UpdateFrequency.QUARTERLY: FREQ.QUARTERLY,
    UpdateFrequency.YEARLY: FREQ.ANNUAL, UpdateFrequency.IRREGULAR: FREQ.IRREG,
}  # fmt: skip


def _graph() -> Graph:
    graph = Graph()
    for prefix, namespace in (("dcat", DCAT), ("dct", DCTERMS), ("foaf", FOAF), ("vcard", VCARD),
                              ("hydra", HYDRA), ("adms", ADMS)):  # fmt: skip
        graph.bind(prefix, namespace)
    return graph


def dataset_uri(base: str, dataset: Dataset) -> URIRef:
    return URIRef(f"{base}/opendata/dataset/{dataset.name}/")


def add_dataset(graph: Graph, base: str, dataset: Dataset) -> URIRef:
    subject = dataset_uri(base, dataset)
    graph.add((subject, RDF.type, DCAT.Dataset))
    graph.add((subject, DCTERMS.identifier, Literal(str(dataset.id))))
    graph.add((subject, DCTERMS.title, Literal(dataset.title, lang="zh-Hant")))
    if dataset.title_en:
        graph.add((subject, DCTERMS.title, Literal(dataset.title_en, lang="en")))
    if dataset.notes:
        graph.add((subject, DCTERMS.description, Literal(dataset.notes, lang="zh-Hant")))
    if dataset.published_on:
        graph.add((subject, DCTERMS.issued, Literal(dataset.published_on, datatype=XSD.date)))
    graph.add((subject, DCTERMS.modified, Literal(dataset.metadata_modified, datatype=XSD.dateTime)))
    graph.add((subject, DCTERMS.accrualPeriodicity, FREQUENCIES[dataset.update_frequency]))
    graph.add((subject, DCAT.theme, Literal(dataset.category, lang="zh-Hant")))
    graph.add((subject, DCAT.landingPage, subject))
    for tag in dataset.tags.all():
        graph.add((subject, DCAT.keyword, Literal(tag.name)))
    for group in dataset.groups.all():
        graph.add((subject, DCAT.theme, URIRef(f"{base}/opendata/?groups={group.name}")))
    publisher = URIRef(f"{base}/opendata/organization/{dataset.agency.code.lower()}/")
    graph.add((subject, DCTERMS.publisher, publisher))
    graph.add((publisher, RDF.type, FOAF.Organization))
    graph.add((publisher, FOAF.name, Literal(dataset.agency.name_zh, lang="zh-Hant")))
    if dataset.contact_name or dataset.contact_email:
        contact = BNode()
        graph.add((subject, DCAT.contactPoint, contact))
        graph.add((contact, RDF.type, VCARD.Kind))
        if dataset.contact_name:
            graph.add((contact, VCARD.fn, Literal(dataset.contact_name)))
        if dataset.contact_email:
            graph.add((contact, VCARD.hasEmail, URIRef(f"mailto:{dataset.contact_email}")))
    license_url = LICENSE_URLS.get(dataset.license)
    for resource in dataset.resources.all():
        distribution = URIRef(f"{base}/opendata/resource/{resource.id}/")
        graph.add((subject, DCAT.distribution, distribution))
        graph.add((distribution, RDF.type, DCAT.Distribution))
        graph.add((distribution, DCTERMS.title, Literal(resource.name)))
        if resource.description:
            graph.add((distribution, DCTERMS.description, Literal(resource.description)))
        graph.add((distribution, DCTERMS["format"], Literal(resource.format)))
        if resource.mimetype:
            graph.add(
                (
                    distribution,
                    DCAT.mediaType,
                    URIRef(f"https://www.iana.org/assignments/media-types/{resource.mimetype}"),
                )
            )
        download = f"{base}/opendata/resource/{resource.id}/download" if resource.file else resource.url
        graph.add((distribution, DCAT.accessURL, URIRef(download or str(distribution))))
        if download:
            graph.add((distribution, DCAT.downloadURL, URIRef(download)))
        if resource.size is not None:
            graph.add((distribution, DCAT.byteSize, Literal(resource.size, datatype=XSD.nonNegativeInteger)))
        graph.add((distribution, DCTERMS.modified, Literal(resource.last_modified, datatype=XSD.dateTime)))
        if license_url:
            graph.add((distribution, DCTERMS.license, URIRef(license_url)))
        if resource.datastore_active:
            service = URIRef(f"{base}/opendata/resource/{resource.id}/openapi.json")
            graph.add((distribution, DCAT.accessService, service))
            graph.add((service, RDF.type, DCAT.DataService))
            graph.add((service, DCAT.endpointDescription, service))
            graph.add(
                (
                    service,
                    DCAT.endpointURL,
                    URIRef(f"{base}/api/3/action/datastore_search?resource_id={resource.id}"),
                )
            )
    return subject


def catalog_graph(base: str, datasets, *, page: int, extension: str) -> Graph:
    """One page of the public catalog; ``datasets`` is the public queryset."""
    graph = _graph()
    catalog = URIRef(f"{base}/catalog.{extension}")
    graph.add((catalog, RDF.type, DCAT.Catalog))
    graph.add((catalog, DCTERMS.title, Literal("資料開放平台", lang="zh-Hant")))
    graph.add((catalog, DCTERMS.title, Literal("Open data platform", lang="en")))
    graph.add((catalog, DCTERMS.modified, Literal(timezone.now(), datatype=XSD.dateTime)))
    graph.add((catalog, FOAF.homepage, URIRef(f"{base}/opendata/")))
    total = datasets.count()
    last = max(1, math.ceil(total / PAGE_SIZE))
    page_uri = URIRef(f"{base}/catalog.{extension}?page={page}")
    graph.add((page_uri, RDF.type, HYDRA.PagedCollection))
    graph.add((page_uri, HYDRA.totalItems, Literal(total, datatype=XSD.integer)))
    graph.add((page_uri, HYDRA.itemsPerPage, Literal(PAGE_SIZE, datatype=XSD.integer)))
    graph.add((page_uri, HYDRA.firstPage, Literal(f"{base}/catalog.{extension}?page=1")))
    graph.add((page_uri, HYDRA.lastPage, Literal(f"{base}/catalog.{extension}?page={last}")))
    if page > 1:
        graph.add((page_uri, HYDRA.previousPage, Literal(f"{base}/catalog.{extension}?page={page - 1}")))
    if page < last:
        graph.add((page_uri, HYDRA.nextPage, Literal(f"{base}/catalog.{extension}?page={page + 1}")))
    chunk = (
        datasets.select_related("agency").prefetch_related("resources", "tags", "groups")
        .order_by("name")[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    )  # fmt: skip
    for dataset in chunk:
        graph.add((catalog, DCAT.dataset, add_dataset(graph, base, dataset)))
    return graph


def dataset_graph(base: str, dataset: Dataset) -> Graph:
    graph = _graph()
    add_dataset(graph, base, dataset)
    return graph


def serialize(graph: Graph, extension: str) -> tuple[bytes, str]:
    rdf_format, content_type = SERIALIZATIONS[extension]
    data = graph.serialize(format=rdf_format, encoding="utf-8")
    return data, content_type
