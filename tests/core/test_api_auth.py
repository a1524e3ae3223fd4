"""Authentication of the API and of the login page: bearer tokens, lockout, TOTP, partner keys, CSRF."""

import datetime
import json

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from civicstack.core import services
from civicstack.core.models import Agency, ApiKey, ApiToken, AuditEvent, Notification
from tests.conftest import PASSWORD, new_identifier

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token"
ME_URL = "/api/v1/auth/me"
VERIFY_URL = "/api/v1/core/people/verify"


def post_json(client: Client, url: str, body, **headers):
    return client.post(url, data=json.dumps(body), content_type="application/json", **headers)


def assert_envelope(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


def bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def current_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):0{device.digits}d}"


def other_code(device: TOTPDevice) -> str:
    """A six-digit code that is not the one the device accepts now (nor in the drift window)."""
    valid = {
        f"{totp(device.bin_key, device.step, device.t0, device.digits, drift):06d}" for drift in range(-3, 4)
    }
    return next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in valid)


@pytest.fixture
def totp_device(citizen):
    user, _ = citizen
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


@pytest.fixture
def partner_agency(districts):
    return Agency.objects.get(kind=Agency.Kind.CITY_GOVERNMENT)


def make_key(agency, scopes, *, expires_in=datetime.timedelta(days=30)):
    raw, key = services.api_key_create(
        actor=None, name="bank check", partner="第一銀行", agency=agency, scopes=scopes,
        expires_at=timezone.now() + expires_in,
    )  # fmt: skip
    return raw, key


# --- bearer tokens ----------------------------------------------------------------------------


def test_token_from_good_credentials_authenticates_me(citizen):
    # given a citizen with a password
    user, person = citizen
    client = Client()

    # when they exchange username and password for a token
    response = post_json(client, TOKEN_URL, {"username": "citizen", "password": PASSWORD})

    # then a bearer token comes back and GET /auth/me with it names the citizen
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "token_type", "expires_at"}
    assert body["token_type"] == "Bearer"
    token = ApiToken.objects.get(user=user)
    assert token.expires_at > timezone.now()
    me = Client().get(ME_URL, **bearer(body["token"]))
    assert me.status_code == 200
    assert me.json() == {
        "username": "citizen",
        "full_name": "",
        "email": "citizen@example.org",
        "is_staff_member": False,
        "roles": [],
        "person_id": person.pk,
    }


def test_token_with_wrong_password_is_401_envelope(citizen):
    # given a citizen
    # when the password is wrong
    response = post_json(Client(), TOKEN_URL, {"username": "citizen", "password": "not-the-password"})

    # then 401 in the error envelope, and no token was issued
    assert_envelope(response, 401, "not_authenticated")
    assert ApiToken.objects.count() == 0


def test_me_without_credentials_is_401_envelope(db):
    assert_envelope(Client().get(ME_URL), 401, "not_authenticated")


def test_me_with_unknown_bearer_token_is_401_envelope(db):
    assert_envelope(Client().get(ME_URL, **bearer("made-up-token")), 401, "not_authenticated")


def test_delete_token_revokes_it(citizen):
    # given a working token
    raw = post_json(Client(), TOKEN_URL, {"username": "citizen", "password": PASSWORD}).json()["token"]
    assert Client().get(ME_URL, **bearer(raw)).status_code == 200

    # when it is revoked with DELETE /auth/token
    response = Client().delete(TOKEN_URL, **bearer(raw))

    # then the token no longer authenticates
    assert response.status_code == 204
    assert ApiToken.objects.get().revoked_at is not None
    assert_envelope(Client().get(ME_URL, **bearer(raw)), 401, "not_authenticated")


def test_expired_token_is_refused(citizen):
    # given a token whose expiry has passed
    raw = post_json(Client(), TOKEN_URL, {"username": "citizen", "password": PASSWORD}).json()["token"]
    ApiToken.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))

    # when it is used
    response = Client().get(ME_URL, **bearer(raw))

    # then 401
    assert_envelope(response, 401, "not_authenticated")


def test_token_of_deactivated_user_is_refused(citizen):
    # given a token of a user who is then deactivated
    user, _ = citizen
    raw = post_json(Client(), TOKEN_URL, {"username": "citizen", "password": PASSWORD}).json()["token"]
    user.is_active = False
    user.save(update_fields=["is_active"])

    # then the token no longer works
    assert_envelope(Client().get(ME_URL, **bearer(raw)), 401, "not_authenticated")


