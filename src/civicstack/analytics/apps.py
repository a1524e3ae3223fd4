from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "civicstack.analytics"
    label = "analytics"
    verbose_name = _("Operations analytics")

    def ready(self) -> None:
        from civicstack.core.demo import register_demo_generator
        from civicstack.core.portal import PortalTile, register_tile
        from civicstack.core.services import register_api_key_scopes
        from civicstack.opendata.services import register_internal_source

        from . import definitions, demo, services

        # Named so it sorts after "card" and "iot": it loads the taps and readings they generate.
        register_demo_generator("warehouse", demo.generate)
        register_api_key_scopes(
            {
                services.DATASETS_SCOPE: "Other agencies: read the analytics platform's curated datasets (with a daily quota)"
            }
        )
        for entry in definitions.DATASETS:
            if entry["open_data"]:
                register_internal_source(
                    f"analytics.{entry['code']}", entry["title"], _dataset_export(entry["code"])
                )
        register_tile(
            PortalTile(
                key="analytics.dashboards",
                title=_("City dashboards"),
                url="/analytics/",
                icon="chart",
                order=60,
                description=_(
                    "Open figures of the city's operations: service cases, parking, air quality and more."
                ),
            )
        )


def _dataset_export(code: str):
    def export() -> bytes:
        from . import selectors, services

        return services.dataset_csv(selectors.access_dataset_by_code(code))

    return export
