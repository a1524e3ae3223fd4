"""Issue 5 §6: the open-dataset loader (JSON, Big5 CSV, refused rows with their line numbers,
reloads), the parking and charging-station API with its filters and distance sort, and hospital
appointments and queues through the adapter registry, over real HTTP."""

import datetime
import json
import types

import pytest
from django.urls import Resolver404, path, resolve
from django.utils import timezone
from ninja import NinjaAPI

import civicstack.urls
from civicstack.api import api as main_api
from civicstack.card import api_nearby, hospital, nearby
from civicstack.card.models import (
    ChargingStation,
    HospitalAppointment,
    HospitalClinic,
    NearbyLoad,
    ParkingLot,
)
from civicstack.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied

pytestmark = pytest.mark.django_db
BASE = "/api/v1/card"
JSON = {"content_type": "application/json"}

PARKING_HEADER = "停車場編號,停車場名稱,行政區,地址,總車位數,剩餘車位數,經度,緯度,收費方式,更新時間"


# --- the router under test, mounted as api.py will mount it -----------------------------------


def _mounted() -> bool:
    try:
        resolve(f"{BASE}/parking")
    except Resolver404:
        return False
    return True


_test_api = NinjaAPI(urls_namespace="card-nearby-test", renderer=main_api.renderer)
_test_api._exception_handlers.update(main_api._exception_handlers)
_test_api.add_router("/v1/card/", api_nearby.router)
_test_urls = types.ModuleType("card_nearby_test_urls")
_test_urls.urlpatterns = [path("api/", _test_api.urls), *civicstack.urls.urlpatterns]


@pytest.fixture(autouse=True)
def nearby_routes(settings):
    """Until api.py mounts api_nearby's router, serve it from a test API with the platform's error
    handlers, at the very paths it will have."""
    if not _mounted():
        settings.ROOT_URLCONF = _test_urls


@pytest.fixture
def samples(db):
    return nearby.nearby_load(kind="parking", source="demo"), nearby.nearby_load(
        kind="charging", source="demo"
    )


# --- the loader -------------------------------------------------------------------------------


def test_the_shipped_json_and_big5_csv_samples_load_whole(samples):
    parking, charging = samples
    assert (parking.file_format, parking.encoding, parking.rows, parking.created, parking.rejected) == (
        "json", "utf-8", 31, 31, 0)  # fmt: skip
    assert (charging.file_format, charging.encoding, charging.rows, charging.created, charging.rejected) == (
        "csv", "cp950", 40, 40, 0)  # fmt: skip
    lot = ParkingLot.objects.get(source="demo", source_id="TYDEMO-P001")
    assert (lot.name, lot.district.name_zh, lot.total_spaces, lot.fee) == (
        "桃園火車站前地下停車場（示範）", "桃園區", 420, "計時 30元/小時，當日最高 240元")  # fmt: skip
    station = ChargingStation.objects.get(source="demo", source_id="EVS-0002")
    assert (station.name, station.district.name_zh, station.operator) == (
        "中壢活動中心充電站（示範）", "中壢區", "示範綠能充電股份有限公司")  # fmt: skip
    # 更新時間 "115/11/20 07:20" is an ROC-era date, Taipei time
    assert timezone.localtime(station.updated_at).replace(tzinfo=None) == datetime.datetime(
        2026, 11, 20, 7, 20
    )
    assert ParkingLot.objects.filter(district__isnull=True).count() == 0


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp950", "big5"])
def test_encodings_are_detected(encoding):
    text = f"{PARKING_HEADER}\r\nA1,中壢測試停車場,中壢區,桃園市中壢區中正路1號,100,12,121.2254,24.9537,計時 20元,2026-11-20 08:00\r\n"
    load = nearby.nearby_load(kind="parking", data=text.encode(encoding), file_name="lots.csv", source="enc")
    assert (load.created, load.rejected) == (1, 0)
    assert load.encoding == {"big5": "cp950"}.get(encoding, encoding)
    assert ParkingLot.objects.get(source="enc").name == "中壢測試停車場"


