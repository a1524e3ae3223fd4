from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ExperienceEvent(models.Model):
    """A smart-living experience event (S02): a touring stand where people try the card's
    functions, sign up for activities and apply for cards on the spot."""

    title = models.CharField(_("title"), max_length=120)
    venue = models.CharField(_("venue"), max_length=120)
    district = models.ForeignKey("core.District", verbose_name=_("district"), on_delete=models.PROTECT)
    address = models.CharField(_("address"), max_length=200, blank=True)
    starts_on = models.DateField(_("first day"))
    ends_on = models.DateField(_("last day"))
    organiser = models.ForeignKey(
        "core.Agency", verbose_name=_("organiser"), on_delete=models.PROTECT, related_name="card_events"
    )
    capacity = models.PositiveIntegerField(_("sign-up places"), null=True, blank=True)
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_on", "-id"]
        verbose_name = _("experience event")
        verbose_name_plural = _("experience events")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")), name="card_event_dates"
            )
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.starts_on:%Y-%m-%d})"


class EventSignUp(models.Model):
    """Someone who signed up for an event's activities (ahead, or as a walk-in on the day);
    ``checked_in_at`` set means they took part: the report's participants."""

    class Source(models.TextChoices):
        ONLINE = "online", _("Signed up online")
        WALK_IN = "walk_in", _("Walk-in")

    event = models.ForeignKey(ExperienceEvent, on_delete=models.CASCADE, related_name="signups")
    name = models.CharField(_("name"), max_length=60)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    person = models.ForeignKey(
        "core.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="event_signups"
    )
    source = models.CharField(_("source"), max_length=8, choices=Source.choices, default=Source.ONLINE)
    signed_up_at = models.DateTimeField(_("signed up at"), default=timezone.now)
    checked_in_at = models.DateTimeField(_("took part at"), null=True, blank=True)

    class Meta:
        ordering = ["signed_up_at", "id"]
        verbose_name = _("event sign-up")
        verbose_name_plural = _("event sign-ups")
        indexes = [models.Index(fields=["event", "checked_in_at"], name="card_signup_event_checkin")]

    def __str__(self) -> str:
        return self.name


class EventVisitTally(models.Model):
    """Visits to an event's stand, counted by staff (a clicker count per session or hour)."""

    event = models.ForeignKey(ExperienceEvent, on_delete=models.CASCADE, related_name="visit_tallies")
    counted_at = models.DateTimeField(_("counted at"), default=timezone.now)
    visits = models.PositiveIntegerField(_("visits"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The client's key for this count: a form submitted twice or a retried API call counts once.
    key = models.CharField(max_length=80, blank=True, default="")

    class Meta:
        ordering = ["counted_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "key"], condition=~models.Q(key=""), name="card_event_visit_key_unique"
            )
        ]
        verbose_name = _("visit count")
        verbose_name_plural = _("visit counts")

    def __str__(self) -> str:
        return f"{self.event_id}: {self.visits}"
