from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChatbotConfig(AppConfig):
    name = "civicstack.chatbot"
    label = "chatbot"
    verbose_name = _("Citizen Q&A")

    def ready(self) -> None:
        from civicstack.core.demo import register_demo_generator
        from civicstack.core.portal import PortalTile, register_tile
        from civicstack.core.services import register_api_key_scopes

        from . import demo, services

        register_demo_generator("chatbot", demo.generate)
        register_api_key_scopes(
            {services.ASK_SCOPE: "Venue robots and kiosks: ask the citizen Q&A bot at their venue"}
        )
        register_tile(
            PortalTile(
                key="chatbot.ask",
                title=_("Ask a question"),
                url="/chatbot/",
                icon="chat",
                order=15,
                description=_(
                    "Ask about city services in Chinese or English; the 1999 hotline takes over when the bot is unsure."
                ),
            )
        )
