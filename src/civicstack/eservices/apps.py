from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EservicesConfig(AppConfig):
    name = "civicstack.eservices"
    label = "eservices"
    verbose_name = _("Online applications")
