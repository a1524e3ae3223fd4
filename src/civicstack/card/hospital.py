"""Hospital appointments (掛號) and queue numbers (看診進度) through hospital adapters (issue 5 §6).

Each hospital the app offers is served by an adapter: an object with the four methods of
``HospitalAdapter`` (its clinics and their sessions, book a number, cancel, the queue now). The
registry maps hospital codes to adapters from the ``CARD_HOSPITAL_ADAPTERS`` setting, or the
environment variable of that name (JSON), else the default: one sandbox hospital. A value is::

    {"tydemo": {"class": "civicstack.card.hospital.SandboxHospitalAdapter", "name": "桃園示範醫院（示範）"},
     "0132010014": {"class": "ourcity.his.HttpHospitalAdapter", "name": "…", "base_url": "https://…"}}

every key but ``class`` is passed to the adapter's constructor. The sandbox adapter keeps its
clinics in ``HospitalClinic`` and its numbers in the citizen-side ``HospitalAppointment`` table;
a real hospital's adapter calls the hospital's system instead (docs/card.md, "Hospital adapters").

Only the logged-in citizen books for himself: the services take the actor and the person and
refuse anyone else's. Every booking and cancellation is an audit event.
"""

import datetime
import json
import os
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Max
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from civicstack.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied, ServiceError
from civicstack.core.models import Person, User
from civicstack.core.services import audit_record

from .models import HospitalAppointment, HospitalClinic, Period

SANDBOX_CODE = "tydemo"
DEFAULT_ADAPTERS = {
    SANDBOX_CODE: {"class": "civicstack.card.hospital.SandboxHospitalAdapter", "name": "桃園示範醫院（示範）"}
}
# When each session runs, Taipei time; a session can be booked until it ends.
PERIOD_HOURS = {
    Period.MORNING: (datetime.time(8, 30), datetime.time(12, 0)),
    Period.AFTERNOON: (datetime.time(13, 30), datetime.time(17, 0)),
    Period.EVENING: (datetime.time(18, 0), datetime.time(21, 0)),
}
BOOKING_DAYS = 28  # how far ahead a session may be booked
LISTED_DAYS = 14  # how far ahead ``clinics()`` lists sessions
MAX_OPEN_APPOINTMENTS = 6  # booked and not yet over, per person


class HospitalUnavailable(ServiceError):
    """The hospital's system did not answer; an adapter raises it, the API answers 503."""

    code = "hospital_unavailable"
    status = 503


# --- what adapters exchange -------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    date: datetime.date
    period: str  # a Period value


@dataclass(frozen=True)
class SessionInfo:
    date: datetime.date
    period: str
    booked: int | None  # None when the hospital does not say
    capacity: int | None
    is_open: bool


@dataclass(frozen=True)
class Clinic:
    code: str
    name: str
    department: str
    doctor: str = ""
    room: str = ""
    sessions: tuple[SessionInfo, ...] = ()


@dataclass(frozen=True)
class Booking:
    number: int
    reference: str  # the hospital's own key for the appointment; ``cancel`` receives it
    clinic_name: str


@dataclass(frozen=True)
class QueueStatus:
    clinic: str
    date: datetime.date
    period: str | None  # None: the clinic holds no session today
    current_number: int  # 0 before the first patient is called
    waiting: int
    updated_at: datetime.datetime


@runtime_checkable
class HospitalAdapter(Protocol):
    """What the app needs of a hospital's system. Raise ``NotFound`` for an unknown clinic or
    appointment, ``InvalidInput`` for a session the clinic does not hold, ``Conflict`` for a full
    session, and ``HospitalUnavailable`` when the hospital's system cannot be reached. ``book`` and
    ``cancel`` run inside the city's database transaction: an adapter that raises leaves nothing
    recorded on the city's side."""

    code: str
    name: str

    def clinics(self) -> list[Clinic]: ...

    def book(self, *, person: Person, clinic: str, session: Session) -> Booking: ...

    def cancel(self, *, reference: str) -> None: ...

    def queue_status(self, *, clinic: str) -> QueueStatus: ...


