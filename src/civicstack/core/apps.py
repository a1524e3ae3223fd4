from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "civicstack.core"
    label = "core"
    verbose_name = _("Core registry")

    def ready(self) -> None:
        from django.urls import reverse_lazy

        from . import checks  # noqa: F401  (registers the deployment checks)
        from .portal import PortalTile, register_tile

        register_tile(
            PortalTile(
                key="core.my-data",
                title=_("My data"),
                url=reverse_lazy("core:my_data"),
                icon="person",
                order=10,
                description=_("Your household registration record, household members and messages."),
            )
        )
        register_tile(
            PortalTile(
                key="core.directory",
                title=_("Agency directory"),
                url=reverse_lazy("core:directory"),
                icon="building",
                order=20,
                description=_("Every agency, district office and school, with phone numbers."),
            )
        )
        register_tile(
            PortalTile(
                key="core.api",
                title=_("Developer API"),
                url="/api/docs",
                icon="code",
                order=900,
                description=_("OpenAPI documentation of every service, for partners and developers."),
            )
        )