# --- login throttling -------------------------------------------------------------------------


def test_token_endpoint_locks_out_after_failure_limit(citizen):
    # given AXES_FAILURE_LIMIT failed attempts for one username from one address
    client = Client()
    limit = settings.AXES_FAILURE_LIMIT
    statuses = [
        post_json(client, TOKEN_URL, {"username": "citizen", "password": f"wrong-{n}"}).status_code
        for n in range(limit)
    ]
    # the attempts before the limit are plain failures; the one reaching it is already refused
    assert statuses == [401] * (limit - 1) + [403]

    # when the right password is then given
    response = post_json(client, TOKEN_URL, {"username": "citizen", "password": PASSWORD})

    # then it is refused as locked out, and no token is issued
    assert_envelope(response, 403, "locked_out")
    assert ApiToken.objects.count() == 0


def test_lockout_of_one_username_does_not_lock_another(citizen, make_user):
    # given a locked-out username
    make_user("neighbour")
    client = Client()
    for n in range(settings.AXES_FAILURE_LIMIT):
        post_json(client, TOKEN_URL, {"username": "citizen", "password": f"wrong-{n}"})

    # when another user logs in from the same address
    response = post_json(client, TOKEN_URL, {"username": "neighbour", "password": PASSWORD})

    # then that user is not affected
    assert response.status_code == 200