# --- the registry -----------------------------------------------------------------------------


def adapter_settings() -> dict:
    configured = getattr(settings, "CARD_HOSPITAL_ADAPTERS", None)
    if configured is None and os.environ.get("CARD_HOSPITAL_ADAPTERS"):
        try:
            configured = json.loads(os.environ["CARD_HOSPITAL_ADAPTERS"])
        except ValueError as exc:
            raise InvalidInput(f"CARD_HOSPITAL_ADAPTERS is not valid JSON: {exc}") from exc
    return DEFAULT_ADAPTERS if configured is None else configured


def hospitals() -> dict[str, HospitalAdapter]:
    """Every configured hospital's adapter, by hospital code (built on each call: cheap, and a
    changed setting takes effect at once)."""
    adapters = {}
    for code, options in adapter_settings().items():
        options = dict(options)
        factory = options.pop("class")
        if isinstance(factory, str):
            factory = import_string(factory)
        options.setdefault("name", code)
        adapters[code] = factory(code=code, **options)
    return adapters


def hospital_adapter(code: str) -> HospitalAdapter:
    adapter = hospitals().get(code)
    if adapter is None:
        raise NotFound("no such hospital")
    return adapter


# --- sessions ---------------------------------------------------------------------------------


def session_ends_at(session: Session) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(session.date, PERIOD_HOURS[session.period][1]))


def period_now(moment: datetime.datetime | None = None) -> str | None:
    """The session running at ``moment``, or the next one today; None after the evening."""
    local = timezone.localtime(moment or timezone.now()).time()
    return next((period for period, (_start, end) in PERIOD_HOURS.items() if local < end), None)


def _check_session(session: Session) -> None:
    if session.period not in PERIOD_HOURS:
        raise InvalidInput(_("Choose a morning, afternoon or evening session."), details={"field": "period"})
    today = timezone.localdate()
    if session.date > today + datetime.timedelta(days=BOOKING_DAYS):
        raise InvalidInput(_("Sessions can be booked at most %(days)s days ahead.") % {"days": BOOKING_DAYS},
                           details={"field": "date"})  # fmt: skip
    if session_ends_at(session) <= timezone.now():
        raise InvalidInput(_("This session is over."), details={"field": "date"})


# --- the services -----------------------------------------------------------------------------


def _own_person(actor: User, person: Person) -> None:
    if actor is None or person.user_id is None or person.user_id != actor.pk:
        raise PermissionDenied(_("Citizens book hospital appointments for themselves only."))


@transaction.atomic
def hospital_appointment_book(
    *, actor: User, person: Person, hospital_code: str, clinic_code: str, session: Session
) -> tuple[HospitalAppointment, bool]:
    """Book a number for ``person`` (who must be the logged-in ``actor``). Returns the appointment
    and whether it is new: asking again for a session already booked returns that appointment."""
    _own_person(actor, person)
    if person.deceased_on is not None:
        raise InvalidInput(_("This person cannot book an appointment."))
    _check_session(session)
    adapter = hospital_adapter(hospital_code)
    key = {"person": person, "hospital_code": hospital_code, "clinic_code": clinic_code,
           "session_date": session.date, "period": session.period}  # fmt: skip
    existing = HospitalAppointment.objects.filter(**key, state=HospitalAppointment.State.BOOKED).first()
    if existing is not None:
        return existing, False
    today = timezone.localdate()
    open_count = HospitalAppointment.objects.filter(
        person=person, state=HospitalAppointment.State.BOOKED, session_date__gte=today
    ).count()
    if open_count >= MAX_OPEN_APPOINTMENTS:
        raise InvalidInput(
            _("You already hold %(count)s appointments; cancel one to book another.") % {"count": open_count}
        )
    booking = adapter.book(person=person, clinic=clinic_code, session=session)
    try:
        with transaction.atomic():
            appointment = HospitalAppointment.objects.create(
                **key,
                clinic_name=booking.clinic_name[:120],
                number=booking.number,
                reference=booking.reference[:80],
            )
    except IntegrityError:  # the same person and session booked concurrently: keep the first
        adapter.cancel(reference=booking.reference)
        return HospitalAppointment.objects.get(**key, state=HospitalAppointment.State.BOOKED), False
    audit_record(actor=actor, action="card.hospital_appointment.booked", obj=appointment,
                 data={"hospital": hospital_code, "clinic": clinic_code, "date": session.date.isoformat(),
                       "period": session.period, "number": booking.number})  # fmt: skip
    return appointment, True


