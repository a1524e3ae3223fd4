"""What the citizen app shows around the holder (issue 5 §6): public parking with live
availability and EV-scooter charging stations, both loaded from the city's open datasets, and the
hospital appointments a citizen books through a hospital adapter (card/hospital.py)."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class NearbyPlace(models.Model):
    """What a parking lot and a charging station share: where a row came from and where it is.
    ``(source, source_id)`` is the dataset's own key, so a refresh updates rows in place."""

    source = models.SlugField(_("source dataset"), max_length=40)
    source_id = models.CharField(_("identifier in the dataset"), max_length=64)
    name = models.CharField(_("name"), max_length=120)
    district = models.ForeignKey(
        "core.District", verbose_name=_("district"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    address = models.CharField(_("address"), max_length=200, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6)
    updated_at = models.DateTimeField(_("data updated at"), help_text=_("As the dataset says."))
    loaded_at = models.DateTimeField(_("loaded at"), default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["district", "name"]


class ParkingLot(NearbyPlace):
    """A public parking lot (路外停車場) and, where the dataset is live, its free spaces."""

    total_spaces = models.PositiveIntegerField(_("total spaces"))
    available_spaces = models.PositiveIntegerField(
        _("available spaces"), null=True, blank=True, help_text=_("Empty when the dataset has no live count.")
    )
    fee = models.CharField(_("fees"), max_length=300, blank=True)

    class Meta(NearbyPlace.Meta):
        verbose_name = _("parking lot")
        verbose_name_plural = _("parking lots")
        constraints = [
            models.UniqueConstraint(fields=["source", "source_id"], name="card_parking_source_key")
        ]
        indexes = [models.Index(fields=["latitude", "longitude"], name="card_parking_position")]

    def __str__(self) -> str:
        return self.name


class ChargingStation(NearbyPlace):
    """An EV-scooter charging station (電動機車充電站)."""

    sockets = models.PositiveIntegerField(_("sockets"))
    available_sockets = models.PositiveIntegerField(_("free sockets"), null=True, blank=True)
    operator = models.CharField(_("operator"), max_length=120, blank=True)
    opening_hours = models.CharField(_("opening hours"), max_length=120, blank=True)

    class Meta(NearbyPlace.Meta):
        verbose_name = _("charging station")
        verbose_name_plural = _("charging stations")
        constraints = [
            models.UniqueConstraint(fields=["source", "source_id"], name="card_charging_source_key")
        ]
        indexes = [models.Index(fields=["latitude", "longitude"], name="card_charging_position")]

    def __str__(self) -> str:
        return self.name


class NearbyLoad(models.Model):
    """One load of a dataset file: what it did and every row it refused, kept as history."""

    class Kind(models.TextChoices):
        PARKING = "parking", _("Parking lots")
        CHARGING = "charging", _("Charging stations")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    source = models.SlugField(_("source dataset"), max_length=40)
    file_name = models.CharField(_("file"), max_length=200)
    file_sha256 = models.CharField(max_length=64)
    file_format = models.CharField(_("format"), max_length=8)
    encoding = models.CharField(_("encoding"), max_length=16, blank=True)
    field_map = models.CharField(_("field map"), max_length=40)
    rows = models.PositiveIntegerField(_("rows read"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    absent = models.PositiveIntegerField(
        _("absent"),
        default=0,
        help_text=_("Rows of this source kept from earlier loads but not in this file."),
    )
    problems = models.JSONField(_("problems"), default=list, help_text='[{"line": 12, "problems": ["…"]}]')
    warnings = models.JSONField(_("warnings"), default=list)
    loaded_at = models.DateTimeField(_("loaded at"), default=timezone.now)

    class Meta:
        ordering = ["-loaded_at", "-id"]
        verbose_name = _("dataset load")
        verbose_name_plural = _("dataset loads")

    def __str__(self) -> str:
        return f"{self.kind} {self.source} {self.loaded_at:%Y-%m-%d %H:%M}"


class Period(models.TextChoices):
    """A clinic session of the day (門診時段)."""

    MORNING = "morning", _("Morning (上午診)")
    AFTERNOON = "afternoon", _("Afternoon (下午診)")
    EVENING = "evening", _("Evening (夜診)")


class HospitalClinic(models.Model):
    """A clinic of the sandbox hospital (card/hospital.py ``SandboxHospitalAdapter``): which
    sessions it holds and the number it is calling. A real hospital keeps this in its own system."""

    hospital_code = models.SlugField(_("hospital"), max_length=20)
    code = models.SlugField(_("clinic code"), max_length=20)
    name = models.CharField(_("clinic"), max_length=60)
    department = models.CharField(_("department"), max_length=40)
    doctor = models.CharField(_("doctor"), max_length=40, blank=True)
    room = models.CharField(_("room"), max_length=20, blank=True)
    # {"morning": [0, 2, 4], "evening": [1]}: the weekdays (Monday = 0) each period is held
    schedule = models.JSONField(_("schedule"), default=dict)
    capacity = models.PositiveIntegerField(_("numbers a session"), default=40)
    current_date = models.DateField(_("calling on"), null=True, blank=True)
    current_period = models.CharField(_("calling in"), max_length=10, choices=Period.choices, blank=True)
    current_number = models.PositiveIntegerField(_("number being seen"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        ordering = ["hospital_code", "department", "code"]
        verbose_name = _("hospital clinic (sandbox)")
        verbose_name_plural = _("hospital clinics (sandbox)")
        constraints = [models.UniqueConstraint(fields=["hospital_code", "code"], name="card_clinic_code")]

    def __str__(self) -> str:
        return f"{self.name} {self.doctor}".strip()


class HospitalAppointment(models.Model):
    """A citizen's appointment (掛號) booked through the app, with whatever hospital adapter serves
    the hospital: the citizen's record of it, and the sandbox hospital's own book of numbers."""

    class State(models.TextChoices):
        BOOKED = "booked", _("Booked")
        CANCELLED = "cancelled", _("Cancelled")

    person = models.ForeignKey(
        "core.Person",
        verbose_name=_("patient"),
        on_delete=models.PROTECT,
        related_name="hospital_appointments",
    )
    hospital_code = models.SlugField(_("hospital"), max_length=20)
    clinic_code = models.SlugField(_("clinic code"), max_length=20)
    clinic_name = models.CharField(_("clinic"), max_length=120)
    session_date = models.DateField(_("date"))
    period = models.CharField(_("session"), max_length=10, choices=Period.choices)
    number = models.PositiveIntegerField(_("number"))
    reference = models.CharField(_("hospital's reference"), max_length=80)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.BOOKED)
    created_at = models.DateTimeField(_("booked at"), default=timezone.now)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    class Meta:
        ordering = ["-session_date", "hospital_code", "clinic_code", "number"]
        verbose_name = _("hospital appointment")
        verbose_name_plural = _("hospital appointments")
        constraints = [
            models.UniqueConstraint(fields=["hospital_code", "clinic_code", "session_date", "period", "number"],
                                    name="card_appointment_number"),
            models.UniqueConstraint(fields=["person", "hospital_code", "clinic_code", "session_date", "period"],
                                    condition=models.Q(state="booked"), name="card_appointment_one_a_session"),
        ]  # fmt: skip
        indexes = [models.Index(fields=["person", "session_date"], name="card_appointment_person")]

    def __str__(self) -> str:
        return f"{self.hospital_code} {self.clinic_code} {self.session_date} {self.period} #{self.number}"
