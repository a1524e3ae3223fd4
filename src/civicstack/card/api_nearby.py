"""Citizen card API, part 3 (issue 5 §6, mounted by api.py under the same /api/v1/card/): public
parking with live free spaces and EV-scooter charging stations near the holder, from the city's
open datasets (card/nearby.py), and hospital appointments and queue numbers through each
hospital's adapter (card/hospital.py). The maps are public; appointments are the citizen's own."""

import datetime
from typing import Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import Field

from civicstack.core.api_support import ERROR_RESPONSES, USER_AUTH, ErrorOut, Pagination, require_user
from civicstack.core.errors import NotFound
from civicstack.core.selectors import person_of_user

from . import hospital, nearby
from .models import HospitalAppointment

router = Router(tags=["card"])

PeriodName = Literal["morning", "afternoon", "evening"]
AppointmentStateName = Literal["booked", "cancelled"]
HOSPITAL_RESPONSES = {**ERROR_RESPONSES, 503: ErrorOut}


# --- parking and charging stations ------------------------------------------------------------


class NearbyFilter(Schema):
    district: str | None = Field(None, max_length=16, description="district code, e.g. 68000020 (中壢區)")
    lat: float | None = Field(None, ge=-90, le=90, description="with lon: nearest first, within radius")
    lon: float | None = Field(None, ge=-180, le=180)
    radius: int = Field(3000, ge=50, le=nearby.MAX_RADIUS_M, description="metres, with lat/lon")
    only_available: bool = Field(False, description="only places with a free space (socket) now")

    def selection(self) -> dict:
        return {"district_code": self.district or "", "latitude": self.lat, "longitude": self.lon,
                "radius_m": self.radius, "only_available": self.only_available}  # fmt: skip


class PlaceOut(Schema):
    id: int
    source: str
    source_id: str
    name: str
    district: str | None
    district_code: str | None
    address: str
    latitude: float
    longitude: float
    distance_m: int | None = Field(None, description="from lat/lon, when given")
    updated_at: datetime.datetime = Field(description="when the dataset last updated this place")

    @staticmethod
    def resolve_district(obj) -> str | None:
        return obj.district.name_zh if obj.district_id else None

    @staticmethod
    def resolve_district_code(obj) -> str | None:
        return obj.district.code if obj.district_id else None

    @staticmethod
    def resolve_distance_m(obj) -> int | None:
        distance = getattr(obj, "distance_m", None)
        return round(distance) if distance is not None else None


class ParkingLotOut(PlaceOut):
    total_spaces: int
    available_spaces: int | None = Field(description="null when the dataset has no live count")
    fee: str


class ChargingStationOut(PlaceOut):
    sockets: int
    available_sockets: int | None
    operator: str
    opening_hours: str


@router.get("/parking", response={200: list[ParkingLotOut], **ERROR_RESPONSES}, auth=None)
@paginate(Pagination)
def parking_list(request: HttpRequest, filters: Query[NearbyFilter]):
    """Public parking lots with their free spaces, by district or nearest first around a point."""
    return nearby.parking_lots(**filters.selection())


@router.get("/charging-stations", response={200: list[ChargingStationOut], **ERROR_RESPONSES}, auth=None)
@paginate(Pagination)
def charging_list(request: HttpRequest, filters: Query[NearbyFilter]):
    """EV-scooter charging stations, by district or nearest first around a point."""
    return nearby.charging_stations(**filters.selection())


# --- hospitals --------------------------------------------------------------------------------


class HospitalOut(Schema):
    code: str
    name: str


@router.get("/hospitals", response={200: list[HospitalOut], **ERROR_RESPONSES}, auth=None)
def hospitals_list(request: HttpRequest):
    """The hospitals whose appointments the app can book."""
    return [{"code": code, "name": adapter.name} for code, adapter in hospital.hospitals().items()]


class SessionOut(Schema):
    date: datetime.date
    period: PeriodName
    booked: int | None
    capacity: int | None
    is_open: bool


class ClinicOut(Schema):
    code: str
    name: str
    department: str
    doctor: str
    room: str
    sessions: list[SessionOut]


