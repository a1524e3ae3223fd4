from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class BilingualNameMixin:
    """``name`` in the active language: zh-Hant first, English where asked for and known."""

    @property
    def name(self) -> str:
        language = get_language() or ""
        if language.startswith("en") and self.name_en:
            return self.name_en
        return self.name_zh


class District(BilingualNameMixin, models.Model):
    """A district (區) of the city profile."""

    code = models.CharField(_("code"), max_length=16, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=50)
    name_en = models.CharField(_("name (English)"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=6, blank=True)
    indigenous_mountain = models.BooleanField(_("indigenous mountain district"), default=False)
    sort_order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "code"]
        verbose_name = _("district")
        verbose_name_plural = _("districts")

    def __str__(self) -> str:
        return self.name


class Village(models.Model):
    """A village or neighbourhood (里) within a district."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="villages")
    code = models.CharField(_("code"), max_length=24, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=50)

    class Meta:
        ordering = ["district__sort_order", "code"]
        verbose_name = _("village")
        verbose_name_plural = _("villages")

    def __str__(self) -> str:
        return f"{self.district.name_zh}{self.name_zh}"

    @property
    def name(self) -> str:
        return self.name_zh
