from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "civicstack.payments"
    label = "payments"
    verbose_name = _("Payments")

    def ready(self) -> None:
        from django.urls import reverse_lazy

        from civicstack.core.demo import register_demo_generator
        from civicstack.core.portal import PortalTile, register_tile

        from . import demo

        register_demo_generator("payments", demo.generate)

        register_tile(
            PortalTile(
                key="payments.my-payments",
                title=_("My payments"),
                url=reverse_lazy("payments:my_payments"),
                icon="wallet",
                order=30,
                description=_("Bills and fees to pay, payment notices and receipts."),
            )
        )
