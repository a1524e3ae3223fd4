"""The real ``ckanapi`` client, unchanged, against a live server: search with facets, show,
list paging, datastore search, and its exceptions for CKAN's error shapes."""

import json

import ckanapi
import pytest

from civicstack.opendata.models import Dataset

from .conftest import geojson_bytes


@pytest.mark.usefixtures("city_profile_restored_after_flush")
class TestCkanapiClient:
    def test_ckanapi_drives_the_action_api(self, live_server, make_dataset):
        make_dataset("桃園市公有停車場", name="parking")
        make_dataset("公共自行車站點", name="bikes", tags=["公共自行車", "交通"], filename="bikes.geojson",
                     content=geojson_bytes([(121.3, 24.99, "桃園站"), (121.22, 24.95, "中壢站")]))  # fmt: skip
        make_dataset("內部草稿", name="draft-one", state=Dataset.State.DRAFT)
        # POST with a JSON body (ckanapi's default) and GET with query parameters (get_only).
        for get_only in (False, True):
            ckan = ckanapi.RemoteCKAN(live_server.url, user_agent="civicstack-tests", get_only=get_only)
            assert ckan.action.status_show()["ckan_version"]

            assert ckan.action.package_list(limit=1) == ["bikes"]
            assert ckan.action.package_list(limit=1, offset=1) == ["parking"]

            found = ckan.action.package_search(
                q="停車", rows=5, **{"facet.field": ["organization", "res_format"]}
            )
            assert found["count"] == 1
            assert found["facets"]["res_format"] == {"CSV": 1}
            agency = found["results"][0]["organization"]["name"]
            assert found["search_facets"]["organization"]["items"][0]["name"] == agency

            by_tag = ckan.action.package_search(fq="tags:交通", sort="name asc")
            assert [p["name"] for p in by_tag["results"]] == ["bikes", "parking"]

            bikes = ckan.action.package_show(id="bikes")
            resource = bikes["resources"][0]
            assert resource["format"] == "GeoJSON"
            assert ckan.action.resource_show(id=resource["id"])["package_id"] == bikes["id"]

            # Over GET, structured parameters go as JSON text, as with CKAN itself.
            filters = {"name": "中壢站"}
            rows = ckan.action.datastore_search(
                resource_id=resource["id"], filters=json.dumps(filters) if get_only else filters
            )
            assert rows["total"] == 1 and rows["records"][0]["lon"] == 121.22

            assert ckan.action.organization_show(id=agency)["package_count"] == 2
            assert ckan.action.organization_list() == [agency]
            assert "transport" in ckan.action.group_list()
            assert "交通" in ckan.action.tag_list()

            with pytest.raises(ckanapi.NotFound):
                ckan.action.package_show(id="draft-one")
            with pytest.raises(ckanapi.ValidationError):
                ckan.action.datastore_search(resource_id=resource["id"], sort="nope desc")
            with pytest.raises(ckanapi.SearchQueryError):
                ckan.action.package_search(fq="colour:red")
