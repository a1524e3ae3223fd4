from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChatbotConfig(AppConfig):
    name = "civicstack.chatbot"
    label = "chatbot"
    verbose_name = _("Citizen Q&A")
