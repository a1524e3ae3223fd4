"""The CKAN API's response cache: a write (publish, edit, resource refresh, delete) is visible
at once, responses are byte-identical with and without the cache, GETs revalidate with ETags
(304), only anonymous requests are cached, errors keep CKAN's envelope and are never cached,
and API calls are still counted on hits."""

import json

import pytest

from civicstack.core.services import api_token_issue
from civicstack.opendata import response_cache, services, usage
from civicstack.opendata.models import Dataset, UsageMonthly

from .test_ckan_api import catalog  # noqa: F401 - the fixture

ACTION = "/api/3/action/"


def get(client, name, **params):
    return client.get(ACTION + name, params)


def search(client, **params):
    return get(client, "package_search", sort="name asc", **params).json()["result"]


def test_a_repeated_request_is_served_from_the_cache(client, catalog, django_assert_max_num_queries):  # noqa: F811
    first = get(client, "package_search", q="停車", rows=5)
    assert first.status_code == 200
    assert response_cache.store.misses == 1 and len(response_cache.store) == 1
    with django_assert_max_num_queries(1):  # the generation, nothing else
        second = get(client, "package_search", rows=5, q="停車")  # other parameter order: same key
    assert second.content == first.content
    assert response_cache.store.hits == 1


def test_publish_is_visible_at_once(client, catalog, publisher):  # noqa: F811
    assert [r["name"] for r in search(client)["results"]] == ["bikes", "parking", "water"]
    draft = Dataset.objects.get(name="draft-one")
    assert get(client, "package_show", id="draft-one").status_code == 404
    services.dataset_set_state(actor=publisher, dataset=draft, state=Dataset.State.PUBLIC)
    assert [r["name"] for r in search(client)["results"]] == ["bikes", "draft-one", "parking", "water"]
    assert get(client, "package_show", id="draft-one").status_code == 200
    assert "draft-one" in get(client, "package_list").json()["result"]


def test_update_is_visible_at_once(client, catalog, publisher):  # noqa: F811
    parking = catalog["parking"]
    before = get(client, "package_show", id="parking").json()["result"]
    assert before["title"] == "桃園市公有停車場"
    data = services.DatasetInput(
        title="桃園市公有停車場（新）", agency=parking.agency, tags=["停車"], groups=["transport"]
    )
    services.dataset_update(actor=publisher, dataset=parking, data=data)
    after = get(client, "package_show", id="parking").json()["result"]
    assert after["title"] == "桃園市公有停車場（新）"
    assert [t["name"] for t in after["tags"]] == ["停車"]
    assert search(client, q="（新）")["count"] == 1


def test_resource_refresh_is_visible_at_once(client, catalog):  # noqa: F811
    resource = catalog["parking"].resources.get()
    first = get(client, "datastore_search", resource_id=str(resource.id)).json()["result"]
    assert first["total"] == 4
    shown_before = get(client, "resource_show", id=str(resource.id)).json()["result"]
    content = "停車場名稱,行政區,總車位數,剩餘車位數,經度,緯度\r\n新停車場,桃園區,10,1,121.3,24.99\r\n"
    services.resource_refresh(resource=resource, content=content.encode())
    second = get(client, "datastore_search", resource_id=str(resource.id)).json()["result"]
    assert second["total"] == 1 and second["records"][0]["停車場名稱"] == "新停車場"
    shown_after = get(client, "resource_show", id=str(resource.id)).json()["result"]
    assert shown_after["last_modified"] > shown_before["last_modified"]
    assert shown_after["hash"] != shown_before["hash"]


def test_resource_delete_is_visible_at_once(client, catalog, publisher):  # noqa: F811
    water = catalog["water"]
    resource = water.resources.get()
    assert get(client, "resource_show", id=str(resource.id)).status_code == 200
    assert get(client, "package_show", id="water").json()["result"]["num_resources"] == 1
    services.resource_delete(actor=publisher, resource=resource)
    assert get(client, "resource_show", id=str(resource.id)).status_code == 404
    assert get(client, "package_show", id="water").json()["result"]["num_resources"] == 0


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("package_search", {"q": "停車", "facet.field": '["organization","tags","res_format"]', "rows": 2}),
        ("package_list", {"limit": 2, "offset": 1}),
        ("package_show", {"id": "bikes"}),
        ("organization_list", {"all_fields": "true"}),
        ("group_list", {}),
        ("tag_list", {}),
    ],
)
def test_responses_are_identical_with_and_without_the_cache(client, catalog, settings, name, params):  # noqa: F811
    settings.OPENDATA_API_CACHE_BYTES = 0
    uncached = get(client, name, **params)
    assert len(response_cache.store) == 0
    settings.OPENDATA_API_CACHE_BYTES = 2**20
    filled = get(client, name, **params)
    hit = get(client, name, **params)
    assert response_cache.store.hits == 1
    assert uncached.status_code == filled.status_code == hit.status_code == 200
    assert uncached.content == filled.content == hit.content
    assert uncached["ETag"] == filled["ETag"] == hit["ETag"]


