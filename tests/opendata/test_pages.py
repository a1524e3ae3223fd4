"""Portal pages: search with facets, dataset page with previews and API examples, the resource's
own OpenAPI document, organization and quality pages, and staff publishing with agency scoping."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from civicstack.opendata.models import Dataset, Resource

from .conftest import PARKING_CSV, geojson_bytes


@pytest.fixture
def bikes(make_dataset):
    return make_dataset("公共自行車站點", name="bikes", tags=["公共自行車"], filename="bikes.geojson",
                        content=geojson_bytes([(121.3, 24.99, "桃園站"), (121.22, 24.95, "中壢站")]))  # fmt: skip


def test_search_filters_by_organization_and_tag(client, parking, bikes, make_dataset, staff, groups):
    from civicstack.opendata import services

    other_agency = staff["city_admin"]
    from civicstack.core.models import Agency

    city = Agency.objects.get(kind=Agency.Kind.CITY_GOVERNMENT)
    other = services.dataset_create(
        actor=other_agency, data=services.DatasetInput(title="市府停車統計", agency=city)
    )
    services.resource_upload(
        actor=other_agency, dataset=other, filename="x.csv", content=PARKING_CSV.encode()
    )
    services.dataset_set_state(actor=other_agency, dataset=other, state="public")

    page = client.get("/opendata/", {"q": "停車"}).content.decode()
    assert "桃園市公有停車場" in page and "市府停車統計" in page and "公共自行車站點" not in page
    filtered = client.get("/opendata/", {"q": "停車", "organization": city.code.lower()}).content.decode()
    assert "市府停車統計" in filtered and "桃園市公有停車場" not in filtered
    by_tag = client.get("/opendata/", {"tags": "公共自行車"}).content.decode()
    assert "公共自行車站點" in by_tag and "桃園市公有停車場" not in by_tag


def test_dataset_page_previews_table_chart_and_api(client, parking):
    response = client.get(f"/opendata/dataset/{parking.name}/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "中壢站前停車場" in page  # table preview
    assert 'class="chart"' in page and page.count('class="bar"') == 4  # one bar a row
    assert "/api/3/action/datastore_search?resource_id=" in page
    assert f"/opendata/resource/{parking.resources.get().id}/openapi.json" in page


def test_geodata_gets_a_map(client, bikes):
    page = client.get(f"/opendata/dataset/{bikes.name}/").content.decode()
    assert page.count('class="map-point"') == 2


def test_resource_openapi_describes_the_table(client, parking):
    resource = parking.resources.get()
    document = client.get(f"/opendata/resource/{resource.id}/openapi.json").json()
    assert document["openapi"].startswith("3.")
    record = document["components"]["schemas"]["Record"]["properties"]
    assert record["總車位數"]["type"] == "integer" and record["經度"]["type"] == "number"
    assert record["停車場名稱"]["type"] == "string"
    assert "/api/3/action/datastore_search" in document["paths"]


def test_resource_page_pages_through_rows_and_shows_history(client, parking):
    resource = parking.resources.get()
    page = client.get(f"/opendata/resource/{resource.id}/", {"offset": 2}).content.decode()
    assert "平鎮立體停車場" in page and "中正公有停車場" not in page


def test_organization_and_quality_pages(client, parking):
    code = parking.agency.code.lower()
    assert "桃園市公有停車場" in client.get(f"/opendata/organization/{code}/").content.decode()
    assert client.get("/opendata/quality/").status_code == 200
    assert client.get("/opendata/organization/nobody/").status_code == 404


def test_draft_pages_are_not_found_for_visitors(client, make_dataset):
    draft = make_dataset("草稿", name="draft", state=Dataset.State.DRAFT)
    assert client.get(f"/opendata/dataset/{draft.name}/").status_code == 404
    resource = draft.resources.get()
    assert client.get(f"/opendata/resource/{resource.id}/download").status_code == 404


def test_staff_publish_flow(client_for, publisher, publisher_agency, groups):
    client = client_for(publisher)
    response = client.post("/opendata/staff/new/", {
        "title": "桃園市消防栓位置", "agency": publisher_agency.pk, "category": "生活安全及品質",
        "update_frequency": "yearly", "license": "gov-tw-open-1", "fee": "free", "encoding": "UTF-8",
        "tags": "消防, 消防栓", "groups": [groups["safety"].pk],
    })  # fmt: skip
    assert response.status_code == 302
    dataset = Dataset.objects.get(title="桃園市消防栓位置")
    assert dataset.state == "draft" and sorted(t.name for t in dataset.tags.all()) == ["消防", "消防栓"]

    bad = client.post(f"/opendata/staff/{dataset.name}/resource/",
                      {"file": SimpleUploadedFile("h.csv", "名稱,數量\r\n甲\r\n".encode())})  # fmt: skip
    assert bad.status_code == 400 and "Row 2" in bad.content.decode()
    assert not Resource.objects.filter(dataset=dataset).exists()

    good = client.post(f"/opendata/staff/{dataset.name}/resource/",
                       {"file": SimpleUploadedFile("h.csv", PARKING_CSV.encode("cp950"))})  # fmt: skip
    assert good.status_code == 302
    assert Resource.objects.get(dataset=dataset).encoding == "Big5"
    client.post(f"/opendata/staff/{dataset.name}/state/", {"state": "public"})
    assert Dataset.objects.get(pk=dataset.pk).state == "public"
    export = client.get("/opendata/staff/export.csv")
    assert "桃園市消防栓位置" in export.content.decode("utf-8")


def test_staff_of_another_agency_cannot_edit(client_for, staff, parking, client):
    outsider = client_for(staff["clerk_a"])
    assert outsider.get(f"/opendata/staff/{parking.name}/").status_code == 404
    assert outsider.post(f"/opendata/staff/{parking.name}/state/", {"state": "draft"}).status_code == 404
    assert Dataset.objects.get(pk=parking.pk).state == "public"
    assert client.get("/opendata/staff/").status_code == 302  # anonymous: to the login page
    citizen_like = client_for(None)
    assert citizen_like.get(f"/opendata/staff/{parking.name}/").status_code == 302


def test_a_csv_with_coordinate_columns_gets_a_map(client, parking):
    page = client.get(f"/opendata/dataset/{parking.name}/").content.decode()
    assert page.count('class="map-point"') == 4  # 經度 / 緯度 of the four lots
