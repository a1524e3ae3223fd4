from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FinesConfig(AppConfig):
    name = "civicstack.fines"
    label = "fines"
    verbose_name = _("Fines and fees")

    def ready(self) -> None:
        from civicstack.core.demo import register_demo_generator
        from civicstack.core.portal import PortalTile, register_tile
        from civicstack.payments.services import register_paid_handler

        from . import demo, services

        register_paid_handler(services.SOURCE_TYPE, services.handle_order_paid)
        register_demo_generator("fines", demo.generate)
        register_tile(
            PortalTile(
                key="fines.lookup",
                title=_("Fines and fees lookup"),
                url="/fines/lookup/",
                icon="receipt",
                order=40,
                description=_("Find a fine or fee by its case number, or by name and ID, and pay it online."),
            )
        )
