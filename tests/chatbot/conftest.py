"""Fixtures of the chatbot tests: the shipped hand-written knowledge (venues, the entries the evaluation
set asks about, English translations) loaded through the demo loader, without generated entries."""

import pytest
from django.utils import translation

from civicstack.chatbot import demo
from civicstack.chatbot.models import KnowledgeBase


@pytest.fixture(autouse=True)
def english(settings):
    """The assertions below read English messages; pages and the API default to zh-Hant. Logins are
    made with a fast hasher: six Argon2 hashes per test would be most of this folder's time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def knowledge(db, districts):
    demo.load(total=len(demo.shipped()["entries"]))
    return KnowledgeBase.objects.get(key=demo.HOTLINE)


def ask(client, question, **fields):
    response = client.post(
        "/api/v1/chatbot/ask", {"question": question, **fields}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return response.json()
