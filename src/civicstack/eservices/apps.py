from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EservicesConfig(AppConfig):
    name = "civicstack.eservices"
    label = "eservices"
    verbose_name = _("Online applications")

    def ready(self) -> None:
        from civicstack.core.demo import register_demo_generator
        from civicstack.core.portal import PortalTile, register_tile
        from civicstack.core.services import register_api_key_scopes
        from civicstack.payments.services import register_paid_handler

        from . import demo, services

        register_paid_handler(services.SOURCE_TYPE, services.handle_order_paid)
        register_demo_generator("eservices", demo.generate)
        register_api_key_scopes(
            {services.KIOSK_SCOPE: "Convenience-store kiosks: fetch and pay applications by pickup code"}
        )
        register_tile(
            PortalTile(
                key="eservices.catalog",
                title=_("Online applications"),
                url="/eservices/",
                icon="form",
                order=20,
                description=_(
                    "Search 800 application items of every agency, apply online at any district office, and follow your applications."
                ),
            )
        )
