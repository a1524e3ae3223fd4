"""Fixtures of the analytics tests: a warehouse and a drop folder of their own per test, English
messages, and the shipped sources, dashboards and datasets installed."""

import http.server
import threading
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import TestCase
from django.utils import translation

from civicstack.analytics import services
from civicstack.analytics.models import Chart, CuratedDataset, Dashboard, Source
from civicstack.core.models import Agency, District


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def own_warehouse(settings, tmp_path):
    settings.WAREHOUSE_DIR = tmp_path / "warehouse"
    settings.ANALYTICS_DROP_DIR = tmp_path / "drop"
    cache.clear()
    yield tmp_path


_installed_rows: dict[str, list[dict]] = {}
INSTALLED_MODELS = {"sources": Source, "dashboards": Dashboard, "charts": Chart, "datasets": CuratedDataset}


@pytest.fixture
def installed(db):
    """The shipped definitions. Validating them all takes a second or two, so the first test of
    the run installs them through the service and later tests replay the same rows."""
    agencies_present = _installed_rows and Agency.objects.filter(
        id__in={row["agency_id"] for row in _installed_rows["sources"]}).count() == len(
        {row["agency_id"] for row in _installed_rows["sources"]})  # fmt: skip
    if agencies_present:
        for name, model in INSTALLED_MODELS.items():
            model.objects.bulk_create([model(**row) for row in _installed_rows[name]])
    else:
        services.definitions_install(actor=None)
        _installed_rows.update(
            {name: list(model.objects.values()) for name, model in INSTALLED_MODELS.items()}
        )
    return True


@pytest.fixture
def sources(db):
    services.sources_install(actor=None)
    return {source.code: source for source in Source.objects.all()}


@pytest.fixture
def drop(settings):
    """Write a file into a source's drop folder, as an agency's export job would."""

    def write(code: str, name: str, content: str | bytes) -> Path:
        folder = Path(settings.ANALYTICS_DROP_DIR) / code
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return path

    return write


def load_now(source: Source, *, actor=None) -> list:
    """Run a source's load and its on-commit publication, as a committed load does: the test's
    own transaction never commits, so the callbacks run when this block ends."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return services.source_load(actor=actor, source=source)


def district_codes() -> list[str]:
    return list(District.objects.order_by("code").values_list("code", flat=True))


def fire_csv(rows: list[tuple]) -> str:
    """Fire-report rows (incident_id, type, district code, road, reported_at, casualties)."""
    lines = ["incident_id,incident_type,district,road,lat,lon,reported_at,casualties,building_type"]
    lines += [f"{i},{kind},{district},{road},24.99,121.3,{at},{casualties},residential"
              for i, kind, district, road, at, casualties in rows]  # fmt: skip
    return "\n".join(lines) + "\n"


class Feed(http.server.BaseHTTPRequestHandler):
    body = b"[]"

    def do_GET(self):  # noqa: N802 -- the http.server API
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def feed_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Feed)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
