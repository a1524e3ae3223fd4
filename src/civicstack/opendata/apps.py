from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpendataConfig(AppConfig):
    name = "civicstack.opendata"
    label = "opendata"
    verbose_name = _("Open data")

    def ready(self) -> None:
        from civicstack.core.demo import register_demo_generator
        from civicstack.core.portal import PortalTile, register_tile

        from . import demo, internal_sources, response_cache

        response_cache.connect_signals()
        register_demo_generator("opendata", demo.generate)
        internal_sources.register()
        register_tile(
            PortalTile(
                key="opendata.search",
                title=_("Open data"),
                url="/opendata/",
                icon="database",
                order=80,
                description=_(
                    "Search the city's datasets, preview them, and use them through the CKAN and DCAT APIs."
                ),
            )
        )