BAD_CSV = "\r\n".join([
    PARKING_HEADER,
    "P1,好的停車場,桃園區,桃園市桃園區中正路1號,100,10,121.3010,24.9937,計時,2026-11-20 08:00",  # line 2
    "P2,在日本的停車場,桃園區,東京都,100,10,139.6917,35.6895,計時,2026-11-20 08:00",  # line 3
    "P3,經緯度顛倒,桃園區,桃園市桃園區,100,10,24.9937,121.3010,計時,2026-11-20 08:00",  # line 4
    "P4,負的剩餘車位,桃園區,桃園市桃園區,100,-3,121.3010,24.9937,計時,2026-11-20 08:00",  # line 5
    "P5,,桃園區,桃園市桃園區,abc,10,121.3010,24.9937,計時,2026-11-20 08:00",  # line 6
    '"P6","多行的',  # lines 7-8: one record over two lines, with a field too few
    '地址",桃園區,x,1,1,121.3,24.99,計時',
    "P1,重複的編號,桃園區,桃園市桃園區,100,10,121.3010,24.9937,計時,2026-11-20 08:00",  # line 9
    "P7,TWD97座標,桃園區,桃園市桃園區,100,10,271234.5,2764567.8,計時,2026-11-20 08:00",  # line 10
    "P8,剩餘比總數多,桃園區,桃園市桃園區,100,101,121.3010,24.9937,計時,2026-11-20 08:00",  # line 11
    "",
    "P9,也是好的,八德區,桃園市八德區介壽路1號,50,,121.2845,24.9286,,115/11/20 08:00",  # line 13
]) + "\r\n"  # fmt: skip


def test_bad_rows_are_refused_with_their_line_numbers_and_nothing_else_is_lost():
    load = nearby.nearby_load(kind="parking", data=BAD_CSV.encode("cp950"), file_name="bad.csv", source="bad")
    assert (load.rows, load.created, load.rejected) == (10, 2, 8)
    refused = {row["line"]: row["problems"] for row in load.problems}
    assert sorted(refused) == [3, 4, 5, 6, 7, 9, 10, 11]
    assert refused[3] == ["the position (35.689500, 139.691700) is outside Taiwan"]
    assert refused[4] == ["latitude 121.301000 and longitude 24.993700 look swapped"]
    assert refused[5] == ["剩餘車位數 is negative: -3"]
    assert refused[6] == ["停車場名稱 is missing", "總車位數 is not a whole number: abc"]
    assert refused[7] == ["has 9 fields where the header has 10"]
    assert refused[9] == ["the same identifier as line 2"]
    assert refused[10] == [
        "the coordinates (2764567.8, 271234.5) look like TWD97 metres; WGS84 degrees are expected"
    ]
    assert refused[11] == ["101 free of 100: more free than there are"]
    assert set(ParkingLot.objects.filter(source="bad").values_list("source_id", flat=True)) == {"P1", "P9"}
    nine = ParkingLot.objects.get(source="bad", source_id="P9")
    assert (nine.available_spaces, nine.fee, nine.district.name_zh) == (None, "", "八德區")


def test_json_rows_are_reported_by_the_line_they_start_on():
    rows = [
        {"停車場名稱": "好", "地址": "桃園市龜山區萬壽路1號", "總車位數": 10, "剩餘車位數": 1, "經度": 121.338, "緯度": 24.9925},
        {"停車場名稱": "壞", "地址": "桃園市龜山區萬壽路2號", "總車位數": 10, "剩餘車位數": -1, "經度": 121.338, "緯度": 24.9925},
        "not an object",
    ]  # fmt: skip
    text = json.dumps({"success": True, "result": {"records": rows}}, ensure_ascii=False, indent=2)
    load = nearby.nearby_load(kind="parking", data=text.encode(), file_name="lots.json", source="j")
    lines = text.splitlines()
    second = next(n for n, line in enumerate(lines, 1) if '"壞"' in line) - 1  # the "{" above its first key
    third = next(n for n, line in enumerate(lines, 1) if "not an object" in line)
    assert lines[second - 1].strip() == "{"
    assert [(p["line"], p["problems"]) for p in load.problems] == [
        (second, ["剩餘車位數 is negative: -1"]),
        (third, ["the record is not an object"]),
    ]
    lot = ParkingLot.objects.get(source="j")
    assert lot.name == "好" and lot.source_id.startswith("h-")  # no id column: derived from name and address
    assert lot.district.name_zh == "龜山區"  # from the address


