"""Reading every supported format into a typed table, and the errors for files that cannot be."""

import pytest

from civicstack.opendata import parsing
from civicstack.opendata.errors import InvalidFile

from .conftest import PARKING_CSV, geojson_bytes, ods_bytes, xlsx_bytes


def test_csv_in_utf8_gets_typed_columns():
    table = parsing.read_table("CSV", PARKING_CSV.encode())
    assert table.encoding == "UTF-8"
    assert [f["type"] for f in table.fields] == ["text", "text", "int", "int", "numeric", "numeric"]
    assert table.rows[0] == {"停車場名稱": "中正公有停車場", "行政區": "桃園區", "總車位數": 120, "剩餘車位數": 35,
                             "經度": 121.301, "緯度": 24.993}  # fmt: skip


def test_big5_csv_is_detected_and_converted_to_unicode():
    content = PARKING_CSV.encode("cp950")
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")
    table = parsing.read_table("CSV", content)
    assert table.encoding == "Big5"
    assert table.rows[1]["停車場名稱"] == "中壢站前停車場"


def test_utf8_bom_is_dropped_from_the_first_header():
    table = parsing.read_table("CSV", "\ufeff名稱,數量\r\n甲,1\r\n".encode())
    assert table.fields[0]["id"] == "名稱"


def test_ragged_csv_names_the_line():
    content = "名稱,數量,備註\r\n甲,1,x\r\n乙,2\r\n".encode()
    with pytest.raises(InvalidFile) as caught:
        parsing.read_table("CSV", content)
    assert caught.value.details == {"line": 3, "found": 2, "expected": 3}


def test_bytes_that_are_no_text_encoding_are_refused():
    with pytest.raises(InvalidFile):
        parsing.read_table("CSV", bytes(range(256)) * 4)


def test_empty_file_is_refused():
    with pytest.raises(InvalidFile):
        parsing.read_table("CSV", b"")


def test_json_list_and_wrapped_list():
    assert len(parsing.read_table("JSON", b'[{"a": 1}, {"a": 2, "b": "x"}]').rows) == 2
    table = parsing.read_table("JSON", '{"records": [{"站名": "南崁溪", "水位": 1.5}]}'.encode())
    assert table.fields == [{"id": "站名", "type": "text"}, {"id": "水位", "type": "numeric"}]


def test_malformed_json_gives_line_and_column():
    with pytest.raises(InvalidFile, match="line 1, column"):
        parsing.read_table("JSON", b'[{"a": 1,]')


def test_geojson_points_become_rows_and_preview_geometries():
    table = parsing.read_table("GeoJSON", geojson_bytes([(121.3, 24.99, "甲"), (121.2, 24.95, "乙")]))
    assert table.rows[0] == {"name": "甲", "lon": 121.3, "lat": 24.99}
    assert table.geometries[1] == {"type": "Point", "coordinates": [121.2, 24.95]}


def test_xlsx_and_ods_first_sheet():
    rows = [["站名", "容量"], ["桃園站", 30], ["中壢站", 25]]
    for format, content in (("XLSX", xlsx_bytes(rows)), ("ODS", ods_bytes(rows))):
        table = parsing.read_table(format, content)
        assert table.rows == [{"站名": "桃園站", "容量": 30}, {"站名": "中壢站", "容量": 25}], format


def test_corrupt_spreadsheet_is_refused():
    with pytest.raises(InvalidFile):
        parsing.read_table("XLSX", b"PK\x03\x04 not really a zip")


def test_xml_records_and_kml_placemarks():
    xml = "<data><record><名稱>甲</名稱><數量>3</數量></record><record><名稱>乙</名稱><數量>4</數量></record></data>"
    assert parsing.read_table("XML", xml.encode()).rows[1] == {"名稱": "乙", "數量": 4}
    kml = (
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>消防栓1</name>'
        "<Point><coordinates>121.30,24.99,0</coordinates></Point></Placemark></Document></kml>"
    )
    table = parsing.read_table("KML", kml.encode())
    assert table.rows == [{"name": "消防栓1", "description": None, "lon": 121.3, "lat": 24.99}]


def test_xml_entity_bombs_are_refused():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><x><r><v>&b;</v></r></x>'
    )
    with pytest.raises(InvalidFile):
        parsing.read_table("XML", bomb)


@pytest.mark.parametrize(
    ("filename", "content", "expected"),
    [
        ("a.csv", b"x", "CSV"), ("a.geojson", b"{}", "GeoJSON"), ("a.kml", b"<kml/>", "KML"),
        ("noext", b'{"type": "FeatureCollection", "features": []}', "GeoJSON"), ("noext", b"[1]", "JSON"),
        ("noext", b"%PDF-1.4", "PDF"), ("noext", b"<root/>", "XML"),
    ],
)  # fmt: skip
def test_format_detection(filename, content, expected):
    assert parsing.detect_format(filename, content) == expected