def access_appointment_by_id(user: User, appointment_id: int) -> HospitalAppointment:
    """The user's own appointment; another's looks exactly like none."""
    appointment = HospitalAppointment.objects.filter(pk=appointment_id, person__user_id=user.pk).first()
    if appointment is None:
        raise NotFound("no such appointment")
    return appointment


def appointments_of(person: Person):
    return HospitalAppointment.objects.filter(person=person).order_by("-session_date", "-period", "-id")


@transaction.atomic
def hospital_appointment_cancel(*, actor: User, appointment: HospitalAppointment) -> HospitalAppointment:
    """Cancel one's own appointment before its session ends; cancelling again changes nothing."""
    appointment = (
        HospitalAppointment.objects.select_for_update().select_related("person").get(pk=appointment.pk)
    )
    _own_person(actor, appointment.person)
    if appointment.state == HospitalAppointment.State.CANCELLED:
        return appointment
    if session_ends_at(Session(appointment.session_date, appointment.period)) <= timezone.now():
        raise InvalidInput(_("This appointment's session is over."))
    hospital_adapter(appointment.hospital_code).cancel(reference=appointment.reference)
    appointment.state = HospitalAppointment.State.CANCELLED
    appointment.cancelled_at = timezone.now()
    appointment.save(update_fields=["state", "cancelled_at"])
    audit_record(actor=actor, action="card.hospital_appointment.cancelled", obj=appointment,
                 data={"hospital": appointment.hospital_code, "clinic": appointment.clinic_code})  # fmt: skip
    return appointment


# --- the sandbox hospital ---------------------------------------------------------------------