def test_a_reload_updates_in_place_and_keeps_the_history(samples):
    document = json.loads(nearby.SAMPLES["parking"].read_text(encoding="utf-8"))
    lots = document["parkingLots"]
    lots[0]["剩餘車位數"] = 5
    lots[0]["更新時間"] = "2026-11-20 09:00:00"
    lots[1]["剩餘車位數"] = 7
    lots[1]["更新時間"] = "2026-11-19 09:00:00"  # older than what is held: not applied
    dropped = lots.pop()
    lots.append({**lots[2], "停車場編號": "TYDEMO-P999", "停車場名稱": "新開的停車場（示範）"})
    data = json.dumps(document, ensure_ascii=False).encode()
    load = nearby.nearby_load(kind="parking", data=data, file_name="refresh.json", source="demo")
    assert (load.created, load.updated, load.unchanged, load.rejected, load.absent) == (1, 1, 29, 0, 1)
    first = ParkingLot.objects.get(source="demo", source_id="TYDEMO-P001")
    assert first.available_spaces == 5
    assert timezone.localtime(first.updated_at).hour == 9
    assert ParkingLot.objects.get(source="demo", source_id="TYDEMO-P002").available_spaces != 7
    [older] = load.warnings
    assert older["source_id"] == "TYDEMO-P002" and "older than the data already held" in older["warnings"][0]
    assert ParkingLot.objects.filter(
        source="demo", source_id=dropped["停車場編號"]
    ).exists()  # kept, counted absent
    again = nearby.nearby_load(kind="parking", data=data, file_name="refresh.json", source="demo")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 31)
    assert list(NearbyLoad.objects.filter(kind="parking").values_list("created", "updated")) == [
        (0, 0), (1, 1), (31, 0)]  # fmt: skip


def test_a_file_without_a_required_column_loads_nothing():
    text = "名稱,地址,經度,緯度\r\n某停車場,桃園市桃園區,121.3,24.99\r\n"
    with pytest.raises(nearby.DatasetError, match="no column for total_spaces"):
        nearby.nearby_load(kind="parking", data=text.encode(), file_name="x.csv", source="x")
    with pytest.raises(nearby.DatasetError, match="not valid JSON"):
        nearby.nearby_load(kind="parking", data=b'[{"a": 1,}]', file_name="x.json", source="x")
    assert not ParkingLot.objects.filter(source="x").exists() and not NearbyLoad.objects.exists()


def test_undecodable_bytes_refuse_only_their_row():
    good = "A,站一,桃園區,桃園市桃園區中正路1號,4,1,示範,24小時,121.30,24.99\r\n".encode("cp950")
    broken = b"B,\xff\xfe,\xb0\xea,x,4,1,x,x,121.30,24.99\r\n"
    header = "站點編號,站點名稱,行政區,地址,充電座數,可用充電座數,營運單位,開放時間,經度,緯度\r\n".encode(
        "cp950"
    )
    load = nearby.nearby_load(kind="charging", data=header + good + broken + good.replace(b"A,", b"C,"),
                              file_name="ev.csv", source="b5")  # fmt: skip
    assert load.encoding == "cp950" and load.created == 2
    assert [p["line"] for p in load.problems] == [3]
    assert "not valid text" in load.problems[0]["problems"][0]


