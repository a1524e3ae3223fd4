from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WelfareConfig(AppConfig):
    name = "civicstack.welfare"
    label = "welfare"
    verbose_name = _("Welfare benefits")

    def ready(self) -> None:
        from civicstack.core.demo import register_demo_generator
        from civicstack.core.portal import PortalTile, register_tile

        from . import demo

        register_demo_generator("welfare", demo.generate)
        register_tile(
            PortalTile(
                key="welfare.interview",
                title=_("Welfare benefits"),
                url="/welfare/",
                icon="heart",
                order=15,
                description=_(
                    "Answer a few questions and see which of the city's 276 benefits and subsidies you can apply for."
                ),
            )
        )
