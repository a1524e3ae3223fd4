"""The citizen portal's pages: home, language, login and logout, my data, the agency directory,
and the security headers every page carries."""

import re

import pytest
from django.test import Client

from civicstack.core import services
from civicstack.core.models import Agency, District, Household, Person
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def html_lang(response) -> str:
    match = re.search(r'<html lang="([^"]+)"', response.content.decode())
    assert match, "no <html lang>"
    return match.group(1)


# --- home and language ------------------------------------------------------------------------


def test_home_shows_core_tiles_in_traditional_chinese_by_default(db):
    # when an anonymous visitor opens the portal, with no language preference
    response = Client().get("/")

    # then it is served in zh-Hant-TW, with the core tiles linking to their pages
    assert response.status_code == 200
    assert html_lang(response) == "zh-Hant-TW"
    html = response.content.decode()
    tiles = dict(re.findall(r'<a href="([^"]+)"><span class="tile-title">([^<]+)</span>', html))
    assert tiles["/my/"] == "我的資料"
    assert tiles["/directory/"] == "機關通訊錄"
    assert tiles["/api/docs"] == "開發者 API"


def test_home_tiles_in_english(db):
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get("/")
    assert html_lang(response) == "en"
    tiles = dict(
        re.findall(r'<a href="([^"]+)"><span class="tile-title">([^<]+)</span>', response.content.decode())
    )
    assert {tiles["/my/"], tiles["/directory/"], tiles["/api/docs"]} == {
        "My data",
        "Agency directory",
        "Developer API",
    }


def test_language_switch_to_english(db):
    # given a visitor on the default (Chinese) portal
    client = Client()
    assert html_lang(client.get("/")) == "zh-Hant-TW"

    # when they pick English
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})

    # then they are sent back and the portal is served in English from then on
    assert response.status_code == 302
    assert response["Location"] == "/"
    home = client.get("/")
    assert html_lang(home) == "en"
    assert "My data" in home.content.decode()

    # and back to Chinese
    client.post("/i18n/setlang/", {"language": "zh-hant", "next": "/"})
    assert html_lang(client.get("/")) == "zh-Hant-TW"


# --- login and logout -------------------------------------------------------------------------