def test_another_format_is_another_field_map(tmp_path):
    field_map = tmp_path / "map.json"
    field_map.write_text(json.dumps({"name": "ckan-en", "kind": "charging", "source": "ckan",
                                     "records_path": ["result", "records"],
                                     "columns": {"source_id": "uid", "name": "title", "sockets": "plugs",
                                                 "latitude": "y", "longitude": "x", "address": "addr"}}))  # fmt: skip
    document = {"result": {"records": [{"uid": 7, "title": "Demo hub", "plugs": "6", "y": "24.95", "x": "121.22",
                                        "addr": "桃園市中壢區中山路1號"}]}}  # fmt: skip
    load = nearby.nearby_load(kind="charging", data=json.dumps(document).encode(), file_name="ev.json",
                              field_map=nearby.field_map_load(field_map))  # fmt: skip
    assert (load.source, load.field_map, load.created) == ("ckan", "ckan-en", 1)
    station = ChargingStation.objects.get(source="ckan", source_id="7")
    assert (station.sockets, station.district.name_zh) == (6, "中壢區")


def test_the_cli_loads_the_sample_and_reports(capsys):
    from django.core.management import call_command

    call_command("card_nearby", "load", "charging")
    assert "40 created" in capsys.readouterr().out
    call_command("card_nearby", "load", "charging", "--json")
    assert json.loads(capsys.readouterr().out)["unchanged"] == 40


# --- the map API ------------------------------------------------------------------------------


def test_parking_by_district_only_available_and_nearest_first(client, samples):
    zhongli = client.get(f"{BASE}/parking", {"district": "68000020"}).json()
    assert zhongli["count"] == ParkingLot.objects.filter(district__code="68000020").count() == 5
    assert {item["district"] for item in zhongli["items"]} == {"中壢區"}
    assert all(item["distance_m"] is None for item in zhongli["items"])
    free = client.get(f"{BASE}/parking", {"only_available": "true", "page_size": 200}).json()
    assert free["count"] == ParkingLot.objects.filter(available_spaces__gt=0).count() < 31
    assert all(item["available_spaces"] > 0 for item in free["items"])

    near = client.get(f"{BASE}/parking", {"lat": 24.9537, "lon": 121.2254, "radius": 2000}).json()
    distances = [item["distance_m"] for item in near["items"]]
    assert distances == sorted(distances) and distances and distances[-1] <= 2000
    first = ParkingLot.objects.get(source_id=near["items"][0]["source_id"])
    expected = nearby.EARTH_RADIUS_M * 2 * _haversine_half(24.9537, 121.2254, float(first.latitude),
                                                           float(first.longitude))  # fmt: skip
    assert abs(distances[0] - expected) <= 1
    farther = client.get(f"{BASE}/parking", {"lat": 24.9537, "lon": 121.2254, "radius": 20000}).json()
    assert farther["count"] > near["count"]


def _haversine_half(lat1, lon1, lat2, lon2):
    import math

    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return math.asin(math.sqrt(a))


def test_charging_stations_filters_and_bad_points(client, samples):
    fuxing = client.get(f"{BASE}/charging-stations", {"district": "68000130"}).json()
    assert fuxing["count"] == 2 and {i["district"] for i in fuxing["items"]} == {"復興區"}
    near = client.get(
        f"{BASE}/charging-stations", {"lat": 24.9937, "lon": 121.3010, "only_available": True}
    ).json()
    assert near["count"] >= 1
    assert all(i["available_sockets"] > 0 and i["distance_m"] <= 3000 for i in near["items"])
    assert [i["distance_m"] for i in near["items"]] == sorted(i["distance_m"] for i in near["items"])
    only_lat = client.get(f"{BASE}/charging-stations", {"lat": 24.99})
    assert only_lat.status_code == 400 and only_lat.json()["error"]["code"] == "invalid_input"
    assert client.get(f"{BASE}/parking", {"lat": 35.68, "lon": 139.69}).status_code == 400
    assert client.get(f"{BASE}/parking", {"radius": 10**6}).status_code == 422


# --- hospitals --------------------------------------------------------------------------------


@pytest.fixture
def clinic(db):
    hospital.sandbox_clinics_setup()
    return HospitalClinic.objects.create(hospital_code="tydemo", code="t-01", name="測試門診", department="內科",
                                         doctor="測試醫師", schedule={"morning": [0, 1], "evening": [1]}, capacity=3)  # fmt: skip


