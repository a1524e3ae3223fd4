from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection


def health_report() -> dict:
    """Database always; Redis when REDIS_URL is configured. ``status`` is ok only if all answer."""
    checks: dict[str, dict] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = {"status": "ok", "vendor": connection.vendor}
    except DatabaseError as exc:
        checks["database"] = {"status": "error", "vendor": connection.vendor, "error": exc.__class__.__name__}
    if settings.REDIS_URL:
        try:
            cache.set("civicstack:healthz", "1", timeout=5)
            ok = cache.get("civicstack:healthz") == "1"
            checks["redis"] = {"status": "ok" if ok else "error"}
        except Exception as exc:  # noqa: BLE001 - any client failure means "Redis is not healthy"
            checks["redis"] = {"status": "error", "error": exc.__class__.__name__}
    status = "ok" if all(check["status"] == "ok" for check in checks.values()) else "error"
    return {"status": status, "checks": checks}