@router.get("/hospitals/{code}/clinics", response={200: list[ClinicOut], **HOSPITAL_RESPONSES}, auth=None)
def hospital_clinics(request: HttpRequest, code: str):
    """The hospital's clinics and their sessions of the next two weeks, with how many are booked."""
    return [clinic.__dict__ for clinic in hospital.hospital_adapter(code).clinics()]


class QueueOut(Schema):
    hospital: str
    clinic: str
    date: datetime.date
    period: PeriodName | None = Field(description="null: no session of this clinic today")
    current_number: int = Field(description="the number being seen; 0 before the first is called")
    waiting: int = Field(description="booked numbers after it")
    updated_at: datetime.datetime


@router.get(
    "/hospitals/{code}/clinics/{clinic}/queue", response={200: QueueOut, **HOSPITAL_RESPONSES}, auth=None
)
def hospital_queue(request: HttpRequest, code: str, clinic: str):
    """The clinic's queue now (看診進度): the number being seen and how many are waiting."""
    status = hospital.hospital_adapter(code).queue_status(clinic=clinic)
    return {"hospital": code, **status.__dict__}


class AppointmentIn(Schema):
    hospital: str = Field(max_length=20)
    clinic: str = Field(max_length=20)
    date: datetime.date
    period: PeriodName


class AppointmentOut(Schema):
    id: int
    hospital: str
    hospital_name: str
    clinic: str
    clinic_name: str
    date: datetime.date
    period: PeriodName
    number: int
    state: AppointmentStateName
    created_at: datetime.datetime
    cancelled_at: datetime.datetime | None


def _appointment_out(appointment: HospitalAppointment, names: dict[str, str]) -> dict:
    return {"id": appointment.pk, "hospital": appointment.hospital_code,
            "hospital_name": names.get(appointment.hospital_code, appointment.hospital_code),
            "clinic": appointment.clinic_code, "clinic_name": appointment.clinic_name,
            "date": appointment.session_date, "period": appointment.period, "number": appointment.number,
            "state": appointment.state, "created_at": appointment.created_at,
            "cancelled_at": appointment.cancelled_at}  # fmt: skip


def _hospital_names() -> dict[str, str]:
    return {code: str(options.get("name") or code) for code, options in hospital.adapter_settings().items()}


def _me(request: HttpRequest):
    user = require_user(request)
    person = person_of_user(user)
    if person is None:
        raise NotFound(_("No resident record is linked to this login."))
    return user, person


@router.post("/me/hospital-appointments", response={200: AppointmentOut, 201: AppointmentOut, **HOSPITAL_RESPONSES},
             auth=USER_AUTH)  # fmt: skip
def my_appointment_book(request: HttpRequest, payload: AppointmentIn):
    """Book a number for oneself (201); asking again for a session already booked answers with
    that appointment (200)."""
    user, person = _me(request)
    appointment, created = hospital.hospital_appointment_book(
        actor=user, person=person, hospital_code=payload.hospital, clinic_code=payload.clinic,
        session=hospital.Session(payload.date, payload.period),
    )  # fmt: skip
    return Status(201 if created else 200, _appointment_out(appointment, _hospital_names()))


@router.get(
    "/me/hospital-appointments", response={200: list[AppointmentOut], **ERROR_RESPONSES}, auth=USER_AUTH
)
@paginate(Pagination)
def my_appointments(request: HttpRequest):
    """One's own appointments, latest session first, cancelled ones included (none for a login
    with no resident record, like a staff-only account)."""
    person = person_of_user(require_user(request))
    if person is None:
        return []
    names = _hospital_names()
    return [_appointment_out(a, names) for a in hospital.appointments_of(person)[:500]]


@router.delete("/me/hospital-appointments/{int:appointment_id}", response={200: AppointmentOut, **HOSPITAL_RESPONSES},
               auth=USER_AUTH)  # fmt: skip
def my_appointment_cancel(request: HttpRequest, appointment_id: int):
    """Cancel one's own appointment before its session ends; cancelling again changes nothing."""
    user = require_user(request)
    appointment = hospital.access_appointment_by_id(user, appointment_id)
    appointment = hospital.hospital_appointment_cancel(actor=user, appointment=appointment)
    return _appointment_out(appointment, _hospital_names())
