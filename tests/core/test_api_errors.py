"""The API's contract for errors: a valid OpenAPI document, one error envelope for every status,
pagination, and no 500 for any malformed input on any endpoint the OpenAPI document lists."""

import json
import re
from urllib.parse import quote, urlencode

import pytest
from django.test import Client
from openapi_spec_validator import validate

from civicstack.core import services
from civicstack.core.models import District

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Seven logins a test: a cheap hasher keeps set-up fast (password checks still run for real)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


METHODS = ("get", "post", "put", "patch", "delete")


def assert_envelope(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code
    return body["error"]


def envelope_problem(response) -> str | None:
    """Why the response is not the error envelope, or None when it is."""
    if not response.get("Content-Type", "").startswith("application/json"):
        return f"content type {response.get('Content-Type')!r}"
    try:
        body = json.loads(response.content)
    except ValueError:
        return "body is not JSON"
    if not isinstance(body, dict) or set(body) != {"error"} or not isinstance(body["error"], dict):
        return "no single 'error' key"
    error = body["error"]
    if set(error) != {"code", "message", "details"}:
        return f"error keys {sorted(error)}"
    if not (isinstance(error["code"], str) and error["code"] and isinstance(error["message"], str)):
        return "code/message not strings"
    return None


@pytest.fixture
def openapi(db):
    response = Client().get("/api/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(doc: dict):
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


# --- the OpenAPI document and docs ------------------------------------------------------------


def test_openapi_document_is_valid_openapi_3(openapi):
    # given the served document
    # then it validates against the OpenAPI 3 specification
    assert openapi["openapi"].startswith("3.")
    validate(openapi)


def test_every_operation_is_under_api_v1(openapi):
    paths = [path for path, _, _ in operations(openapi)]
    assert paths, "the document lists no operations"
    assert [p for p in paths if not p.startswith("/api/v1/")] == []


def test_every_operation_documents_its_error_envelope(openapi):
    # every operation that needs a login documents the 401 envelope
    schemas = openapi["components"]["schemas"]
    assert set(schemas["ErrorOut"]["properties"]) == {"error"}
    missing = [
        f"{method.upper()} {path}"
        for path, method, operation in operations(openapi)
        if operation.get("security") and "401" not in operation["responses"]
    ]
    assert missing == []


def test_docs_page_renders_without_external_urls(db):
    # when the docs page is opened
    response = Client().get("/api/docs")

    # then it renders, and loads nothing from another host (deployments may be offline)
    assert response.status_code == 200
    html = response.content.decode()
    assert "/api/openapi.json" in html
    external = [
        url for url in re.findall(r"https?://[^\s\"'<>)]+", html) if not url.startswith("http://testserver")
    ]
    assert external == []


def test_docs_assets_are_served(db):
    # the assets the docs page references are served by this deployment
    html = Client().get("/api/docs").content.decode()
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert assets
    statuses = {asset: Client().get(asset).status_code for asset in assets}
    assert statuses == {asset: 200 for asset in assets}


# --- the error envelope -----------------------------------------------------------------------


def test_401_envelope(db):
    assert_envelope(Client().get("/api/v1/auth/me"), 401, "not_authenticated")


def test_403_envelope(citizen, token_for):
    user, _ = citizen
    assert_envelope(Client().get("/api/v1/core/people", **token_for(user)), 403, "permission_denied")


def test_404_envelope_for_unknown_api_path(db):
    assert_envelope(Client().get("/api/v1/no-such-module/things"), 404, "not_found")
    assert_envelope(Client().get("/api/nothing-here"), 404, "not_found")


def test_404_envelope_for_unknown_object(db):
    assert_envelope(Client().get("/api/v1/core/districts/NOPE"), 404, "not_found")
    assert_envelope(Client().get("/api/v1/core/agencies/NOPE"), 404, "not_found")


def test_404_envelope_for_unknown_person(staff, token_for):
    assert_envelope(
        Client().get("/api/v1/core/people/987654321", **token_for(staff["city_admin"])), 404, "not_found"
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/auth/token"),
        ("put", "/api/v1/core/districts"),
        ("delete", "/api/v1/core/agencies"),
        ("post", "/api/v1/auth/me"),
    ],
)
def test_405_envelope_for_wrong_method(db, method, path):
    # when an endpoint is called with a method it does not take
    response = getattr(Client(), method)(path)

    # then 405 in the error envelope, naming the methods it does take
    assert response.status_code == 405
    assert response.has_header("Allow")
    assert_envelope(response, 405, "method_not_allowed")


@pytest.mark.parametrize(
    "query",
    [
        "page=abc",
        "page=0",
        "page=-1",
        "page_size=0",
        "page_size=1.5",
        "page=99999999999999999999",
        "kind=castle",
    ],
)
def test_422_envelope_for_bad_query_params(db, query):
    # when a query parameter has the wrong type or range
    response = Client().get(f"/api/v1/core/agencies?{query}")

    # then 422, with the failing parameter's location in details
    error = assert_envelope(response, 422, "validation_error")
    name = query.split("=")[0]
    assert [d["loc"] for d in error["details"]] == [["query", name]]


def test_422_envelope_for_bad_body_field(db):
    response = Client().post(
        "/api/v1/auth/token",
        data=json.dumps({"username": 5, "password": []}),
        content_type="application/json",
    )
    error = assert_envelope(response, 422, "validation_error")
    assert sorted(tuple(d["loc"]) for d in error["details"]) == [
        ("body", "payload", "password"),
        ("body", "payload", "username"),
    ]


@pytest.mark.parametrize("body", [b"{", b"{'username': 'x'}", b'{"username": "a",}', b"\xff\xfe\x00", b"nul"])
def test_400_envelope_for_malformed_json(db, body):
    response = Client().post("/api/v1/auth/token", data=body, content_type="application/json")
    assert_envelope(response, 400, "bad_request")


# --- pagination -------------------------------------------------------------------------------


def test_list_endpoints_return_the_page_envelope(db):
    # given the districts of the city profile
    total = District.objects.count()
    assert total > 3

    # when the second page of three is asked for
    response = Client().get("/api/v1/core/districts?page=2&page_size=3")

    # then the page envelope counts the whole list
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"items", "count", "page", "page_size", "pages"}
    assert body["count"] == total
    assert body["page"] == 2
    assert body["page_size"] == 3
    assert body["pages"] == -(-total // 3)
    expected = list(District.objects.order_by("id").values_list("code", flat=True)[3:6])
    assert [d["code"] for d in body["items"]] == expected


def test_every_list_endpoint_paginates(openapi, staff, token_for):
    # every operation that takes page and page_size answers with the page envelope
    header = token_for(staff["city_admin"])
    lists = [
        path
        for path, method, operation in operations(openapi)
        if method == "get" and {"page", "page_size"} <= {p["name"] for p in operation.get("parameters", [])}
    ]
    assert "/api/v1/core/people" in lists
    shapes = {}
    for path in lists:
        if "{" in path:
            continue
        response = Client().get(f"{path}?page=1&page_size=2", **header)
        body = response.json()
        shapes[path] = (response.status_code, sorted(body), body.get("page_size"))
    assert shapes == {p: (200, ["count", "items", "page", "page_size", "pages"], 2) for p in shapes}


def test_page_size_over_200_is_422(db):
    assert Client().get("/api/v1/core/districts?page_size=200").status_code == 200
    error = assert_envelope(Client().get("/api/v1/core/districts?page_size=201"), 422, "validation_error")
    assert [d["loc"] for d in error["details"]] == [["query", "page_size"]]


def test_page_beyond_the_end_is_empty(db):
    total = District.objects.count()
    response = Client().get("/api/v1/core/districts?page=1000&page_size=50")
    assert response.status_code == 200
    assert response.json() == {
        "items": [],
        "count": total,
        "page": 1000,
        "page_size": 50,
        "pages": -(-total // 50),
    }


# --- no 500 for malformed input, on every endpoint ---------------------------------------------

GARBAGE = [
    "'; DROP TABLE core_person; --",
    "../../etc/passwd",
    "x" * 10_000,
    "\x00",
    "a\x00b",
    "-1",
    "-99999999999999999999",
    "9" * 40,
    "1e999",
    "NaN",
    "0",
    "",
    " ",
    "中文字\u202e測試",
    "<script>alert(1)</script>",
    "0001-01-01T00:00:00",
    "9999-12-31T23:59:59-12:00",
    "0001-01-01",
    "true",
    "[]",
    "{}",
    "null",
]

BAD_JSON_BODIES = [
    b"{",
    b"not json",
    b"\xff\xfe\xfd",
    b"[]",
    b'"a string"',
    b"null",
    b"0",
    b"1e999",
    b"-1e999",
    b"9" * 5000,
    b"[" * 50_000 + b"]" * 50_000,
    b'{"a":' * 5000 + b"1" + b"}" * 5000,
    b'{"\\ud800": "\\udfff"}',
    b"\x00",
    b"",
]

FIELD_GARBAGE = [
    None,
    [],
    {},
    [1, 2, 3],
    {"$gt": ""},
    10**30,
    -(10**30),
    1e308,
    -1,
    0,
    True,
    "x" * 100_000,
    "\x00",
    "\x00" * 12,
    "\ud800",
    "中文字\u202e",
    "'; DROP TABLE core_person; --",
    "0001-01-01",
    "9999-12-31",
    "0001-01-01T00:00:00",
    "9999-12-31T23:59:59-12:00",
]


def _sample(schema: dict, components: dict):
    """A plausible value for a JSON schema, so each field can be broken one at a time."""
    if "$ref" in schema:
        return _sample(components[schema["$ref"].split("/")[-1]], components)
    if "anyOf" in schema:
        return _sample(next(s for s in schema["anyOf"] if s.get("type") != "null"), components)
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object":
        return {name: _sample(sub, components) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return []
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    if kind == "string":
        return {"date": "2000-01-01", "date-time": "2000-01-01T00:00:00+08:00"}.get(
            schema.get("format"), "A123456789"
        )
    return None


def _body_schema(operation: dict, components: dict) -> dict | None:
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    if schema and "$ref" in schema:
        return components[schema["$ref"].split("/")[-1]]
    return schema


def _fill(path: str, values: dict) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: quote(str(values.get(m.group(1), "1")), safe=""), path)


@pytest.fixture
def battery_world(citizen, staff, token_for):
    """Real records for the path parameters, and the three callers."""
    user, person = citizen
    notification = services.notification_send(recipient=user, subject="通知", body="內容", send_email=False)
    path_values = {
        "person_id": person.pk,
        "notification_id": notification.pk,
        "code": District.objects.first().code,
    }
    users = {"anonymous": None, "citizen": user, "city_admin": staff["city_admin"]}

    def credentials(role: str) -> dict:
        # A fresh token each time: DELETE /auth/token, one of the operations, revokes the one it is sent with.
        header = token_for(users[role]) if users[role] is not None else {}
        if header:
            assert Client().get("/api/v1/auth/me", **header).status_code == 200
        return header

    return path_values, credentials


def _send(client: Client, method: str, url: str, headers: dict, body: bytes | None = None, content_type=None):
    kwargs = dict(headers)
    if body is not None:
        kwargs["data"] = body
        kwargs["content_type"] = content_type or "application/json"
    return getattr(client, method)(url, **kwargs)


def _check(failures: list, label: str, response) -> None:
    if response.status_code >= 500:
        failures.append(f"{label} -> {response.status_code} {response.content[:160]!r}")
    elif response.status_code >= 400:
        problem = envelope_problem(response)
        if problem:
            failures.append(f"{label} -> {response.status_code} not an envelope ({problem})")


ROLES = ["anonymous", "citizen", "city_admin"]


@pytest.mark.parametrize("role", ROLES)
def test_no_500_for_garbage_path_params(openapi, battery_world, role):
    # given every operation with path parameters, and garbage for each parameter
    path_values, credentials = battery_world
    client = Client(raise_request_exception=False)
    failures = []
    for path, method, operation in operations(openapi):
        headers = credentials(role)
        names = re.findall(r"\{(\w+)\}", path)
        body = json.dumps(
            _sample(
                _body_schema(operation, openapi["components"]["schemas"]) or {},
                openapi["components"]["schemas"],
            )
        ).encode()
        for name in names:
            for garbage in [*GARBAGE, "%00", "%2e%2e%2f%2e%2e%2fetc"]:
                url = _fill(path, {**path_values, name: garbage})
                label = f"{role} {method.upper()} {url[:120]}"
                _check(
                    failures, label, _send(client, method, url, headers, body if method != "get" else None)
                )
            # and unquoted traversal
            raw = re.sub(r"\{" + name + r"\}", "../../etc", path)
            _check(failures, f"{role} {method.upper()} {raw}", _send(client, method, raw, headers))

    # then nothing answers 500, and every refusal is an error envelope
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", ROLES)
def test_no_500_for_garbage_query_params(openapi, battery_world, role):
    path_values, credentials = battery_world
    client = Client(raise_request_exception=False)
    failures = []
    for path, method, operation in operations(openapi):
        headers = credentials(role)
        names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
        url = _fill(path, path_values)
        for name in names:
            for garbage in GARBAGE:
                query = urlencode({name: garbage})
                label = f"{role} {method.upper()} {url}?{query[:80]}"
                _check(failures, label, _send(client, method, f"{url}?{query}", headers))
            repeated = f"{url}?{name}=1&{name}=2&{name}=x"
            _check(failures, f"{role} {method.upper()} {repeated}", _send(client, method, repeated, headers))
        # undeclared parameters are ignored, whatever they hold
        odd = f"{url}?{urlencode({'zzz': 'x' * 10_000, 'page[]': '1'})}"
        _check(failures, f"{role} {method.upper()} {url}?zzz=...", _send(client, method, odd, headers))
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", ROLES)
def test_no_500_for_malformed_bodies(openapi, battery_world, role):
    path_values, credentials = battery_world
    components = openapi["components"]["schemas"]
    client = Client(raise_request_exception=False)
    failures = []
    for path, method, operation in operations(openapi):
        if method == "get":
            continue
        headers = credentials(role)
        url = _fill(path, path_values)
        schema = _body_schema(operation, components)
        bodies: list[tuple[str, bytes, str]] = [
            (repr(b[:40]), b, "application/json") for b in BAD_JSON_BODIES
        ]
        if schema is not None:
            valid = _sample(schema, components)
            for field in valid:
                for garbage in FIELD_GARBAGE:
                    body = json.dumps({**valid, field: garbage}).encode()
                    bodies.append((f"{field}={garbage!r:.40}", body, "application/json"))
                without = {k: v for k, v in valid.items() if k != field}
                bodies.append((f"without {field}", json.dumps(without).encode(), "application/json"))
            nested = valid
            for _ in range(200):
                nested = {"x": nested}
            bodies.append(("nested object", json.dumps(nested).encode(), "application/json"))
            bodies.append(
                (
                    "extra fields",
                    json.dumps({**valid, "is_superuser": True, "id": 1}).encode(),
                    "application/json",
                )
            )
            bodies.append(("valid as form", urlencode(valid).encode(), "application/x-www-form-urlencoded"))
            bodies.append(("valid as text", json.dumps(valid).encode(), "text/plain"))
            bodies.append(("unicode", json.dumps({k: "測試\u3000𠮷" for k in valid}, ensure_ascii=False).encode(), "application/json"))  # fmt: skip
        for label, body, content_type in bodies:
            if method == "delete":
                headers = credentials(role)
            response = _send(client, method, url, headers, body, content_type)
            _check(failures, f"{role} {method.upper()} {url} body {label}", response)
    assert not failures, "\n".join(failures)


GARBAGE_HEADERS = [
    {"HTTP_AUTHORIZATION": "Bearer"},
    {"HTTP_AUTHORIZATION": "Bearer "},
    {"HTTP_AUTHORIZATION": "Bearer " + "x" * 10_000},
    {"HTTP_AUTHORIZATION": "Bearer a\x00b"},
    {"HTTP_AUTHORIZATION": "Basic YWRtaW46YWRtaW4="},
    {"HTTP_AUTHORIZATION": "Bearer 中文"},
    {"HTTP_X_API_KEY": "x" * 10_000},
    {"HTTP_X_API_KEY": "cs_\x00_\x00"},
    {"HTTP_X_API_KEY": "cs_" + "_" * 100},
    {"HTTP_X_API_KEY": "cs_中文_密鑰"},
    {"HTTP_X_API_KEY": "cs_" + "a" * 200 + "_b"},
    {"HTTP_COOKIE": "sessionid=\x00; csrftoken=" + "x" * 5000},
]


def test_no_500_for_garbage_credentials(openapi, battery_world):
    # every operation, with broken bearer tokens, partner keys and cookies
    path_values, _ = battery_world
    failures = []
    for path, method, operation in operations(openapi):
        url = _fill(path, path_values)
        body = json.dumps(
            _sample(
                _body_schema(operation, openapi["components"]["schemas"]) or {},
                openapi["components"]["schemas"],
            )
        ).encode()
        for headers in GARBAGE_HEADERS:
            client = Client(raise_request_exception=False)
            response = _send(client, method, url, headers, body if method != "get" else None)
            _check(failures, f"{method.upper()} {url} with {str(headers)[:60]}", response)
    assert not failures, "\n".join(failures)


def test_chinese_text_is_sent_as_utf8_not_escapes(client):
    response = client.get("/api/v1/core/districts", {"page_size": 1})
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert "桃園區".encode() in response.content
    assert b"\\u" not in response.content
