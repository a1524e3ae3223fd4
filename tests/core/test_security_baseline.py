"""Password hashing and session lifetime of the security baseline."""

import datetime

from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from tests.conftest import PASSWORD


def test_passwords_are_hashed_with_argon2(make_user):
    user = make_user("resident")
    assert user.password.startswith("argon2$argon2id$")
    assert user.check_password(PASSWORD)


def test_a_login_session_expires_after_two_hours_and_at_browser_close(make_user, settings):
    # given a resident who logs in through the login page
    make_user("resident")
    client = Client()
    response = client.post("/login/", {"username": "resident", "password": PASSWORD})
    assert response.status_code == 302
    # then the cookie is a browser-session cookie (no Max-Age, no Expires)
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["max-age"] == "" and cookie["expires"] == ""
    assert cookie["httponly"] is True
    # and the server forgets the session two hours after it was made
    session = Session.objects.get(session_key=cookie.value)
    remaining = session.expire_date - timezone.now()
    assert datetime.timedelta(hours=1, minutes=59) < remaining <= datetime.timedelta(hours=2)
