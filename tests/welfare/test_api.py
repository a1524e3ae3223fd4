"""The API over real HTTP: stateless evaluation, the interview as a resource, and staff rule versions."""

import datetime

import pytest

pytestmark = pytest.mark.django_db

URL = "/api/v1/welfare"


def post(client, path, body, **headers):
    return client.post(f"{URL}{path}", body, content_type="application/json", **headers)


def test_evaluate_without_facts_leaves_every_benefit_undecided(client, catalog):
    response = post(client, "/evaluate", {})
    assert response.status_code == 200
    body = response.json()
    assert body["counts"] == {"eligible": 0, "undecided": 3, "not_eligible": 0}
    senior = next(r for r in body["results"] if r["benefit"]["code"] == "T-SENIOR")
    assert senior["missing_facts"] == ["age", "residence_years"]
    assert senior["explanation"] == "Still unknown: Age, Years registered in the city."


def test_evaluate_explains_each_status(client, catalog):
    facts = {"age": 67, "residence_years": 10, "district": "大溪區", "recent_birth": False, "housing": "own"}
    body = post(client, "/evaluate", {"facts": facts}).json()
    by_code = {r["benefit"]["code"]: r for r in body["results"]}
    assert [r["status"] for r in body["results"]] == [
        "eligible",
        "not_eligible",
        "not_eligible",
    ]  # eligible first
    assert by_code["T-SENIOR"]["explanation"] == (
        "Because you are 67 years old and you have been registered in the city for 10 years."
    )
    assert by_code["T-RENT"]["failing"] == [
        "Housing = in a rented home (you live in a home my household owns)"
    ]