def _book(client_for, user, date, period="morning", clinic="t-01", hospital_code="tydemo"):
    return client_for(user).post(f"{BASE}/me/hospital-appointments", {"hospital": hospital_code, "clinic": clinic,
                                 "date": date.isoformat(), "period": period}, **JSON)  # fmt: skip


def test_clinics_and_their_sessions(client, clinic, monday_morning):
    assert client.get(f"{BASE}/hospitals").json() == [{"code": "tydemo", "name": "桃園示範醫院（示範）"}]
    clinics = {c["code"]: c for c in client.get(f"{BASE}/hospitals/tydemo/clinics").json()}
    assert len(clinics) == len(hospital.SANDBOX_CLINICS) + 1
    sessions = clinics["t-01"]["sessions"]
    monday = monday_morning.date()
    assert sessions[:3] == [
        {"date": monday.isoformat(), "period": "morning", "booked": 0, "capacity": 3, "is_open": True},
        {"date": (monday + datetime.timedelta(days=1)).isoformat(), "period": "morning", "booked": 0, "capacity": 3,
         "is_open": True},
        {"date": (monday + datetime.timedelta(days=1)).isoformat(), "period": "evening", "booked": 0, "capacity": 3,
         "is_open": True},
    ]  # fmt: skip
    assert len(sessions) == 6  # two weeks
    assert client.get(f"{BASE}/hospitals/nowhere/clinics").status_code == 404
    assert client.get(f"{BASE}/hospitals/tydemo/clinics/nope/queue").status_code == 404


def test_booking_queue_and_cancel(client, client_for, clinic, patients, monday_morning):
    today = monday_morning.date()
    numbers = []
    for user, _person in patients[:3]:
        response = _book(client_for, user, today)
        assert response.status_code == 201, response.content
        numbers.append(response.json()["number"])
    assert numbers == [1, 2, 3]
    replay = _book(client_for, patients[0][0], today)
    assert replay.status_code == 200 and replay.json()["number"] == 1
    full = _book(client_for, patients[3][0], today)
    assert full.status_code == 409 and full.json()["error"]["code"] == "conflict"

    queue_url = f"{BASE}/hospitals/tydemo/clinics/t-01/queue"
    queue = client.get(queue_url).json()
    assert (queue["date"], queue["period"], queue["current_number"], queue["waiting"]) == (
        today.isoformat(), "morning", 0, 3)  # fmt: skip
    sandbox = hospital.hospital_adapter("tydemo")
    assert sandbox.call_next(clinic="t-01").current_number == 1
    second = HospitalAppointment.objects.get(person=patients[1][1])
    cancelled = client_for(patients[1][0]).delete(f"{BASE}/me/hospital-appointments/{second.pk}")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert client_for(patients[1][0]).delete(f"{BASE}/me/hospital-appointments/{second.pk}").json()["state"] == (
        "cancelled")  # fmt: skip
    assert (client.get(queue_url).json()["current_number"], client.get(queue_url).json()["waiting"]) == (1, 1)
    assert sandbox.call_next(clinic="t-01").current_number == 3  # the cancelled number is skipped
    with pytest.raises(Conflict):
        sandbox.call_next(clinic="t-01")
    again = _book(client_for, patients[3][0], today)  # a cancelled place frees a seat; numbers never repeat
    assert again.status_code == 201 and again.json()["number"] == 4


def test_sessions_the_clinic_does_not_hold_or_too_far_or_over(client_for, clinic, patients, monday_morning):
    user = patients[0][0]
    monday = monday_morning.date()
    wednesday = _book(client_for, user, monday + datetime.timedelta(days=2))
    assert wednesday.status_code == 400 and "沒有這個時段" in wednesday.json()["error"]["message"]
    far = _book(client_for, user, monday + datetime.timedelta(days=35))
    assert far.status_code == 400 and "28 天" in far.json()["error"]["message"]
    past = _book(client_for, user, monday - datetime.timedelta(days=6), period="evening")  # last Tuesday
    assert past.status_code == 400 and "已結束" in past.json()["error"]["message"]
    unknown = _book(client_for, user, monday, clinic="nope")
    assert unknown.status_code == 404
    bad_period = _book(client_for, user, monday, period="night")
    assert bad_period.status_code == 422
    assert not HospitalAppointment.objects.exists()