def test_login_page_renders(db):
    response = Client().get("/login/?next=/my/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="username"' in html
    assert 'name="password"' in html
    assert '<input type="hidden" name="next" value="/my/">' in html


def test_login_with_wrong_password_shows_an_error(citizen):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = client.post("/login/", {"username": "citizen", "password": "not-it"})
    assert response.status_code == 200
    assert "Wrong username or password." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_with_good_password_logs_in_and_goes_to_next(citizen):
    user, _ = citizen
    client = Client()
    response = client.post("/login/", {"username": "citizen", "password": PASSWORD, "next": "/my/"})
    assert response.status_code == 302
    assert response["Location"] == "/my/"
    assert client.session["_auth_user_id"] == str(user.pk)


def test_login_without_next_goes_home(citizen):
    response = Client().post("/login/", {"username": "citizen", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/phish",
        "//evil.example/",
        "http://evil.example",
        "https:evil.example",
        "/\\evil.example",
    ],
)
def test_login_never_redirects_off_site(citizen, target):
    # when next names another host
    client = Client()
    response = client.post("/login/", {"username": "citizen", "password": PASSWORD, "next": target})

    # then the login succeeds but lands on the home page
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert "_auth_user_id" in client.session


def test_session_cookie_is_http_only(citizen):
    client = Client()
    response = client.post("/login/", {"username": "citizen", "password": PASSWORD})
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def test_logout_is_post_only(citizen, client_for):
    user, _ = citizen
    client = client_for(user)

    # a GET does not log out
    assert client.get("/logout/").status_code == 405
    assert client.session["_auth_user_id"] == str(user.pk)

    # a POST does
    response = client.post("/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert "_auth_user_id" not in client.session


# --- my data ----------------------------------------------------------------------------------


@pytest.fixture
def family(citizen, make_person):
    """The citizen's household: her and her son, plus a neighbour in another household."""
    user, person = citizen
    household = Household.objects.create(
        number="F0001234", district=person.district, address="桃園區縣府路1號"
    )
    Person.objects.filter(pk=person.pk).update(household=household, relationship=Person.Relationship.HEAD)
    son = make_person(name="陳冠宇", household=household, relationship=Person.Relationship.CHILD)
    neighbour = make_person(name="黃建國")
    return person, son, neighbour


def test_my_data_shows_masked_id_members_and_notifications(citizen, family, client_for):
    # given a citizen with a household member and a message
    user, person = citizen
    _, son, neighbour = family
    services.notification_send(
        recipient=user, subject="補助核准通知", body="您的申請已核准", send_email=False
    )
    raw = services.person_identifier(person)

    # when she opens My data
    response = client_for(user).get("/my/")

    # then her masked number, her son and her message are shown; her whole number and neighbours are not
    assert response.status_code == 200
    html = response.content.decode()
    assert person.id_masked in html
    assert person.id_masked == f"{raw[:3]}****{raw[7:]}"
    assert raw not in html
    assert "陳美玲" in html
    assert "陳冠宇" in html
    assert "黃建國" not in html
    assert "補助核准通知" in html
    assert "您的申請已核准" in html


def test_my_data_never_shows_household_members_numbers(citizen, family, client_for):
    user, _ = citizen
    _, son, _ = family
    html = client_for(user).get("/my/").content.decode()
    assert services.person_identifier(son) not in html


def test_my_data_without_linked_record(make_user, client_for):
    user = make_user("newcomer")
    response = client_for(user).get("/my/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "No household registration record is linked to your login yet." in response.content.decode()


def test_my_data_for_anonymous_redirects_to_login(db):
    response = Client().get("/my/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/my/"


def test_other_peoples_notifications_are_not_shown(citizen, make_user, client_for):
    user, _ = citizen
    other = make_user("other")
    services.notification_send(recipient=other, subject="別人的通知", body="不該看到", send_email=False)
    assert "別人的通知" not in client_for(user).get("/my/").content.decode()


def test_marking_own_notification_read(citizen, client_for):
    user, _ = citizen
    notification = services.notification_send(recipient=user, subject="通知", body="x", send_email=False)
    response = client_for(user).post(f"/my/notifications/{notification.pk}/read/")
    assert response.status_code == 302
    assert response["Location"] == "/my/"
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_marking_someone_elses_notification_read_is_404(citizen, make_user, client_for):
    user, _ = citizen
    other = make_user("other")
    notification = services.notification_send(
        recipient=other, subject="別人的通知", body="x", send_email=False
    )
    client = client_for(user)
    client.raise_request_exception = False  # see the status a browser would get
    response = client.post(f"/my/notifications/{notification.pk}/read/")
    assert response.status_code == 404
    notification.refresh_from_db()
    assert notification.read_at is None


# --- directory --------------------------------------------------------------------------------


def test_directory_lists_agencies(db):
    response = Client().get("/directory/")
    assert response.status_code == 200
    html = response.content.decode()
    for agency in Agency.objects.filter(is_active=True).order_by("?")[:10]:
        assert f'href="/directory/{agency.code}/"' in html


def test_directory_filters_by_district(districts):
    a, b = districts
    response = Client().get(f"/directory/?district={a.code}")
    assert response.status_code == 200
    html = response.content.decode()
    listed = set(re.findall(r'<li><a href="/directory/([^/]+)/">', html))
    expected = set(Agency.objects.filter(is_active=True, district=a).values_list("code", flat=True))
    assert expected
    assert listed == expected
    assert not listed & set(Agency.objects.filter(district=b).values_list("code", flat=True))


def test_directory_filters_by_name(db):
    response = Client().get("/directory/", {"q": "資訊科技"})
    assert response.status_code == 200
    listed = set(re.findall(r'<li><a href="/directory/([^/]+)/">', response.content.decode()))
    expected = set(
        Agency.objects.filter(is_active=True, name_zh__contains="資訊科技").values_list("code", flat=True)
    )
    assert "TYC-L1-26" in expected
    assert listed == expected


def test_directory_with_no_match(db):
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get("/directory/", {"q": "不存在的機關名稱"})
    assert response.status_code == 200
    assert "No agency matches." in response.content.decode()


def test_agency_page_shows_it_department_contacts(db):
    agency = Agency.objects.get(name_en="Department of Information Technology")
    response = Client().get(f"/directory/{agency.code}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "桃園市政府資訊科技局" in html
    assert "<td>局本部</td><td>局長</td><td>陳崗熒</td><td>3322101 分機 6965</td><td>335-0859</td>" in html


def test_unknown_agency_page_is_404(db):
    assert Client().get("/directory/NO-SUCH-AGENCY/").status_code == 404


# --- security headers -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/login/", "/directory/", "/my/", "/no-such-page/"])
def test_security_headers(db, path):
    response = Client().get(path)
    csp = response["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    assert directives["default-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in directives["script-src"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_pages_load_no_external_assets(db):
    html = Client().get("/").content.decode()
    assert re.findall(r'(?:src|href)="(https?:)?//', html) == []


def test_district_names_in_directory_filter(db):
    html = Client().get("/directory/").content.decode()
    for district in District.objects.all():
        assert f'<option value="{district.code}"' in html
