"""The CKAN Action API through HTTP: CKAN's envelope, its error shapes and status codes, paging,
facets, visibility. (test_ckanapi_client.py drives the same API with the real ckanapi client.)"""

import json

import pytest

from civicstack.opendata import usage
from civicstack.opendata.models import Dataset, UsageMonthly

from .conftest import geojson_bytes


def call(client, name, method="get", **params):
    if method == "post":
        response = client.post(
            f"/api/3/action/{name}", data=json.dumps(params), content_type="application/json"
        )
    else:
        response = client.get(f"/api/3/action/{name}", params)
    return response.status_code, response.json()


@pytest.fixture
def catalog(make_dataset, staff, groups):
    made = [
        make_dataset("桃園市公有停車場", name="parking"),
        make_dataset("公共自行車站點", name="bikes", tags=["公共自行車", "交通"],
                     content=geojson_bytes([(121.3, 24.99, "桃園站"), (121.22, 24.95, "中壢站")]),
                     filename="bikes.geojson"),
        make_dataset("區域排水即時水位", name="water", tags=["水位"], group="water",
                     content=b'[{"station": "A", "level": 1.2}]', filename="water.json"),
        make_dataset("內部草稿", name="draft-one", state=Dataset.State.DRAFT),
    ]  # fmt: skip
    return {d.name: d for d in made}


def test_status_show_envelope(client, db):
    status, body = call(client, "status_show")
    assert status == 200
    assert body["success"] is True
    assert body["help"].endswith("/api/3/action/help_show?name=status_show")
    assert "datastore" in body["result"]["extensions"]


def test_package_list_pages_and_hides_drafts(client, catalog):
    assert call(client, "package_list")[1]["result"] == ["bikes", "parking", "water"]
    assert call(client, "package_list", limit=2, offset=1)[1]["result"] == ["parking", "water"]


def test_package_search_with_q_fq_facets(client, catalog):
    status, body = call(
        client, "package_search", q="停車", rows=10,
        **{"facet.field": json.dumps(["organization", "tags", "res_format"]), "facet.limit": 10},
    )  # fmt: skip
    assert status == 200
    result = body["result"]
    assert result["count"] == 1
    assert result["results"][0]["name"] == "parking"
    assert result["facets"]["res_format"] == {"CSV": 1}
    org_item = result["search_facets"]["organization"]["items"][0]
    assert org_item["count"] == 1 and org_item["name"] == catalog["parking"].agency.code.lower()
    _, body = call(client, "package_search", fq="tags:交通", sort="name asc")
    assert [r["name"] for r in body["result"]["results"]] == ["bikes", "parking"]
    _, body = call(client, "package_search", fq="res_format:GeoJSON +groups:transport")
    assert [r["name"] for r in body["result"]["results"]] == ["bikes"]


def test_package_search_rows_start_and_facet_limits(client, catalog):
    _, body = call(client, "package_search", rows=1, start=1, sort="name asc",
                   **{"facet.field": '["tags"]', "facet.limit": 1, "facet.mincount": 2})  # fmt: skip
    result = body["result"]
    assert result["count"] == 3
    assert [r["name"] for r in result["results"]] == ["parking"]
    assert result["search_facets"]["tags"]["items"] == [{"name": "交通", "display_name": "交通", "count": 2}]


def test_package_show_has_ckan_fields_and_national_extras(client, catalog):
    status, body = call(client, "package_show", id="parking")
    dataset = body["result"]
    assert status == 200
    assert dataset["license_id"] == "gov-tw-open-1"
    assert dataset["license_title"] == "政府資料開放授權條款-第1版"
    assert dataset["num_resources"] == 1 and dataset["resources"][0]["datastore_active"] is True
    extras = {e["key"]: e["value"] for e in dataset["extras"]}
    assert extras["服務分類"] == "公共資訊" and extras["計費方式"] == "免費" and extras["資料量"] == "4"
    assert call(client, "package_show", id=dataset["id"])[1]["result"]["name"] == "parking"


