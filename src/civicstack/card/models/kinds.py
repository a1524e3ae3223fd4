from django.db import models
from django.utils.translation import gettext_lazy as _


class CardKind(models.TextChoices):
    """The card types of S01. The first four are the holder's one physical citizen card; the
    companion, mobile and co-branded cards may be held beside it."""

    GENERAL = "general", _("General card")
    STUDENT = "student", _("Student card")
    SENIOR = "senior", _("Senior card")
    DISABILITY = "disability", _("Disability card")
    COMPANION = "companion", _("Companion card")
    MOBILE = "mobile", _("Mobile citizen card")
    COBRANDED = "cobranded", _("Co-branded credit card")


PRIMARY_KINDS = (CardKind.GENERAL, CardKind.STUDENT, CardKind.SENIOR, CardKind.DISABILITY)


class Channel(models.TextChoices):
    ONLINE = "online", _("Online")
    COUNTER = "counter", _("Counter")
    EVENT = "event", _("Experience event")
    TELECOM = "telecom", _("Telecom store")
    BANK = "bank", _("Partner bank")
