"""Production settings and deployment checks (run as the real CLI), and the /healthz endpoint."""

import base64
import os
import secrets
import string
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from civicstack.core import crypto

CIVICSTACK = Path(sys.executable).with_name("civicstack")
POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"
CLOSED_REDIS_URL = "redis://127.0.0.1:6390/0"
# Variables the settings read that must not leak from the shell running the tests.
SETTINGS_VARIABLES = {
    "CIVICSTACK_ENV", "SECRET_KEY", "FIELD_ENCRYPTION_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "EMAIL_BACKEND",
    "CIVICSTACK_VAR_DIR", "REDIS_URL", "DEBUG", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_PRELOAD", "STORAGE_BACKEND", "STORAGE_OPTIONS",
}  # fmt: skip


def random_secret_key() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(50))


def random_field_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def production_env(tmp_path):
    # (DJANGO_ALLOW_ASYNC_UNSAFE is the test process's own, see tests/conftest.py: not a deployment's)
    env = {key: value for key, value in os.environ.items()
           if key not in SETTINGS_VARIABLES and key != "DJANGO_ALLOW_ASYNC_UNSAFE"}  # fmt: skip
    env.update(
        CIVICSTACK_ENV="production",
        SECRET_KEY=random_secret_key(),
        FIELD_ENCRYPTION_KEY=random_field_key(),
        ALLOWED_HOSTS="civic.example.org",
        DATABASE_URL=POSTGRES_URL,
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        CIVICSTACK_VAR_DIR=str(tmp_path),
    )
    return env


def run_check(env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own console script, fixed arguments
        [str(CIVICSTACK), "check", "--deploy"], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


# --- deployment checks ------------------------------------------------------------------------------


def test_a_complete_production_configuration_passes_the_deploy_check(production_env, tmp_path):
    # given every production setting given through the environment
    # when `civicstack check --deploy` runs
    result = run_check(production_env, tmp_path)
    # then it finds no issues at all
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."
    assert result.stderr == ""
    # and no development secret was generated in the var directory
    assert not (tmp_path / "secret_key").exists()


def test_a_missing_field_encryption_key_is_a_deploy_error(production_env, tmp_path):
    # given production settings without FIELD_ENCRYPTION_KEY
    del production_env["FIELD_ENCRYPTION_KEY"]
    # when checked
    result = run_check(production_env, tmp_path)
    # then the check fails with civicstack.E001 and its hint
    assert result.returncode == 1
    assert "?: (civicstack.E001) FIELD_ENCRYPTION_KEY is not set" in result.stderr
    assert "HINT: Set FIELD_ENCRYPTION_KEY to base64 of 32 random bytes" in result.stderr
    assert "System check identified 1 issue (0 silenced)." in result.stderr


def test_sqlite_and_file_email_are_deploy_warnings(production_env, tmp_path):
    # given production settings left on the SQLite and file e-mail defaults
    del production_env["DATABASE_URL"]
    del production_env["EMAIL_BACKEND"]
    # when checked, then both are warned about, but the check passes
    result = run_check(production_env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "?: (civicstack.W001) The database is SQLite" in result.stderr
    assert "?: (civicstack.W002) E-mail is written to files, not sent." in result.stderr
    assert "System check identified 2 issues (0 silenced)." in result.stderr


def test_production_without_secret_key_refuses_to_start(production_env, tmp_path):
    # given production without SECRET_KEY
    del production_env["SECRET_KEY"]
    # when any command runs
    result = run_check(production_env, tmp_path)
    # then the settings refuse to load
    assert result.returncode == 1
    assert (
        "django.core.exceptions.ImproperlyConfigured: SECRET_KEY must be set when CIVICSTACK_ENV=production"
        in result.stderr
    )
    assert not (tmp_path / "secret_key").exists()


def test_an_unknown_environment_name_is_refused(production_env, tmp_path):
    production_env["CIVICSTACK_ENV"] = "staging"
    result = run_check(production_env, tmp_path)
    assert result.returncode == 1
    assert "ImproperlyConfigured: CIVICSTACK_ENV must be development, test or production" in result.stderr


def test_a_malformed_field_encryption_key_is_refused():
    # given keys that are not base64, or not 32 bytes
    # when the master key is derived, then each is refused with the reason
    with pytest.raises(ImproperlyConfigured, match="must be base64"):
        crypto._master_key("not base64!!", "secret")
    with pytest.raises(ImproperlyConfigured, match="must decode to 32 bytes"):
        crypto._master_key(base64.b64encode(b"short").decode(), "secret")
    assert crypto._master_key(base64.b64encode(b"k" * 32).decode(), "secret") == b"k" * 32


# --- /healthz -----------------------------------------------------------------------------------------


def test_healthz_reports_the_database(db, client, settings):
    # given no Redis configured
    settings.REDIS_URL = None
    # when /healthz is fetched
    response = client.get("/healthz")
    # then it is ok, naming the database engine
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": {"status": "ok", "vendor": connection.vendor}},
    }


def use_redis_cache(settings, url: str) -> None:
    settings.REDIS_URL = url
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "civicstack-tests",
        }
    }


def test_healthz_reports_redis_when_configured(db, client, settings):
    # given a running Redis, configured as the cache the way settings.py does from REDIS_URL
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis answers at {REDIS_URL}")
    use_redis_cache(settings, REDIS_URL)
    # when /healthz is fetched
    response = client.get("/healthz")
    # then both checks are ok
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": {"status": "ok", "vendor": connection.vendor}, "redis": {"status": "ok"}},
    }
    # and the cache it probed is that Redis (a value set through it is read back by a plain client)
    cache.set("healthz-test-marker", "here", timeout=60)
    client_redis = redis.Redis.from_url(REDIS_URL)
    try:
        assert client_redis.exists("civicstack-tests:1:healthz-test-marker") == 1
    finally:
        cache.delete("healthz-test-marker")


def test_healthz_fails_when_redis_does_not_answer(db, client, settings):
    # given REDIS_URL pointing at a port where nothing listens
    use_redis_cache(settings, CLOSED_REDIS_URL)
    with pytest.raises(redis.exceptions.ConnectionError):
        redis.Redis.from_url(CLOSED_REDIS_URL, socket_connect_timeout=2).ping()
    # when /healthz is fetched
    response = client.get("/healthz")
    # then the whole status is an error, with 503 for load balancers, naming the failing part
    assert response.status_code == 503
    assert response.json() == {
        "status": "error",
        "checks": {
            "database": {"status": "ok", "vendor": connection.vendor},
            "redis": {"status": "error", "error": "ConnectionError"},
        },
    }
