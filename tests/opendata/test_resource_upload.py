"""Publishing resources: the datastore load, and that a bad file or a foreign agency's clerk
leaves nothing behind (no resource, no rows, no stored file)."""

from pathlib import Path

import pytest

from civicstack.core.errors import PermissionDenied
from civicstack.opendata import selectors, services
from civicstack.opendata.errors import InvalidFile
from civicstack.opendata.models import Dataset, DatastoreRow, Resource, ResourceUpdate

from .conftest import PARKING_CSV


def _stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_upload_loads_rows_and_fields_and_records_history(parking, settings):
    resource = parking.resources.get()
    assert resource.format == "CSV" and resource.datastore_active
    assert resource.datastore_row_count == 4
    assert DatastoreRow.objects.filter(resource=resource).count() == 4
    assert resource.stars == 3 and Dataset.objects.get(pk=parking.pk).stars == 3
    assert ResourceUpdate.objects.get(resource=resource).row_count == 4
    assert len(_stored_files(settings)) == 1


def test_big5_upload_is_stored_as_unicode_rows(make_dataset):
    dataset = make_dataset(content=PARKING_CSV.encode("cp950"), filename="old-export.csv")
    resource = dataset.resources.get()
    assert resource.encoding == "Big5"
    assert DatastoreRow.objects.get(resource=resource, row_id=1).data["停車場名稱"] == "中正公有停車場"


@pytest.mark.parametrize(
    ("content", "filename"),
    [
        ("名稱,數量\r\n甲,1\r\n乙\r\n".encode(), "ragged.csv"),
        (b'[{"a": 1},', "broken.json"),
        (bytes(range(256)) * 8, "binary.csv"),
        (b"PK\x03\x04garbage", "broken.xlsx"),
    ],
)
def test_malformed_file_publishes_nothing(make_dataset, publisher, settings, content, filename):
    dataset = make_dataset(state=Dataset.State.DRAFT, content=None)
    with pytest.raises(InvalidFile):
        services.resource_upload(actor=publisher, dataset=dataset, filename=filename, content=content)
    assert not Resource.objects.filter(dataset=dataset).exists()
    assert not DatastoreRow.objects.exists()
    assert _stored_files(settings) == []


def test_oversized_file_is_refused_before_parsing(make_dataset, publisher, settings):
    settings.OPENDATA_MAX_UPLOAD_BYTES = 100
    dataset = make_dataset(state=Dataset.State.DRAFT, content=None)
    with pytest.raises(InvalidFile) as caught:
        services.resource_upload(
            actor=publisher, dataset=dataset, filename="big.csv", content=PARKING_CSV.encode()
        )
    assert caught.value.details["limit"] == 100
    assert not Resource.objects.filter(dataset=dataset).exists()


def test_failure_while_loading_rows_rolls_back_the_resource_and_its_file(
    make_dataset, publisher, settings, monkeypatch
):
    dataset = make_dataset(state=Dataset.State.DRAFT, content=None)

    def explode(resource, table):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "_store_rows", explode)
    with pytest.raises(RuntimeError):
        services.resource_upload(
            actor=publisher, dataset=dataset, filename="p.csv", content=PARKING_CSV.encode()
        )
    assert not Resource.objects.filter(dataset=dataset).exists()
    assert _stored_files(settings) == []


def test_clerk_of_another_agency_cannot_publish_or_upload(make_dataset, staff, parking):
    outsider = staff["clerk_a"]
    with pytest.raises(PermissionDenied):
        services.resource_upload(
            actor=outsider, dataset=parking, filename="x.csv", content=PARKING_CSV.encode()
        )
    with pytest.raises(PermissionDenied):
        services.dataset_set_state(actor=outsider, dataset=parking, state=Dataset.State.DRAFT)
    with pytest.raises(PermissionDenied):
        services.dataset_create(
            actor=outsider, data=services.DatasetInput(title="不是我的", agency=parking.agency)
        )
    assert parking.resources.count() == 1


def test_city_admin_may_publish_for_any_agency(staff, parking):
    services.dataset_set_state(actor=staff["city_admin"], dataset=parking, state=Dataset.State.PRIVATE)
    assert Dataset.objects.get(pk=parking.pk).state == Dataset.State.PRIVATE


def test_drafts_and_private_datasets_are_hidden_from_the_public(make_dataset, staff, publisher):
    draft = make_dataset("草稿資料集", state=Dataset.State.DRAFT)
    private = make_dataset("內部資料集", state=Dataset.State.PRIVATE)
    public = make_dataset("公開資料集")
    for user in (None, staff["clerk_a"]):
        visible = set(selectors.datasets_visible_to(user).values_list("pk", flat=True))
        assert visible == {public.pk}
    assert {draft.pk, private.pk, public.pk} <= set(
        selectors.datasets_visible_to(publisher).values_list("pk", flat=True)
    )


def test_publishing_needs_a_resource(make_dataset, publisher):
    from civicstack.core.errors import InvalidInput

    empty = make_dataset("空的", state=Dataset.State.DRAFT, content=None)
    with pytest.raises(InvalidInput):
        services.dataset_set_state(actor=publisher, dataset=empty, state=Dataset.State.PUBLIC)


def test_refresh_records_schema_drift_and_keeps_data_on_failure(parking):
    resource = parking.resources.get()
    drifted = "停車場名稱,行政區,總車位數,身障車位\r\n中正公有停車場,桃園區,120,4\r\n".encode()
    update = services.resource_refresh(resource=resource, content=drifted)
    assert update.succeeded and update.row_count == 1
    assert update.fields_added == ["身障車位"]
    assert update.fields_removed == ["剩餘車位數", "經度", "緯度"]
    failed = services.resource_refresh(resource=resource, content=b"a,b\r\n1\r\n")
    assert not failed.succeeded and "Row 2" in failed.message
    resource.refresh_from_db()
    assert resource.datastore_row_count == 1
    assert [f["id"] for f in resource.datastore_fields] == ["停車場名稱", "行政區", "總車位數", "身障車位"]


def test_internal_source_publishes_and_refreshes_a_modules_data(make_dataset, publisher, monkeypatch):
    readings = {"level": 1.25}

    def water_levels() -> bytes:
        return f"測站,水位(公尺)\r\n南崁溪上游站,{readings['level']}\r\n".encode()

    monkeypatch.setattr(services, "_INTERNAL_SOURCES", dict(services._INTERNAL_SOURCES))
    services.register_internal_source("water.levels", "即時水位", water_levels)
    dataset = make_dataset("即時水位", content=None, state=Dataset.State.DRAFT)
    resource = services.resource_from_internal(actor=publisher, dataset=dataset, key="water.levels")
    assert DatastoreRow.objects.get(resource=resource).data == {"測站": "南崁溪上游站", "水位(公尺)": 1.25}
    readings["level"] = 2.5
    update = services.resource_refresh(resource=resource)
    assert update.succeeded and DatastoreRow.objects.get(resource=resource).data["水位(公尺)"] == 2.5


def test_card_parking_lots_are_offered_as_an_internal_source(db):
    assert "card.parking_lots" in {source.key for source in services.internal_sources()}
    from civicstack.opendata.internal_sources import HEADER, card_parking_lots_csv

    assert card_parking_lots_csv().decode().splitlines()[0] == ",".join(HEADER)