class SandboxHospitalAdapter:
    """A hospital in the city's own database, for the demo, tests and app developers; a real
    hospital's adapter (calling its HIS over HTTP) replaces it with the same four methods.
    ``call_next`` stands in for the doctor's "next patient" button."""

    def __init__(self, *, code: str, name: str = "", **options):
        self.code = code
        self.name = name or code

    def _clinic(self, code: str, *, lock: bool = False) -> HospitalClinic:
        clinics = HospitalClinic.objects.select_for_update() if lock else HospitalClinic.objects
        clinic = clinics.filter(hospital_code=self.code, code=code, is_active=True).first()
        if clinic is None:
            raise NotFound("no such clinic")
        return clinic

    def _booked(self, **filters):
        return HospitalAppointment.objects.filter(
            hospital_code=self.code, state=HospitalAppointment.State.BOOKED, **filters
        )

    def clinics(self) -> list[Clinic]:
        today = timezone.localdate()
        days = [today + datetime.timedelta(days=n) for n in range(LISTED_DAYS)]
        counts = {
            (row["clinic_code"], row["session_date"], row["period"]): row["n"]
            for row in self._booked(session_date__gte=today, session_date__lte=days[-1])
            .values("clinic_code", "session_date", "period")
            .annotate(n=Count("id"))
        }
        now = timezone.now()
        result = []
        for clinic in HospitalClinic.objects.filter(hospital_code=self.code, is_active=True):
            sessions = []
            for day in days:
                for period in PERIOD_HOURS:
                    if day.weekday() not in clinic.schedule.get(period, []):
                        continue
                    booked = counts.get((clinic.code, day, period), 0)
                    is_open = booked < clinic.capacity and session_ends_at(Session(day, period)) > now
                    sessions.append(SessionInfo(day, period, booked, clinic.capacity, is_open))
            result.append(Clinic(code=clinic.code, name=clinic.name, department=clinic.department,
                                 doctor=clinic.doctor, room=clinic.room, sessions=tuple(sessions)))  # fmt: skip
        return result

    def book(self, *, person: Person, clinic: str, session: Session) -> Booking:
        with transaction.atomic():
            held = self._clinic(clinic, lock=True)  # numbers of a clinic are given one at a time
            if session.date.weekday() not in held.schedule.get(session.period, []):
                raise InvalidInput(_("The clinic holds no such session."), details={"field": "period"})
            same = {"clinic_code": clinic, "session_date": session.date, "period": session.period}
            if self._booked(**same).count() >= held.capacity:
                raise Conflict(_("This session is fully booked."))
            taken = HospitalAppointment.objects.filter(hospital_code=self.code, **same).aggregate(
                m=Max("number")
            )
            number = (taken["m"] or 0) + 1  # a cancelled number is not given again
        reference = f"{self.code}-{session.date:%Y%m%d}-{session.period}-{clinic}-{number:03d}"
        return Booking(number=number, reference=reference, clinic_name=f"{held.name} {held.doctor}".strip())

    def cancel(self, *, reference: str) -> None:
        """The sandbox's book is the city's appointment table, so there is nothing else to undo."""

    def queue_status(self, *, clinic: str) -> QueueStatus:
        held = self._clinic(clinic)
        today = timezone.localdate()
        if held.current_date == today and held.current_period:
            period, current = held.current_period, held.current_number
        else:
            period, current = period_now(), 0
            if period is not None and today.weekday() not in held.schedule.get(period, []):
                period = None
        waiting = (
            self._booked(clinic_code=clinic, session_date=today, period=period, number__gt=current).count()
            if period
            else 0
        )
        return QueueStatus(clinic=clinic, date=today, period=period, current_number=current, waiting=waiting,
                           updated_at=held.updated_at)  # fmt: skip

    @transaction.atomic
    def call_next(self, *, clinic: str) -> QueueStatus:
        held = self._clinic(clinic, lock=True)
        today = timezone.localdate()
        same_session = held.current_date == today and held.current_period
        period = held.current_period if same_session else period_now()
        current = held.current_number if same_session else 0
        following = (
            self._booked(clinic_code=clinic, session_date=today, period=period, number__gt=current)
            .order_by("number")
            .values_list("number", flat=True)
            .first()
            if period
            else None
        )
        if following is None:
            raise Conflict(_("No one is waiting."))
        held.current_date, held.current_period, held.current_number = today, period, following
        held.updated_at = timezone.now()
        held.save(update_fields=["current_date", "current_period", "current_number", "updated_at"])
        return self.queue_status(clinic=clinic)


SANDBOX_CLINICS = [
    # code, name, department, doctor, room, schedule
    ("fm-01", "家庭醫學科門診", "家庭醫學科", "林志宏醫師（示範）", "101", {"morning": [0, 1, 2, 3, 4, 5], "evening": [0, 2, 4]}),
    ("im-01", "一般內科門診", "內科", "陳怡君醫師（示範）", "203", {"morning": [0, 2, 4], "afternoon": [1, 3]}),
    ("ped-01", "小兒科門診", "小兒科", "黃冠廷醫師（示範）", "115", {"morning": [0, 1, 2, 3, 4], "afternoon": [0, 2, 4]}),
    ("ortho-01", "骨科門診", "骨科", "張家豪醫師（示範）", "310", {"afternoon": [0, 1, 2, 3, 4]}),
    ("oph-01", "眼科門診", "眼科", "吳佩珊醫師（示範）", "412", {"morning": [1, 3, 5], "evening": [1, 3]}),
    ("dent-01", "牙科門診", "牙科", "許建銘醫師（示範）", "B12", {"morning": [0, 1, 2, 3, 4, 5], "afternoon": [0, 1, 2, 3, 4], "evening": [0, 1, 2, 3, 4]}),
]  # fmt: skip


