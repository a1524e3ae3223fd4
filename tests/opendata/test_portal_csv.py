"""The national portal CSV: export, import back (idempotent), and all-or-nothing on a bad row."""

import csv
import io

import pytest

from civicstack.core.errors import InvalidInput
from civicstack.opendata import portal_csv
from civicstack.opendata.models import Dataset, Resource


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def test_export_has_the_portal_columns(parking):
    text = portal_csv.export_catalog(Dataset.objects.all(), "https://data.example.tw")
    assert text.startswith(
        "\ufeff資料集識別碼,資料集名稱,資料提供屬性,服務分類,品質檢測,檔案格式,資料下載網址,編碼格式"
    )
    (row,) = _rows(text)
    assert row["資料集名稱"] == "桃園市公有停車場"
    assert row["授權方式"] == "政府資料開放授權條款-第1版"
    assert row["檔案格式"] == "CSV" and row["資料量"] == "4" and row["品質檢測"] == "銀標章"
    assert row["資料下載網址"].startswith("https://data.example.tw/opendata/resource/")


def _portal_csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=portal_csv.COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow({column: row.get(column, "") for column in portal_csv.COLUMNS})
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def test_import_creates_then_updates_without_duplicates(publisher, publisher_agency):
    row = {
        "資料集識別碼": "6564", "資料集名稱": "桃園市公共自行車站點", "服務分類": "交通及通訊", "檔案格式": "CSV;JSON",
        "資料下載網址": "https://data.tycg.gov.tw/a.csv;https://data.tycg.gov.tw/a.json", "提供機關": publisher_agency.name_zh,
        "更新頻率": "每1日", "授權方式": "政府資料開放授權條款-第1版", "計費方式": "免費", "上架日期": "2016-05-01",
        "詮釋資料更新時間": "2019-01-02 03:04:05",
    }  # fmt: skip
    assert portal_csv.import_catalog(actor=publisher, content=_portal_csv([row])) == {
        "created": 1,
        "updated": 0,
    }
    dataset = Dataset.objects.get(name="6564")
    assert dataset.update_frequency == "daily" and dataset.category == "交通及通訊"
    assert sorted(Resource.objects.filter(dataset=dataset).values_list("format", flat=True)) == [
        "CSV",
        "JSON",
    ]
    row["資料集名稱"] = "桃園市公共自行車租賃站"
    assert portal_csv.import_catalog(actor=publisher, content=_portal_csv([row])) == {
        "created": 0,
        "updated": 1,
    }
    dataset.refresh_from_db()
    assert dataset.title == "桃園市公共自行車租賃站" and dataset.resources.count() == 2


def test_import_is_all_or_nothing(publisher, publisher_agency):
    good = {"資料集識別碼": "1", "資料集名稱": "好的", "提供機關": publisher_agency.name_zh}
    bad = {
        "資料集識別碼": "2",
        "資料集名稱": "壞的",
        "提供機關": publisher_agency.name_zh,
        "更新頻率": "每兩週",
    }
    with pytest.raises(InvalidInput, match="Line 3"):
        portal_csv.import_catalog(actor=publisher, content=_portal_csv([good, bad]))
    assert not Dataset.objects.exists()


def test_import_refuses_other_agencies_datasets(staff, publisher_agency):
    from civicstack.core.errors import PermissionDenied

    row = {"資料集識別碼": "9", "資料集名稱": "別人的", "提供機關": publisher_agency.name_zh}
    with pytest.raises(PermissionDenied):
        portal_csv.import_catalog(actor=staff["clerk_a"], content=_portal_csv([row]))


def test_export_then_import_round_trips(parking, publisher):
    text = portal_csv.export_catalog(Dataset.objects.all(), "https://data.example.tw")
    assert portal_csv.import_catalog(actor=publisher, content=text.encode()) == {"created": 0, "updated": 1}