def test_evaluation_responses_have_the_documented_shape(client, catalog):
    """The evaluation JSON is written directly (not through ninja's response validation): it must
    still be exactly EvaluationOut, in both endpoints that return it."""
    from civicstack.welfare.api import EvaluationOut

    facts = {
        "age": 67,
        "residence_years": 10,
        "recent_birth": False,
        "housing": "rent",
        "income_class": "low",
    }
    response = post(client, "/evaluate", {"facts": facts})
    assert response["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    assert EvaluationOut.model_validate(body).model_dump(mode="json") == body
    assert [r["status"] for r in body["results"]] == ["eligible", "eligible", "not_eligible"]
    assert set(body["results"][0]) == {
        "benefit",
        "status",
        "explanation",
        "reasons",
        "failing",
        "missing_facts",
    }
    started = post(client, "/interviews", {"facts": facts}).json()
    results = client.get(f"{URL}/interviews/{started['id']}/results").json()
    assert EvaluationOut.model_validate(results).model_dump(mode="json") == results
    assert [r["benefit"]["code"] for r in results["results"]] == [
        r["benefit"]["code"] for r in body["results"]
    ]


def test_a_saved_change_is_seen_by_the_next_evaluation(client, catalog, bureau_staff):
    from civicstack.welfare import services

    before = post(client, "/evaluate", {"facts": {"age": 62, "residence_years": 3}}).json()
    senior = next(r for r in before["results"] if r["benefit"]["code"] == "T-SENIOR")
    assert senior["status"] == "not_eligible" and senior["benefit"]["name"] == "重陽敬老禮金"
    services.benefit_update(
        actor=bureau_staff["welfare_supervisor"], benefit=catalog["senior"], name="敬老禮金"
    )
    services.rule_version_create(actor=bureau_staff["welfare_supervisor"], benefit=catalog["senior"],
                                 condition={"fact": "age", "op": ">=", "value": 60},
                                 effective_from=datetime.date(2019, 1, 1))  # fmt: skip
    after = post(client, "/evaluate", {"facts": {"age": 62, "residence_years": 3}}).json()
    senior = next(r for r in after["results"] if r["benefit"]["code"] == "T-SENIOR")
    assert senior["status"] == "eligible" and senior["benefit"]["name"] == "敬老禮金"


def test_evaluate_on_a_day_before_the_catalog(client, catalog):
    assert post(client, "/evaluate", {"facts": {}, "on": "2017-06-01"}).json()["results"] == []


@pytest.mark.parametrize(("facts", "field"), [
    ({"age": "old"}, "age"), ({"shoe_size": 42}, "shoe_size"), ({"income_class": "rich"}, "income_class"),
    ({"indigenous": "maybe"}, "indigenous"), ({"age": -3}, "age"),
])  # fmt: skip
def test_bad_facts_answer_the_error_envelope(client, catalog, facts, field):
    response = post(client, "/evaluate", {"facts": facts})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "fact_invalid" and list(error["details"]) == [field]


def test_malformed_body_is_not_a_server_error(client, catalog):
    assert post(client, "/evaluate", {"facts": [1, 2]}).status_code in (400, 422)
    assert client.post(f"{URL}/evaluate", "{", content_type="application/json").status_code in (400, 422)


def test_interview_resource(client, catalog):
    started = post(client, "/interviews", {"facts": {"age": 30}})
    assert started.status_code == 201
    interview = started.json()
    token = interview["id"]
    assert interview["done"] is False and interview["answers"] == {"age": 30}
    seen = []
    answers = {"recent_birth": False, "housing": "rent", "income_class": "low"}
    while not interview["done"]:
        name = interview["next_question"]["name"]
        seen.append(name)
        interview = post(
            client, f"/interviews/{token}/answers", {"fact": name, "value": answers[name]}
        ).json()
    assert sorted(seen) == ["housing", "income_class", "recent_birth"]
    results = client.get(f"{URL}/interviews/{token}/results").json()
    assert results["counts"] == {"eligible": 1, "undecided": 0, "not_eligible": 2}
    back = post(client, f"/interviews/{token}/back", {"fact": "housing"}).json()
    assert (
        back["done"] is False
        and back["next_question"]["name"] == "housing"
        and "housing" not in back["answers"]
    )


def test_interview_of_a_citizen_uses_the_registry_and_is_private(
    client, catalog, citizen, token_for, make_user
):
    user, _person = citizen
    interview = post(client, "/interviews", {"use_registry": True}, **token_for(user)).json()
    assert interview["registry_facts"]["income_class"] == "general"
    other = make_user("someone")
    response = client.get(f"{URL}/interviews/{interview['id']}", **token_for(other))
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert client.get(f"{URL}/interviews/{interview['id']}").status_code == 404  # anonymous too


def test_unknown_interview(client):
    assert client.get(f"{URL}/interviews/nope").status_code == 404


@pytest.mark.parametrize(("who", "status"), [
    (None, 401), ("citizen", 403), ("clerk_a", 404), ("welfare_clerk", 403), ("welfare_supervisor", 201),
])  # fmt: skip
def test_rule_version_authorization(client, catalog, bureau_staff, citizen, token_for, who, status):
    users = {**bureau_staff, "citizen": citizen[0]}
    headers = token_for(users[who]) if who else {}
    body = {"condition": {"fact": "age", "op": ">=", "value": 60}, "effective_from": "2030-01-01"}
    response = post(client, "/staff/benefits/T-SENIOR/rules", body, **headers)
    assert response.status_code == status


def test_invalid_rule_answers_every_problem(client, catalog, bureau_staff, token_for):
    body = {"condition": {"all": [{"fact": "age", "op": ">=", "value": 65}, {"fact": "age", "op": "<", "value": 18}]},
            "effective_from": "2030-01-01"}  # fmt: skip
    response = post(
        client, "/staff/benefits/T-SENIOR/rules", body, **token_for(bureau_staff["welfare_supervisor"])
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "rule_invalid"
    assert error["details"] == [
        {"path": "rule.all", "message": "contradictory conditions on age: Age ≥ 65 and Age < 18"}
    ]


def test_public_catalog(client, catalog):
    codes = [b["code"] for b in client.get(f"{URL}/benefits?category=senior").json()]
    assert codes == ["T-SENIOR"]
    detail = client.get(f"{URL}/benefits/T-SENIOR").json()
    assert detail["rule"]["effective_from"] == "2018-01-01"
    assert client.get(f"{URL}/benefits/NOPE").status_code == 404
    assert {f["name"] for f in client.get(f"{URL}/facts").json()} >= {"age", "district", "income_class"}


def test_a_bad_bearer_token_is_refused_not_ignored(client, catalog):
    response = post(client, "/interviews", {"use_registry": True}, HTTP_AUTHORIZATION="Bearer nonsense")
    assert response.status_code == 401 and response.json()["error"]["code"] == "not_authenticated"
