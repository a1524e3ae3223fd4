from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FinesConfig(AppConfig):
    name = "civicstack.fines"
    label = "fines"
    verbose_name = _("Fines and fees")