@pytest.mark.parametrize(
    ("name", "params", "status", "error_type"),
    [
        ("package_show", {"id": "no-such-dataset"}, 404, "Not Found Error"),
        ("package_show", {}, 409, "Validation Error"),
        ("package_show", {"id": "draft-one"}, 404, "Not Found Error"),
        ("package_search", {"rows": "many"}, 409, "Validation Error"),
        ("package_search", {"rows": "-1"}, 409, "Validation Error"),
        ("package_search", {"sort": "nonsense desc"}, 409, "Search Query Error"),
        ("package_search", {"fq": "colour:red"}, 409, "Search Query Error"),
        ("package_search", {"fq": 'tags:"unclosed'}, 409, "Search Query Error"),
        ("package_search", {"facet.field": "{not json"}, 409, "Search Query Error"),
        ("package_list", {"limit": "x"}, 409, "Validation Error"),
        ("resource_show", {"id": "not-a-uuid"}, 404, "Not Found Error"),
        ("datastore_search", {}, 409, "Validation Error"),
        ("datastore_search", {"resource_id": "00000000-0000-0000-0000-000000000000"}, 404, "Not Found Error"),
        ("organization_show", {"id": "nobody"}, 404, "Not Found Error"),
        ("no_such_action", {}, 400, "Bad request"),
    ],
)  # fmt: skip
def test_errors_use_ckan_shapes_and_codes(client, catalog, name, params, status, error_type):
    got_status, body = call(client, name, **params)
    assert got_status == status
    assert body["success"] is False
    assert body["error"]["__type"] == error_type
    assert "result" not in body


