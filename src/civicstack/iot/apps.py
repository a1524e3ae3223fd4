from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IotConfig(AppConfig):
    name = "civicstack.iot"
    label = "iot"
    verbose_name = _("City sensors")

    def ready(self) -> None:
        from civicstack.core.demo import register_demo_generator
        from civicstack.core.portal import PortalTile, register_tile
        from civicstack.core.services import register_api_key_scopes

        from . import demo, services

        register_demo_generator("iot", demo.generate)
        register_api_key_scopes(
            {services.UPLOAD_SCOPE: "City sensors: upload readings of the agency's stations"}
        )
        register_tile(
            PortalTile(
                key="iot.stations",
                title=_("City sensors"),
                url="/iot/",
                icon="sensor",
                order=70,
                description=_(
                    "Water levels, air quality and traffic flow from the city's sensor stations, live."
                ),
            )
        )