@transaction.atomic
def sandbox_clinics_setup(*, hospital_code: str = SANDBOX_CODE) -> int:
    """The sandbox hospital's clinics (created once, kept as edited afterwards)."""
    made = 0
    for code, name, department, doctor, room, schedule in SANDBOX_CLINICS:
        _clinic, created = HospitalClinic.objects.get_or_create(
            hospital_code=hospital_code, code=code,
            defaults={"name": name, "department": department, "doctor": doctor, "room": room, "schedule": schedule},
        )  # fmt: skip
        made += created
    return made


def sandbox_generate(*, seed: int = 2019) -> dict:
    """For the demo: the sandbox clinics, the demo citizen's next family-medicine appointment, and
    the dental clinic (open every weekday session) with today's queue moving if a session is on."""
    import random

    counts = {"hospital_clinics_created": sandbox_clinics_setup()}
    adapter = hospitals().get(SANDBOX_CODE)
    if not isinstance(adapter, SandboxHospitalAdapter):
        return counts
    rng = random.Random(seed + 61)
    booked = 0
    citizen = User.objects.filter(username="citizen").first()
    person = Person.objects.filter(user=citizen).first() if citizen else None
    if person is not None:
        family = next(c for c in adapter.clinics() if c.code == "fm-01")
        upcoming = next((s for s in family.sessions if s.is_open and s.date > timezone.localdate()), None)
        if upcoming is not None:
            _appointment, created = hospital_appointment_book(
                actor=citizen, person=person, hospital_code=SANDBOX_CODE, clinic_code="fm-01",
                session=Session(upcoming.date, upcoming.period),
            )  # fmt: skip
            booked += created
    period = period_now()
    today = timezone.localdate()
    if (
        period is not None
        and today.weekday() < 5
        and not HospitalAppointment.objects.filter(
            hospital_code=SANDBOX_CODE, clinic_code="dent-01", session_date=today, period=period
        ).exists()
    ):
        # Patients who took their number at the hospital's counter: in the sandbox's book, as a real
        # hospital's system would hold them, without going through the app's booking service.
        people = Person.objects.filter(deceased_on__isnull=True).exclude(pk=getattr(person, "pk", None))
        patients = list(people.order_by("id")[: rng.randint(6, 14)])
        for patient in patients:
            booking = adapter.book(person=patient, clinic="dent-01", session=Session(today, period))
            HospitalAppointment.objects.create(
                person=patient, hospital_code=SANDBOX_CODE, clinic_code="dent-01", clinic_name=booking.clinic_name,
                session_date=today, period=period, number=booking.number, reference=booking.reference,
            )  # fmt: skip
            booked += 1
        for _call in range(min(len(patients), rng.randint(1, 4))):
            adapter.call_next(clinic="dent-01")
    counts["hospital_appointments_booked"] = booked
    return counts


# --- a hospital's own system over HTTP --------------------------------------------------------


