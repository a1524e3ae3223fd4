"""The HTTP hospital adapter against a real HTTP server speaking the documented protocol: what it
sends (the bearer token, only the patient fields registration needs) and how each answer of the
hospital's system becomes an answer of the city's API."""

import datetime
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from civicstack.card import hospital
from civicstack.card.models import HospitalAppointment
from civicstack.core import services as core_services

from .test_nearby import BASE, _book

TOKEN = "his-token-123"


class FakeHis(BaseHTTPRequestHandler):
    """A hospital's system: one clinic with one free place on Tuesday afternoon."""

    requests: list = []
    mode = "ok"  # ok | broken | garbage | slow
    booked = 0

    def log_message(self, *args):
        pass

    def _answer(self, status: int, body=None, raw: bytes | None = None):
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, method: str):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        type(self).requests.append((method, self.path, self.headers.get("Authorization"), body))
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._answer(401, {"error": {"code": "unauthorized", "message": "no"}})
        if self.mode == "broken":
            return self._answer(500, {"error": {"code": "oops", "message": "database down"}})
        if self.mode == "garbage":
            return self._answer(200, raw=b"<html>maintenance</html>")
        if self.mode == "slow":
            time.sleep(1.5)
        tuesday = (
            datetime.date.today() + datetime.timedelta(days=8 - datetime.date.today().isoweekday())
        ).isoformat()
        if method == "GET" and self.path == "/his/clinics":
            return self._answer(200, {"clinics": [{"code": "0101", "name": "家醫科 陳醫師", "department": "家醫科",
                                                   "doctor": "陳醫師", "room": "2F-12", "sessions": [
                                                       {"date": tuesday, "period": "afternoon", "booked": 29,
                                                        "capacity": 30, "open": True}]}]})  # fmt: skip
        if method == "POST" and self.path == "/his/appointments":
            if body["clinic"] != "0101":
                return self._answer(404, {"error": {"code": "no_clinic", "message": "查無此診別"}})
            if type(self).booked >= 1:
                return self._answer(409, {"error": {"code": "full", "message": "本診已額滿"}})
            type(self).booked += 1
            return self._answer(201, {"number": 30, "reference": "A/77 01", "clinic_name": "家醫科 陳醫師"})
        if method == "DELETE" and self.path == "/his/appointments/A%2F77%2001":
            type(self).booked -= 1
            return self._answer(204)
        if method == "GET" and self.path == "/his/clinics/0101/queue":
            return self._answer(200, {"date": tuesday, "period": "afternoon", "current_number": 12, "waiting": 18,
                                      "updated_at": "2026-11-27T14:05:00+08:00"})  # fmt: skip
        return self._answer(404, {"error": {"code": "not_found", "message": "not found"}})

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_DELETE(self):
        self._handle("DELETE")


@pytest.fixture
def his(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeHis)
    server.handle_error = lambda request, address: None  # the slow case: the adapter hung up first
    threading.Thread(target=server.serve_forever, daemon=True).start()
    FakeHis.requests, FakeHis.mode, FakeHis.booked = [], "ok", 0
    settings.CARD_HOSPITAL_ADAPTERS = {"0132010014": {
        "class": "civicstack.card.hospital.HttpHospitalAdapter", "name": "示範綜合醫院",
        "base_url": f"http://127.0.0.1:{server.server_port}/his", "token": TOKEN, "timeout": 0.5,
    }}  # fmt: skip
    yield server
    server.shutdown()


def test_clinics_booking_queue_and_cancel_over_http(client, client_for, his, patients, monday_morning):
    clinics = client.get(f"{BASE}/hospitals/0132010014/clinics").json()
    assert clinics[0]["code"] == "0101" and clinics[0]["room"] == "2F-12"
    queue = client.get(f"{BASE}/hospitals/0132010014/clinics/0101/queue").json()
    assert (queue["current_number"], queue["waiting"]) == (12, 18)

    (user, person), (other_user, _other) = patients[0], patients[1]
    tuesday = monday_morning.date() + datetime.timedelta(days=1)
    booked = _book(client_for, user, tuesday, period="afternoon", clinic="0101", hospital_code="0132010014")
    assert booked.status_code == 201, booked.content
    assert booked.json()["number"] == 30
    method, path, auth, body = FakeHis.requests[-1]
    assert (method, path, auth) == ("POST", "/his/appointments", f"Bearer {TOKEN}")
    assert body == {"clinic": "0101", "date": tuesday.isoformat(), "period": "afternoon",
                    "patient": {"national_id": core_services.person_identifier(person), "name": person.name,
                                "birth_date": person.birth_date.isoformat()}}  # fmt: skip

    full = _book(
        client_for, other_user, tuesday, period="afternoon", clinic="0101", hospital_code="0132010014"
    )
    assert full.status_code == 409 and "額滿" in full.json()["error"]["message"]
    unknown = _book(
        client_for, other_user, tuesday, period="afternoon", clinic="9999", hospital_code="0132010014"
    )
    assert unknown.status_code == 404

    cancelled = client_for(user).delete(f"{BASE}/me/hospital-appointments/{booked.json()['id']}")
    assert cancelled.status_code in (200, 204)
    assert FakeHis.requests[-1][:2] == ("DELETE", "/his/appointments/A%2F77%2001")
    assert HospitalAppointment.objects.filter(state="booked").count() == 0


@pytest.mark.parametrize("mode", ["broken", "garbage", "slow"])
def test_a_failing_hospital_is_a_503_and_nothing_is_recorded(
    client, client_for, his, patients, monday_morning, mode
):
    FakeHis.mode = mode
    assert client.get(f"{BASE}/hospitals/0132010014/clinics").status_code == 503
    user, _person = patients[0]
    tuesday = monday_morning.date() + datetime.timedelta(days=1)
    booked = _book(client_for, user, tuesday, period="afternoon", clinic="0101", hospital_code="0132010014")
    assert booked.status_code == 503 and booked.json()["error"]["code"] == "hospital_unavailable"
    assert not HospitalAppointment.objects.exists()


def test_the_adapter_needs_an_http_url():
    with pytest.raises(hospital.InvalidInput):
        hospital.HttpHospitalAdapter(code="x", base_url="file:///etc/passwd")
    assert isinstance(
        hospital.HttpHospitalAdapter(code="x", base_url="https://his.example"), hospital.HospitalAdapter
    )