def test_a_citizen_sees_and_cancels_only_his_own(
    client, client_for, token_for, clinic, patients, monday_morning
):
    (alice, _a), (bob, _b) = patients[:2]
    monday = monday_morning.date()
    mine = _book(client_for, alice, monday).json()
    _book(client_for, bob, monday + datetime.timedelta(days=1), period="evening")
    listed = client.get(f"{BASE}/me/hospital-appointments", **token_for(alice)).json()
    assert [(i["id"], i["hospital_name"], i["clinic_name"], i["state"]) for i in listed["items"]] == [
        (mine["id"], "桃園示範醫院（示範）", "測試門診 測試醫師", "booked")]  # fmt: skip
    stranger = client_for(bob).delete(f"{BASE}/me/hospital-appointments/{mine['id']}")
    assert stranger.status_code == 404 and stranger.json()["error"]["code"] == "not_found"
    assert HospitalAppointment.objects.get(pk=mine["id"]).state == "booked"
    assert client.get(f"{BASE}/me/hospital-appointments").status_code == 401
    assert client.post(f"{BASE}/me/hospital-appointments", {}, **JSON).status_code == 401
    login_without_resident = type(alice).objects.create_user("no-person", password="x" * 12)
    assert _book(client_for, login_without_resident, monday).status_code == 404
    appointment = HospitalAppointment.objects.get(pk=mine["id"])
    with pytest.raises(PermissionDenied):
        hospital.hospital_appointment_book(actor=bob, person=appointment.person, hospital_code="tydemo",
                                           clinic_code="t-01", session=hospital.Session(monday, "morning"))  # fmt: skip
    with pytest.raises(PermissionDenied):
        hospital.hospital_appointment_cancel(actor=bob, appointment=appointment)
    with pytest.raises(NotFound):
        hospital.access_appointment_by_id(bob, appointment.pk)


@pytest.mark.parametrize(
    ("method", "url", "public"),
    [("get", "/parking", True), ("get", "/charging-stations", True), ("get", "/hospitals", True),
     ("get", "/hospitals/tydemo/clinics", True), ("get", "/hospitals/tydemo/clinics/t-01/queue", True),
     ("get", "/me/hospital-appointments", False), ("post", "/me/hospital-appointments", False),
     ("delete", "/me/hospital-appointments/1", False)],
)  # fmt: skip
def test_who_may_call_each_endpoint(client, client_for, staff, clinic, method, url, public):
    """The map and the queues are public; appointments need a login with a resident record (staff
    logins have none: their list is empty, booking or cancelling is 404), and are never anyone else's."""
    anonymous = getattr(client, method)(BASE + url, **({} if method != "post" else {"data": {}, **JSON}))
    assert anonymous.status_code == (200 if public else 401)
    clerk = getattr(client_for(staff["clerk_a"]), method)(BASE + url, **({} if method != "post" else {
        "data": {"hospital": "tydemo", "clinic": "t-01", "date": "2099-01-05", "period": "morning"}, **JSON}))  # fmt: skip
    listing_own = method == "get" and url == "/me/hospital-appointments"
    assert clerk.status_code == (200 if public or listing_own else 404)
    if listing_own:
        assert clerk.json()["items"] == []


