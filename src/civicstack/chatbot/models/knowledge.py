"""What the bot knows: venues (where robots stand), knowledge bases and their entries."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Venue(models.Model):
    """A place with a robot (city hall lobby, a household registration office…); its entries are
    preferred there, and its counter is where the bot hands a visitor off."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=80)
    name_en = models.CharField(_("English name"), max_length=120, blank=True)
    agency = models.ForeignKey("core.Agency", verbose_name=_("agency"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="chatbot_venues")  # fmt: skip
    counter = models.CharField(_("hand-off counter"), max_length=120, blank=True,
                               help_text=_("Where the bot sends visitors it cannot help, e.g. the service desk."))  # fmt: skip

    class Meta:
        ordering = ["code"]
        verbose_name = _("venue")
        verbose_name_plural = _("venues")

    def __str__(self) -> str:
        return self.name


class VenueKey(models.Model):
    """Binds a partner API key (scope ``chatbot.ask``) to the venue whose robot or kiosk uses it,
    so questions sent with that key are asked at that venue."""

    api_key = models.OneToOneField("core.ApiKey", on_delete=models.CASCADE, related_name="chatbot_venue_key")
    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="keys")

    class Meta:
        verbose_name = _("venue API key")
        verbose_name_plural = _("venue API keys")

    def __str__(self) -> str:
        return f"{self.venue_id}:{self.api_key_id}"


class KnowledgeBase(models.Model):
    class Source(models.TextChoices):
        MANUAL = "manual", _("Edited by staff")
        ESERVICES = "eservices", _("Online-application catalog")

    key = models.SlugField(_("key"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=80)
    source = models.CharField(_("source"), max_length=12, choices=Source.choices, default=Source.MANUAL)
    description = models.TextField(_("description"), blank=True)
    source_stamp = models.CharField(
        max_length=80, blank=True, editable=False
    )  # the source's version last synced

    class Meta:
        ordering = ["key"]
        verbose_name = _("knowledge base")
        verbose_name_plural = _("knowledge bases")

    def __str__(self) -> str:
        return self.name


class Entry(models.Model):
    class Language(models.TextChoices):
        CHINESE = "zh-hant", _("Chinese")
        ENGLISH = "en", _("English")

    knowledge_base = models.ForeignKey(KnowledgeBase, verbose_name=_("knowledge base"), on_delete=models.PROTECT,
                                       related_name="entries")  # fmt: skip
    external_id = models.CharField(_("external id"), max_length=40, unique=True,
                                   help_text=_("The id column of imports and exports."))  # fmt: skip
    question = models.CharField(_("question"), max_length=200)
    phrasings = models.TextField(_("alternative phrasings"), blank=True, help_text=_("One per line."))
    answer = models.TextField(_("answer"))
    link = models.URLField(_("link"), blank=True)
    category = models.CharField(_("category"), max_length=40, blank=True, db_index=True)
    agency = models.ForeignKey("core.Agency", verbose_name=_("owning agency"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="chatbot_entries")  # fmt: skip
    venue = models.ForeignKey(Venue, verbose_name=_("venue"), null=True, blank=True, on_delete=models.PROTECT,
                              related_name="entries")  # fmt: skip
    language = models.CharField(
        _("language"), max_length=8, choices=Language.choices, default=Language.CHINESE
    )
    translation_of = models.ForeignKey("self", verbose_name=_("translation of"), null=True, blank=True,
                                       on_delete=models.SET_NULL, related_name="translations")  # fmt: skip
    review_on = models.DateField(_("review date"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")  # fmt: skip

    class Meta:
        ordering = ["external_id"]
        verbose_name = _("knowledge entry")
        verbose_name_plural = _("knowledge entries")
        indexes = [models.Index(fields=["knowledge_base", "is_active"])]

    def __str__(self) -> str:
        return f"{self.external_id} {self.question}"

    def phrasing_list(self) -> list[str]:
        return [line.strip() for line in self.phrasings.splitlines() if line.strip()]


class IndexVersion(models.Model):
    """One row whose token every change of entries replaces with a new random one; each process compares
    it (one primary-key read) with the token of its in-memory index and rebuilds when they differ. A random
    token rather than a counter: a rolled-back change must not leave a number a later change reuses."""

    token = models.CharField(max_length=32, default="")

    def __str__(self) -> str:
        return self.token
