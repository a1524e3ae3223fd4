"""The API's contract is reviewed like code: the OpenAPI document must match the committed
snapshot in docs/api/openapi.json. After an intended change, run `make openapi` and commit it."""

import json
from pathlib import Path

SNAPSHOT = Path(__file__).resolve().parent.parent / "docs" / "api" / "openapi.json"


def test_openapi_document_matches_the_committed_snapshot(client):
    current = client.get("/api/openapi.json").json()
    committed = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    changed = sorted(set(current["paths"]) ^ set(committed["paths"]))
    assert changed == [], f"paths added or removed: {changed}; run `make openapi` if intended"
    assert current == committed, "the API changed; run `make openapi` and commit docs/api/openapi.json"
