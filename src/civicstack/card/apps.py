from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _sync_registry(sender, **kwargs) -> None:
    from . import services

    services.registry_sync()


class CardConfig(AppConfig):
    name = "civicstack.card"
    label = "card"
    verbose_name = _("Citizen card")

    def ready(self) -> None:
        from civicstack.core.city_profile import register_profile_loaded_hook
        from civicstack.core.demo import register_demo_generator
        from civicstack.core.portal import PortalTile, register_tile
        from civicstack.core.services import register_api_key_scopes
        from civicstack.payments.services import register_paid_handler

        from . import demo, services

        register_paid_handler(services.SOURCE_TYPE, services.handle_order_paid)
        register_api_key_scopes(services.function_scopes())
        register_profile_loaded_hook(services.registry_sync)
        register_demo_generator("card", demo.generate)
        post_migrate.connect(_sync_registry, sender=self)
        register_tile(
            PortalTile(
                key="card.mine",
                title=_("My citizen cards"),
                url="/card/",
                icon="card",
                order=10,
                description=_(
                    "Your cards, their functions and balance; apply for a card or report one lost."
                ),
            )
        )