def test_bad_json_body_is_a_400_not_a_500(client, db):
    response = client.post("/api/3/action/package_search", data="{oops", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("Bad request - JSON Error")


def test_datastore_search_filters_q_sort_fields_and_total(client, catalog):
    resource_id = str(catalog["parking"].resources.get().id)
    _, body = call(client, "datastore_search", method="post", resource_id=resource_id,
                   filters={"行政區": ["桃園區", "中壢區"]}, sort="總車位數 desc", fields=["停車場名稱", "總車位數"])  # fmt: skip
    result = body["result"]
    assert result["total"] == 2
    assert result["records"] == [
        {"_id": 2, "停車場名稱": "中壢站前停車場", "總車位數": 300},
        {"_id": 1, "停車場名稱": "中正公有停車場", "總車位數": 120},
    ]
    assert [f["id"] for f in result["fields"]] == ["_id", "停車場名稱", "總車位數"]
    _, body = call(client, "datastore_search", resource_id=resource_id, q="機場")
    assert body["result"]["total"] == 1 and body["result"]["records"][0]["行政區"] == "大園區"
    _, body = call(client, "datastore_search", resource_id=resource_id, limit=1, offset=3)
    assert body["result"]["total"] == 4 and body["result"]["records"][0]["_id"] == 4
    _, body = call(client, "datastore_search", resource_id=resource_id, filters='{"剩餘車位數": 0}')
    assert [r["_id"] for r in body["result"]["records"]] == [4]


@pytest.mark.parametrize(
    "params",
    [{"fields": "nope"}, {"sort": "nope asc"}, {"sort": "總車位數 sideways"}, {"filters": '{"nope": 1}'},
     {"filters": "[1]"}, {"limit": "99999999"}, {"filters": '{"總車位數": "many"}'}],
)  # fmt: skip
def test_datastore_search_bad_parameters_are_409(client, catalog, params):
    resource_id = str(catalog["parking"].resources.get().id)
    status, body = call(client, "datastore_search", resource_id=resource_id, **params)
    assert status == 409
    assert body["error"]["__type"] == "Validation Error"


def test_private_dataset_visible_with_an_api_token_of_its_agency(client, make_dataset, publisher, staff):
    from civicstack.core.services import api_token_issue

    make_dataset("內部資料", name="internal", state=Dataset.State.PRIVATE)
    assert call(client, "package_show", id="internal")[0] == 404
    token, _ = api_token_issue(user=publisher)
    response = client.get("/api/3/action/package_show", {"id": "internal"}, HTTP_AUTHORIZATION=token)
    assert response.status_code == 200 and response.json()["result"]["private"] is True
    other, _ = api_token_issue(user=staff["clerk_a"])
    assert (
        client.get("/api/3/action/package_show", {"id": "internal"}, HTTP_AUTHORIZATION=other).status_code
        == 404
    )
    bad = client.get("/api/3/action/package_show", {"id": "internal"}, HTTP_AUTHORIZATION="nonsense")
    assert bad.status_code == 403 and bad.json()["error"]["__type"] == "Authorization Error"


def test_lists_of_organizations_groups_tags(client, catalog):
    agency_name = catalog["parking"].agency.code.lower()
    assert call(client, "organization_list")[1]["result"] == [agency_name]
    org = call(client, "organization_list", all_fields="true")[1]["result"][0]
    assert org["package_count"] == 3 and org["is_organization"] is True
    shown = call(client, "organization_show", id=agency_name, include_datasets="true")[1]["result"]
    assert sorted(p["name"] for p in shown["packages"]) == ["bikes", "parking", "water"]
    assert "transport" in call(client, "group_list")[1]["result"]
    assert call(client, "tag_list", query="交")[1]["result"] == ["交通"]


def test_api_calls_are_counted_in_batches(client, catalog, django_assert_max_num_queries):
    resource_id = str(catalog["water"].resources.get().id)
    usage.usage_flush()
    for _ in range(3):
        call(client, "datastore_search", resource_id=resource_id)
    assert not UsageMonthly.objects.filter(dataset=catalog["water"], api_calls__gt=0).exists()
    usage.usage_flush()
    assert UsageMonthly.objects.get(dataset=catalog["water"]).api_calls == 3


def test_package_search_ranks_title_matches_first(client, make_dataset):
    """The default sort is CKAN's ``score desc, metadata_modified desc``: a dataset named for the
    query comes before one that only mentions it, even when the other was updated later."""
    make_dataset("公有停車場即時剩餘車位", name="parking-live", tags=["停車場"])
    make_dataset("交通事故統計", name="accidents", tags=["交通"],
                 notes="含停車場周邊事故;資料來源為警察局。")  # fmt: skip
    _, body = call(client, "package_search", q="停車場")
    assert [r["name"] for r in body["result"]["results"]] == ["parking-live", "accidents"]
    assert body["result"]["sort"] == "score desc, metadata_modified desc"
    _, body = call(client, "package_search", q="停車場", sort="metadata_modified desc")
    assert [r["name"] for r in body["result"]["results"]] == ["accidents", "parking-live"]


def test_datastore_total_estimation_threshold(client, catalog):
    """CKAN's ``total_estimation_threshold``: above it, a filtered total may be the PostgreSQL
    planner's estimate (flagged ``total_was_estimated``); below it, or on SQLite, it is exact."""
    from django.db import connection

    resource_id = str(catalog["parking"].resources.get().id)
    filters = json.dumps({"行政區": "桃園區"})
    _, body = call(client, "datastore_search", resource_id=resource_id, filters=filters,
                   total_estimation_threshold=1_000_000)  # fmt: skip
    assert body["result"]["total"] == 1 and body["result"]["total_was_estimated"] is False
    _, body = call(client, "datastore_search", resource_id=resource_id, filters=filters,
                   total_estimation_threshold=0)  # fmt: skip
    result = body["result"]
    assert result["total_was_estimated"] is (connection.vendor == "postgresql")
    assert isinstance(result["total"], int) and result["total"] >= 1
    if connection.vendor != "postgresql":
        assert result["total"] == 1
    status, body = call(client, "datastore_search", resource_id=resource_id, total_estimation_threshold="x")
    assert status == 409 and body["error"]["__type"] == "Validation Error"