class HttpHospitalAdapter:
    """A hospital whose system (HIS) answers the city's small JSON protocol over HTTPS
    (docs/card.md, "The hospital HTTP protocol"): ``GET clinics``, ``POST appointments``,
    ``DELETE appointments/<reference>`` and ``GET clinics/<code>/queue`` under ``base_url``, with
    ``Authorization: Bearer <token>``. The hospital's answers map to the adapter's errors: 404 →
    ``NotFound``, 409 → ``Conflict``, 400/422 → ``InvalidInput``; anything else, a timeout or a
    malformed answer → ``HospitalUnavailable``. Only what registration needs of the patient is
    sent: ID number, name and date of birth."""

    def __init__(
        self, *, code: str, name: str = "", base_url: str, token: str = "", timeout: float = 5.0, **options
    ):
        if not base_url.startswith(("https://", "http://")):
            raise InvalidInput(f"hospital {code}: base_url must be an http(s) URL")
        self.code, self.name = code, name or code
        self.base_url, self.token, self.timeout = base_url.rstrip("/") + "/", token, timeout

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        import urllib.error
        import urllib.request

        request = urllib.request.Request(  # noqa: S310 - base_url is checked to be http(s) above
            self.base_url + path, method=method,
            data=None if body is None else json.dumps(body, ensure_ascii=False).encode(),
            headers={"Accept": "application/json", "Content-Type": "application/json",
                     **({"Authorization": f"Bearer {self.token}"} if self.token else {})},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                raw = response.read()
        except urllib.error.HTTPError as exc:
            message = self._error_message(exc)
            if exc.code == 404:
                raise NotFound(
                    message or _("The hospital does not know this clinic or appointment.")
                ) from exc
            if exc.code == 409:
                raise Conflict(message or _("This session is full.")) from exc
            if exc.code in (400, 422):
                raise InvalidInput(message or _("The hospital refused this request.")) from exc
            raise HospitalUnavailable(_("The hospital's system is not answering; try again later.")) from exc
        except (OSError, ValueError) as exc:  # refused, timed out, a broken URL
            raise HospitalUnavailable(_("The hospital's system is not answering; try again later.")) from exc
        try:
            return json.loads(raw) if raw else {}
        except ValueError as exc:
            raise self._unreadable() from exc

    @staticmethod
    def _error_message(exc) -> str:
        try:
            return str(json.loads(exc.read() or b"{}").get("error", {}).get("message", ""))[:300]
        except (ValueError, AttributeError, OSError):
            return ""

    @staticmethod
    def _unreadable() -> HospitalUnavailable:
        return HospitalUnavailable(_("The hospital's system gave an answer we cannot read."))

    def clinics(self) -> list[Clinic]:
        data = self._call("GET", "clinics")
        try:
            return [
                Clinic(
                    code=str(c["code"]),
                    name=str(c["name"]),
                    department=str(c.get("department", "")),
                    doctor=str(c.get("doctor", "")),
                    room=str(c.get("room", "")),
                    sessions=tuple(
                        SessionInfo(
                            date=datetime.date.fromisoformat(s["date"]),
                            period=Period(s["period"]),
                            booked=s.get("booked"),
                            capacity=s.get("capacity"),
                            is_open=bool(s.get("open", True)),
                        )
                        for s in c.get("sessions", [])
                    ),
                )  # fmt: skip
                for c in data["clinics"]
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise self._unreadable() from exc

    def book(self, *, person: Person, clinic: str, session: Session) -> Booking:
        from civicstack.core.services import person_identifier

        data = self._call("POST", "appointments", {
            "clinic": clinic, "date": session.date.isoformat(), "period": session.period,
            "patient": {"national_id": person_identifier(person), "name": person.name,
                        "birth_date": person.birth_date.isoformat() if person.birth_date else None},
        })  # fmt: skip
        try:
            return Booking(number=int(data["number"]), reference=str(data["reference"]),
                           clinic_name=str(data.get("clinic_name", clinic)))  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise self._unreadable() from exc

    def cancel(self, *, reference: str) -> None:
        from urllib.parse import quote

        self._call("DELETE", f"appointments/{quote(reference, safe='')}")

    def queue_status(self, *, clinic: str) -> QueueStatus:
        from urllib.parse import quote

        data = self._call("GET", f"clinics/{quote(clinic, safe='')}/queue")
        try:
            return QueueStatus(
                clinic=clinic, date=datetime.date.fromisoformat(data["date"]),
                period=Period(data["period"]) if data.get("period") else None,
                current_number=int(data.get("current_number", 0)), waiting=int(data.get("waiting", 0)),
                updated_at=datetime.datetime.fromisoformat(data["updated_at"]),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise self._unreadable() from exc
