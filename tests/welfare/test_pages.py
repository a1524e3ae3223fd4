"""The pages through Django's test client: a citizen's interview with back and change, results
with explanations and the not-eligible list on request; the staff rule editor and test panel."""

import re

import pytest

from civicstack.welfare.models import BenefitRule, Interview

pytestmark = pytest.mark.django_db


def answer(client, token, fact, value):
    return client.post(f"/welfare/interview/{token}/answer/", {"fact": fact, "value": value})


def current_question(client, token) -> str:
    html = client.get(f"/welfare/interview/{token}/").content.decode()
    return re.search(r'name="fact" value="([a-z_0-9]+)"', html).group(1)


def test_anonymous_interview_to_results(client, catalog):
    response = client.post("/welfare/", {})
    token = Interview.objects.get().token
    assert response.url == f"/welfare/interview/{token}/"
    answers = {
        "age": "67",
        "residence_years": "12",
        "recent_birth": "false",
        "income_class": "low",
        "housing": "own",
    }
    for _ in range(6):
        page = client.get(f"/welfare/interview/{token}/")
        if page.status_code == 302:
            break
        fact = current_question(client, token)
        answer(client, token, fact, answers[fact])
    assert page.url == f"/welfare/interview/{token}/results/"
    results = client.get(page.url).content.decode()
    assert "重陽敬老禮金" in results and "Because you are 67 years old" in results
    assert "租金補貼" not in results  # not eligible ones only on request
    shown = client.get(page.url + "?all=1").content.decode()
    assert "租金補貼" in shown and "Not met: Housing = in a rented home" in shown


def test_back_and_change(client, catalog):
    client.post("/welfare/", {})
    token = Interview.objects.get().token
    first = current_question(client, token)
    answer(client, token, first, {"age": "70", "housing": "rent", "recent_birth": "false"}.get(first, "1"))
    response = client.post(f"/welfare/interview/{token}/back/", {})
    assert response.url.startswith(f"/welfare/interview/{token}/?fact={first}&previous=")
    page = client.get(response.url).content.decode()
    assert f'name="fact" value="{first}"' in page
    assert Interview.objects.get().answers == {}


def test_bad_answer_is_asked_again_with_a_message(client, catalog):
    client.post("/welfare/", {})
    token = Interview.objects.get().token
    response = answer(client, token, "age", "abc")
    assert response.url == f"/welfare/interview/{token}/?fact=age"
    assert "Age: expected a whole number" in client.get(response.url).content.decode()


def test_someone_elses_interview_is_not_found(client_for, catalog, citizen, make_user):
    user, _person = citizen
    mine = client_for(user)
    mine.post("/welfare/", {"use_registry": "on"})
    token = Interview.objects.get().token
    assert client_for(make_user("other")).get(f"/welfare/interview/{token}/").status_code == 404


def test_benefit_page_shows_the_rule_in_words(client, catalog):
    html = client.get("/welfare/benefits/T-SENIOR/").content.decode()
    assert "All of:" in html and "Age ≥ 65" in html
    assert client.get("/welfare/benefits/NOPE/").status_code == 404
    assert "重陽敬老禮金" in client.get("/welfare/benefits/?category=senior").content.decode()


def test_rule_editor_refuses_an_invalid_rule_and_saves_a_valid_one(client_for, catalog, bureau_staff):
    client = client_for(bureau_staff["welfare_supervisor"])
    url = "/welfare/staff/benefits/T-SENIOR/"
    bad = client.post(
        url,
        {
            "condition": '{"all": [{"fact": "age", "op": ">=", "value": 65}, '
            '{"fact": "age", "op": "<", "value": 18}]}',
            "effective_from": "2030-01-01",
        },
    )
    assert bad.status_code == 200 and "contradictory conditions on age" in bad.content.decode()
    good = client.post(url, {"condition": '{"fact": "age", "op": ">=", "value": 60}', "effective_from": "2030-01-01",
                             "note": "lowered"})  # fmt: skip
    assert good.status_code == 302
    assert BenefitRule.objects.filter(benefit=catalog["senior"], note="lowered").exists()


def test_staff_pages_are_scoped(client_for, catalog, bureau_staff, citizen):
    assert client_for(citizen[0]).get("/welfare/staff/").status_code == 403
    assert "T-SENIOR" not in client_for(bureau_staff["clerk_a"]).get("/welfare/staff/").content.decode()
    assert client_for(bureau_staff["clerk_a"]).get("/welfare/staff/benefits/T-SENIOR/").status_code == 404
    clerk_page = (
        client_for(bureau_staff["welfare_clerk"]).get("/welfare/staff/benefits/T-SENIOR/").content.decode()
    )
    assert "Save new version" not in clerk_page  # clerks read, supervisors edit


def test_test_panel(client_for, catalog, bureau_staff):
    client = client_for(bureau_staff["welfare_clerk"])
    html = client.get("/welfare/staff/test/", {"t_age": "70", "t_residence_years": "3"}).content.decode()
    assert "1 eligible, 2 undecided, 0 not eligible." in html
    bad = client.get("/welfare/staff/test/", {"t_age": "x"}).content.decode()
    assert "expected a whole number" in bad