def test_datastore_search_identical_with_and_without_the_cache(client, catalog, settings):  # noqa: F811
    params = {"resource_id": str(catalog["parking"].resources.get().id), "filters": '{"行政區": "桃園區"}',
              "sort": "剩餘車位數 desc", "fields": "停車場名稱,剩餘車位數"}  # fmt: skip
    settings.OPENDATA_API_CACHE_BYTES = 0
    uncached = get(client, "datastore_search", **params)
    settings.OPENDATA_API_CACHE_BYTES = 2**20
    get(client, "datastore_search", **params)
    hit = get(client, "datastore_search", **params)
    assert response_cache.store.hits == 1
    assert uncached.content == hit.content
    assert uncached.json()["result"]["records"] == [
        {"_id": 1, "停車場名稱": "中正公有停車場", "剩餘車位數": 35}
    ]


def test_etag_revalidation_gives_304_until_the_data_changes(client, catalog, publisher):  # noqa: F811
    first = get(client, "package_show", id="parking")
    etag = first["ETag"]
    assert etag.startswith('"') and first["Cache-Control"] == "public, no-cache"
    assert "Accept-Language" in first["Vary"] and "Authorization" in first["Vary"]
    again = client.get(ACTION + "package_show", {"id": "parking"}, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == etag
    weak = client.get(ACTION + "package_show", {"id": "parking"}, HTTP_IF_NONE_MATCH=f'"other", W/{etag}')
    assert weak.status_code == 304
    parking = catalog["parking"]
    data = services.DatasetInput(title="改名", agency=parking.agency, tags=["停車"], groups=["transport"])
    services.dataset_update(actor=publisher, dataset=parking, data=data)
    changed = client.get(ACTION + "package_show", {"id": "parking"}, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert changed.json()["result"]["title"] == "改名"


def test_revalidation_works_with_the_cache_off(client, catalog, settings):  # noqa: F811
    settings.OPENDATA_API_CACHE_BYTES = 0
    etag = get(client, "package_list")["ETag"]
    assert client.get(ACTION + "package_list", HTTP_IF_NONE_MATCH=etag).status_code == 304


@pytest.mark.parametrize(
    ("name", "params", "status", "error_type"),
    [
        ("package_search", {"rows": "many"}, 409, "Validation Error"),
        ("package_search", {"fq": "nosuchfield:x"}, 409, "Search Query Error"),
        ("package_show", {"id": "no-such-dataset"}, 404, "Not Found Error"),
        ("datastore_search", {"resource_id": "00000000-0000-0000-0000-000000000000"}, 404, "Not Found Error"),
        ("no_such_action", {}, 400, "Bad request"),
    ],
)
def test_errors_keep_the_envelope_and_are_not_cached(client, catalog, name, params, status, error_type):  # noqa: F811
    for _ in range(2):
        response = get(client, name, **params)
        assert response.status_code == status
        body = response.json()
        assert body["success"] is False and body["error"]["__type"] == error_type
        assert "ETag" not in response
    assert len(response_cache.store) == 0


def test_an_api_key_bypasses_the_cache_and_sees_its_drafts(client, catalog, publisher):  # noqa: F811
    assert search(client)["count"] == 3
    token, _ = api_token_issue(user=publisher)
    response = client.get(ACTION + "package_search", {"sort": "name asc"}, HTTP_AUTHORIZATION=token)
    assert response.json()["result"]["count"] == 4
    assert response["Cache-Control"] == "private, no-cache" and "ETag" not in response
    assert search(client)["count"] == 3  # and the anonymous answer is unchanged


def test_post_reads_are_cached_too(client, catalog):  # noqa: F811
    body = json.dumps({"id": "parking"})
    first = client.post(ACTION + "package_show", data=body, content_type="application/json")
    second = client.post(ACTION + "package_show", data=body, content_type="application/json")
    assert first.content == second.content and response_cache.store.hits == 1
    assert "ETag" not in second  # no revalidation for POST


def test_hits_still_count_api_calls(client, catalog):  # noqa: F811
    resource_id = str(catalog["water"].resources.get().id)
    usage.usage_flush()
    for _ in range(3):
        get(client, "datastore_search", resource_id=resource_id)
        get(client, "package_show", id="water")
    assert response_cache.store.hits == 4
    usage.usage_flush()
    assert UsageMonthly.objects.get(dataset=catalog["water"]).api_calls == 6


def test_generation_moves_on_every_catalog_write_and_never_repeats(db):
    before = response_cache.generation()
    response_cache.bump()
    middle = response_cache.generation()
    assert middle > before
    response_cache.bump()
    assert response_cache.generation() > middle


def test_a_shared_cache_serves_other_processes(client, catalog, publisher, settings, tmp_path):  # noqa: F811
    """With a cache shared between processes (Redis in production; a file cache here), a
    response computed by one process is a hit for another, and a write still shows at once."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path),
        }
    }
    first = get(client, "package_show", id="parking")
    assert first["X-Cache"] == "MISS"
    response_cache.store.clear()  # another process: its own map is empty
    other = get(client, "package_show", id="parking")
    assert other["X-Cache"] == "HIT" and other.content == first.content and other["ETag"] == first["ETag"]
    parking = catalog["parking"]
    data = services.DatasetInput(title="共享快取", agency=parking.agency, tags=["停車"], groups=["transport"])
    services.dataset_update(actor=publisher, dataset=parking, data=data)
    response_cache.store.clear()
    changed = get(client, "package_show", id="parking")
    assert changed["X-Cache"] == "MISS" and changed.json()["result"]["title"] == "共享快取"


def test_the_store_never_goes_back_to_an_older_generation():
    store = response_cache.GenerationStore()
    entry = response_cache.Entry(body=b"{}", etag='"x"', counted=())
    store.put(6, ("k",), entry, 2**20)
    assert store.get(5, ("k",)) is None  # a request that read the generation before a commit
    store.put(5, ("old",), entry, 2**20)  # and what it computed is not kept
    assert store.get(6, ("k",)) is entry and store.get(6, ("old",)) is None
    assert store.get(7, ("k",)) is None and len(store) == 0  # a newer generation drops everything


# Transactional (the connection is killed): it ends by flushing every table, skipped or not, so
# the city profile is put back after the class for the tests that follow on this worker.
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("city_profile_restored_after_flush")
class TestGenerationReadAsHealthCheck:
    def test_the_generation_read_is_the_requests_health_check(self):
        """With CONN_HEALTH_CHECKS, a request's first query on a reused connection would be preceded
        by ``SELECT 1``; the generation read stands in for it: one query on a sound connection, and
        a connection that died meanwhile (a database restart) is replaced, not a failed request."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        if connection.vendor != "postgresql":
            pytest.skip("needs a server connection to break")
        import psycopg

        response_cache.bump()
        expected = response_cache.generation()
        enabled = connection.health_check_enabled
        connection.health_check_enabled = True  # as in settings (the test runner may differ)
        try:
            connection.health_check_done = False  # what request_started does to a reused connection
            with CaptureQueriesContext(connection) as queries:
                assert response_cache.generation() == expected
            assert len(queries) == 1 and connection.health_check_done

            backend = connection.connection.info.backend_pid
            dsn = connection.connection.info.dsn
            with psycopg.connect(dsn, autocommit=True) as other:
                other.execute("SELECT pg_terminate_backend(%s)", [backend])
            connection.health_check_done = False
            assert response_cache.generation() == expected
            assert connection.connection.info.backend_pid != backend
        finally:
            connection.health_check_enabled = enabled


def test_a_response_cache_miss_reuses_the_resource_until_the_catalog_moves(client, catalog, publisher):  # noqa: F811
    """Anonymous datastore_search requests that miss the response cache (other parameters) load
    the resource once per generation; a write that hides it is seen by the next request."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    parking = catalog["parking"]
    resource_id = str(parking.resources.get().id)
    assert get(client, "datastore_search", resource_id=resource_id, limit=1).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        response = get(client, "datastore_search", resource_id=resource_id.replace("-", "").upper(), limit=2)
    assert response.status_code == 200 and len(response.json()["result"]["records"]) == 2
    assert not any('"opendata_resource"' in query["sql"] for query in queries.captured_queries)

    services.dataset_set_state(actor=publisher, dataset=parking, state=Dataset.State.PRIVATE)
    assert get(client, "datastore_search", resource_id=resource_id, limit=3).status_code == 404
    token, _ = api_token_issue(user=publisher)  # its agency's staff still see it, never from the memo
    staff = client.get(
        ACTION + "datastore_search", {"resource_id": resource_id, "limit": 4}, HTTP_AUTHORIZATION=token
    )
    assert staff.status_code == 200
    assert get(client, "datastore_search", resource_id=resource_id, limit=5).status_code == 404