def test_login_page_locks_out_after_failure_limit(citizen):
    # given AXES_FAILURE_LIMIT failed logins on the page
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    statuses = [
        client.post("/login/", {"username": "citizen", "password": f"wrong-{n}"}).status_code
        for n in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert statuses == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [403]

    # when the right password is then given
    response = client.post("/login/", {"username": "citizen", "password": PASSWORD})

    # then the lockout page is shown and the session is not logged in
    assert response.status_code == 403
    assert (
        '<p role="alert">Too many failed logins. Wait 15 minutes and try again, or call 1999 for help.</p>'
        in response.content.decode()
    )
    assert "_auth_user_id" not in client.session


# --- TOTP -------------------------------------------------------------------------------------


def test_token_requires_otp_when_totp_enrolled(citizen, totp_device):
    # given a user with a confirmed TOTP device
    client = Client()

    # when they ask for a token with only a password
    without = post_json(client, TOKEN_URL, {"username": "citizen", "password": PASSWORD})
    # or with a wrong code
    wrong = post_json(
        client, TOKEN_URL, {"username": "citizen", "password": PASSWORD, "otp_token": other_code(totp_device)}
    )

    # then both are refused with otp_required
    assert_envelope(without, 401, "otp_required")
    assert_envelope(wrong, 401, "otp_required")
    assert ApiToken.objects.count() == 0

    # and with the current code a token is issued (the wrong code throttled the device; lift that)
    totp_device.refresh_from_db()
    totp_device.throttle_reset()
    good = post_json(
        client,
        TOKEN_URL,
        {"username": "citizen", "password": PASSWORD, "otp_token": current_code(totp_device)},
    )
    assert good.status_code == 200
    assert Client().get(ME_URL, **bearer(good.json()["token"])).status_code == 200


def test_unconfirmed_totp_device_does_not_require_otp(citizen):
    # given a device the user never confirmed
    user, _ = citizen
    TOTPDevice.objects.create(user=user, name="phone", confirmed=False)

    # then a password alone still gets a token
    assert post_json(Client(), TOKEN_URL, {"username": "citizen", "password": PASSWORD}).status_code == 200


def test_login_page_requires_otp_step_when_totp_enrolled(citizen, totp_device):
    # given a user with a confirmed TOTP device
    user, _ = citizen
    client = Client()

    # when they submit the right password
    response = client.post("/login/", {"username": "citizen", "password": PASSWORD, "next": "/my/"})

    # then they are sent to the code step, and are not logged in yet
    assert response.status_code == 302
    assert response["Location"] == "/login/verify/"
    assert "_auth_user_id" not in client.session
    assert client.get("/my/").status_code == 302

    # a wrong code keeps them out
    wrong = client.post("/login/verify/", {"token": other_code(totp_device)})
    assert wrong.status_code == 200
    assert "_auth_user_id" not in client.session

    # and the right code logs them in and takes them to next (lifting the wrong code's throttle)
    totp_device.refresh_from_db()
    totp_device.throttle_reset()
    good = client.post("/login/verify/", {"token": current_code(totp_device)})
    assert good.status_code == 302
    assert good["Location"] == "/my/"
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.get("/my/").status_code == 200


def test_login_verify_without_password_step_redirects_to_login(citizen, totp_device):
    # given nobody has passed the password step in this session
    # when the code page is posted directly with a valid code
    response = Client().post("/login/verify/", {"token": current_code(totp_device)})

    # then it sends them back to the login page
    assert response.status_code == 302
    assert response["Location"] == "/login/"


# --- partner API keys -------------------------------------------------------------------------


@pytest.fixture
def resident(make_person):
    identifier = new_identifier("F")
    person = make_person(identifier=identifier, name="林淑芬", sex="F", birth_date=datetime.date(1975, 3, 2))
    return identifier, person


def verified_events():
    return AuditEvent.objects.filter(action="person.verified").order_by("sequence")


def test_partner_key_with_scope_verifies_a_resident(partner_agency, resident):
    # given a key with the scope core.people:verify and a resident
    raw, key = make_key(partner_agency, ["core.people:verify"])
    identifier, person = resident
    client = Client()

    # when the partner checks the right number and birth date, then wrong ones
    right = post_json(
        client, VERIFY_URL, {"identifier": identifier, "birth_date": "1975-03-02"}, HTTP_X_API_KEY=raw
    )
    wrong_date = post_json(
        client, VERIFY_URL, {"identifier": identifier, "birth_date": "1975-03-03"}, HTTP_X_API_KEY=raw
    )
    unknown = post_json(
        client,
        VERIFY_URL,
        {"identifier": new_identifier("M"), "birth_date": "1975-03-02"},
        HTTP_X_API_KEY=raw,
    )

    # then only the right pair matches, and each call is audited for the key's agency
    assert right.status_code == 200
    assert right.json() == {"match": True, "resident": True}
    assert wrong_date.status_code == 200
    assert wrong_date.json() == {"match": False, "resident": False}
    assert unknown.status_code == 200
    assert unknown.json() == {"match": False, "resident": False}
    events = list(verified_events())
    assert len(events) == 3
    assert [e.object_id for e in events] == [str(person.pk), "", ""]
    assert [e.data for e in events] == [
        {"partner": "第一銀行", "match": True},
        {"partner": "第一銀行", "match": False},
        {"partner": "第一銀行", "match": False},
    ]
    assert {e.agency_code for e in events} == {partner_agency.code}
    assert {e.actor_username for e in events} == {""}
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_partner_verify_of_moved_out_person_matches_but_is_not_resident(partner_agency, resident):
    raw, _ = make_key(partner_agency, ["core.people:verify"])
    identifier, person = resident
    services.person_update(actor=None, person=person, moved_out_on=datetime.date(2020, 1, 1))

    response = post_json(
        Client(), VERIFY_URL, {"identifier": identifier, "birth_date": "1975-03-02"}, HTTP_X_API_KEY=raw
    )

    assert response.status_code == 200
    assert response.json() == {"match": True, "resident": False}


def test_partner_key_without_scope_is_403(partner_agency, resident):
    # given a key that only reads the directory
    raw, _ = make_key(partner_agency, ["core.directory:read"])
    identifier, _ = resident

    # when it calls verify
    response = post_json(
        Client(), VERIFY_URL, {"identifier": identifier, "birth_date": "1975-03-02"}, HTTP_X_API_KEY=raw
    )

    # then 403 naming the scope, and nothing is audited
    error = assert_envelope(response, 403, "permission_denied")
    assert error["details"] == {"required_scope": "core.people:verify"}
    assert verified_events().count() == 0


def test_revoked_partner_key_is_401(partner_agency, resident):
    raw, key = make_key(partner_agency, ["core.people:verify"])
    services.api_key_revoke(actor=None, key=key)
    identifier, _ = resident

    response = post_json(
        Client(), VERIFY_URL, {"identifier": identifier, "birth_date": "1975-03-02"}, HTTP_X_API_KEY=raw
    )

    assert_envelope(response, 401, "not_authenticated")
    assert verified_events().count() == 0


def test_expired_partner_key_is_401(partner_agency, resident):
    raw, key = make_key(partner_agency, ["core.people:verify"])
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    identifier, _ = resident

    response = post_json(
        Client(), VERIFY_URL, {"identifier": identifier, "birth_date": "1975-03-02"}, HTTP_X_API_KEY=raw
    )

    assert_envelope(response, 401, "not_authenticated")
    assert verified_events().count() == 0


@pytest.mark.parametrize(
    "garbage",
    [
        "nonsense",
        "cs_",
        "cs_deadbeef_",
        "cs_deadbeef_not-the-secret",
        "xx_deadbeef_secret",
        "cs__",
        "鍵_鍵_鍵",
    ],
)
def test_garbage_partner_key_is_401(partner_agency, resident, garbage):
    make_key(partner_agency, ["core.people:verify"])
    identifier, _ = resident

    response = post_json(
        Client(), VERIFY_URL, {"identifier": identifier, "birth_date": "1975-03-02"}, HTTP_X_API_KEY=garbage
    )

    assert_envelope(response, 401, "not_authenticated")


def test_right_prefix_wrong_secret_is_401(partner_agency, resident):
    # given a real key's prefix with a different secret
    raw, key = make_key(partner_agency, ["core.people:verify"])
    forged = f"cs_{key.prefix}_{'x' * 43}"
    identifier, _ = resident

    response = post_json(
        Client(), VERIFY_URL, {"identifier": identifier, "birth_date": "1975-03-02"}, HTTP_X_API_KEY=forged
    )

    assert_envelope(response, 401, "not_authenticated")


def test_partner_key_does_not_authenticate_user_endpoints(partner_agency):
    # given a valid partner key
    raw, _ = make_key(partner_agency, ["core.people:verify"])

    # then it is no login: /auth/me and the people list refuse it
    assert_envelope(Client().get(ME_URL, HTTP_X_API_KEY=raw), 401, "not_authenticated")
    assert_envelope(Client().get("/api/v1/core/people", HTTP_X_API_KEY=raw), 401, "not_authenticated")


# --- CSRF -------------------------------------------------------------------------------------


@pytest.fixture
def notification(citizen):
    user, _ = citizen
    return services.notification_send(
        recipient=user, subject="繳費通知", body="請於月底前繳費", send_email=False
    )


def test_bearer_token_post_needs_no_csrf_token(citizen, notification, token_for):
    # given a client that enforces CSRF and carries only a bearer token
    user, _ = citizen
    client = Client(enforce_csrf_checks=True)

    # when it POSTs without any CSRF token
    response = client.post(f"/api/v1/core/notifications/{notification.pk}/read", **token_for(user))

    # then the request goes through
    assert response.status_code == 200
    assert response.json()["id"] == notification.pk
    assert Notification.objects.get(pk=notification.pk).read_at is not None


def test_bearer_token_delete_needs_no_csrf_token(citizen, token_for):
    user, _ = citizen
    header = token_for(user)

    response = Client(enforce_csrf_checks=True).delete(TOKEN_URL, **header)

    assert response.status_code == 204
    assert ApiToken.objects.get(user=user).revoked_at is not None


def test_session_post_without_csrf_token_is_refused(citizen, notification):
    # given a logged-in session on a client that enforces CSRF
    user, _ = citizen
    client = Client(enforce_csrf_checks=True)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    assert client.get(ME_URL).status_code == 200

    # when it POSTs without a CSRF token
    response = client.post(f"/api/v1/core/notifications/{notification.pk}/read")

    # then it is refused and nothing changes
    assert response.status_code == 403
    assert Notification.objects.get(pk=notification.pk).read_at is None


def test_session_post_with_csrf_token_is_accepted(citizen, notification):
    # given a logged-in session that fetched a page (and so has a CSRF cookie)
    user, _ = citizen
    client = Client(enforce_csrf_checks=True)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    client.get("/my/")
    csrf = client.cookies["csrftoken"].value

    # when it POSTs with the token in X-CSRFToken
    response = client.post(f"/api/v1/core/notifications/{notification.pk}/read", HTTP_X_CSRFTOKEN=csrf)

    # then it is accepted
    assert response.status_code == 200
    assert Notification.objects.get(pk=notification.pk).read_at is not None