class FakeHospital:
    """Another hospital's system, behind the same four methods (kept in memory, as a remote HIS
    would keep it away from our database)."""

    calls: list = []
    down = False

    def __init__(self, *, code, name, ward="3F"):
        self.code, self.name, self.ward = code, name, ward

    def clinics(self):
        return [hospital.Clinic(code="derm", name="皮膚科", department="皮膚科", room=self.ward)]

    def book(self, *, person, clinic, session):
        if self.down:
            raise hospital.HospitalUnavailable("the hospital's system does not answer")
        if clinic != "derm":
            raise NotFound("no such clinic")
        self.calls.append(("book", person.name, clinic, session))
        return hospital.Booking(number=42, reference="HIS-778899", clinic_name="皮膚科 王醫師")

    def cancel(self, *, reference):
        self.calls.append(("cancel", reference))

    def queue_status(self, *, clinic):
        return hospital.QueueStatus(clinic=clinic, date=timezone.localdate(), period="afternoon", current_number=17,
                                    waiting=25, updated_at=timezone.now())  # fmt: skip


def test_any_adapter_of_the_protocol_serves_a_hospital(
    client, client_for, settings, patients, monday_morning
):
    settings.CARD_HOSPITAL_ADAPTERS = {"fake": {"class": FakeHospital, "name": "示範私立醫院", "ward": "5F"}}
    FakeHospital.calls, FakeHospital.down = [], False
    assert isinstance(hospital.hospital_adapter("fake"), hospital.HospitalAdapter)
    assert isinstance(hospital.SandboxHospitalAdapter(code="x"), hospital.HospitalAdapter)
    assert client.get(f"{BASE}/hospitals/fake/clinics").json()[0]["room"] == "5F"
    assert client.get(f"{BASE}/hospitals/tydemo/clinics").status_code == 404  # only what is configured
    queue = client.get(f"{BASE}/hospitals/fake/clinics/derm/queue").json()
    assert (queue["hospital"], queue["current_number"], queue["waiting"]) == ("fake", 17, 25)

    user, person = patients[0]
    tuesday = monday_morning.date() + datetime.timedelta(days=1)
    booked = _book(client_for, user, tuesday, period="afternoon", clinic="derm", hospital_code="fake")
    assert booked.status_code == 201
    assert (booked.json()["number"], booked.json()["hospital_name"]) == (42, "示範私立醫院")
    assert FakeHospital.calls == [("book", person.name, "derm", hospital.Session(tuesday, "afternoon"))]
    client_for(user).delete(f"{BASE}/me/hospital-appointments/{booked.json()['id']}")
    assert FakeHospital.calls[-1] == ("cancel", "HIS-778899")

    FakeHospital.down = True
    down = _book(client_for, user, tuesday, period="evening", clinic="derm", hospital_code="fake")
    assert down.status_code == 503 and down.json()["error"]["code"] == "hospital_unavailable"
    assert HospitalAppointment.objects.filter(state="booked").count() == 0


def test_the_registry_reads_the_environment_when_settings_say_nothing(settings, monkeypatch):
    if hasattr(settings, "CARD_HOSPITAL_ADAPTERS"):
        del settings.CARD_HOSPITAL_ADAPTERS
    assert list(hospital.hospitals()) == ["tydemo"]
    monkeypatch.setenv("CARD_HOSPITAL_ADAPTERS", json.dumps(
        {"0132010014": {"class": "civicstack.card.hospital.SandboxHospitalAdapter", "name": "示範二院"}}))  # fmt: skip
    assert {code: a.name for code, a in hospital.hospitals().items()} == {"0132010014": "示範二院"}
    monkeypatch.setenv("CARD_HOSPITAL_ADAPTERS", "{not json")
    with pytest.raises(InvalidInput):
        hospital.hospitals()


def test_the_demo_loads_the_samples_and_the_sandbox_hospital(citizen):
    first = nearby.generate(scale="small", seed=2019)
    assert (first["parking_lots"], first["charging_stations"], first["sample_rows_rejected"]) == (31, 40, 0)
    assert HospitalClinic.objects.filter(hospital_code="tydemo").count() == len(hospital.SANDBOX_CLINICS)
    user, person = citizen
    assert HospitalAppointment.objects.filter(person=person, state="booked").count() == 1
    again = nearby.generate(scale="small", seed=2019)
    assert (again["parking_lots"], again["hospital_clinics_created"]) == (31, 0)
    assert HospitalAppointment.objects.filter(person=person).count() == 1
