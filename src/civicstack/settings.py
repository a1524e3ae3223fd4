"""Civic Stack settings: every value comes from an environment variable, with safe embedded defaults.

CIVICSTACK_ENV picks the profile: ``development`` (default: SQLite under var/, file e-mail, a
generated secret kept in var/), ``test`` or ``production`` (secrets must be given, HTTPS assumed).
"""

import json
import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

PACKAGE_DIR = Path(__file__).resolve().parent


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def env_bool(name: str, default: bool) -> bool:
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = env(name)
    return default if value is None else [item.strip() for item in value.split(",") if item.strip()]


CIVICSTACK_ENV = env("CIVICSTACK_ENV", "development")
if CIVICSTACK_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured("CIVICSTACK_ENV must be development, test or production")
PRODUCTION = CIVICSTACK_ENV == "production"

VAR_DIR = Path(env("CIVICSTACK_VAR_DIR", str(Path.cwd() / "var"))).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _development_secret() -> str:
    # A random secret generated once per checkout and kept out of the repository, so a demo
    # never runs with a key that is published anywhere.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env("SECRET_KEY")
if SECRET_KEY is None:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when CIVICSTACK_ENV=production")
    SECRET_KEY = _development_secret()

# Key for personal data at rest (AES-256-GCM) and for the keyed lookup hashes; base64, 32 bytes.
# Kept apart from SECRET_KEY so rotating the session secret never makes data unreadable.
FIELD_ENCRYPTION_KEY = env("FIELD_ENCRYPTION_KEY")
FIELD_ENCRYPTION_OLD_KEYS = env_list("FIELD_ENCRYPTION_OLD_KEYS", [])

DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

CIVICSTACK_CITY = env("CIVICSTACK_CITY", "taoyuan")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "csp",
    "ninja",
    "civicstack.core",
    "civicstack.payments",
    "civicstack.fines",
    "civicstack.card",
    "civicstack.eservices",
    "civicstack.opendata",
    "civicstack.welfare",
    "civicstack.chatbot",
    "civicstack.iot",
    "civicstack.analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "civicstack.core.middleware.ApiErrorEnvelopeMiddleware",
    "civicstack.core.middleware.RejectNulCharactersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "civicstack.urls"
WSGI_APPLICATION = "civicstack.wsgi.application"
AUTH_USER_MODEL = "core.User"
LOGIN_URL = "core:login"
LOGIN_REDIRECT_URL = "core:home"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "civicstack.core.context_processors.city",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'civicstack.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE: a writer takes the lock when its transaction starts, so two writers queue
        # instead of one failing with "database is locked" when it upgrades a read lock.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache (Redis when configured) ------------------------------------------------------------
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- files ------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(VAR_DIR / "static")))
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    # STORAGE_BACKEND may name e.g. storages.backends.s3.S3Storage; STORAGE_OPTIONS is its JSON options.
    "default": {
        "BACKEND": env("STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"),
        "OPTIONS": json.loads(env("STORAGE_OPTIONS", "{}")),
    },
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Outside production static files are served straight from the apps: no collectstatic step.
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise expects it even when using finders
WHITENOISE_AUTOREFRESH = DEBUG

# --- city sensors and the analytics warehouse ---------------------------------------------------
# The MQTT broker sensors publish to (`civicstack iot listen` subscribes); Mosquitto in dev and CI.
MQTT_URL = env("MQTT_URL", "mqtt://127.0.0.1:1883")
# Topics sensors publish under: <prefix>/<station>/<quantity> (docs/iot.md).
IOT_MQTT_TOPIC_PREFIX = env("IOT_MQTT_TOPIC_PREFIX", "city/taoyuan/sensors")
# Parquet files of the analytics warehouse (the loader is their only writer).
WAREHOUSE_DIR = Path(env("WAREHOUSE_DIR", str(VAR_DIR / "warehouse")))
# Where file-drop connectors pick up CSV/JSON/XLSX files, and inter-agency API calls a key may make a day.
ANALYTICS_DROP_DIR = Path(env("ANALYTICS_DROP_DIR", str(VAR_DIR / "drop")))
ANALYTICS_DEFAULT_DAILY_QUOTA = int(env("ANALYTICS_DEFAULT_DAILY_QUOTA", "1000"))

# --- e-mail -----------------------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = Path(env("EMAIL_FILE_PATH", str(VAR_DIR / "mail")))
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env("EMAIL_PORT", "25"))
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Civic Stack <no-reply@civicstack.invalid>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- i18n -------------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hant"
LANGUAGES = [("zh-hant", "繁體中文"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
FORMAT_MODULE_PATH = ["civicstack.core.formats"]  # money grouped in threes with commas in zh-Hant too
TIME_ZONE = "Asia/Taipei"
USE_I18N = True
USE_TZ = True

# --- security ---------------------------------------------------------------------------------
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling: 5 failures for one username from one address lock that pair for 15 minutes.
AXES_FAILURE_LIMIT = int(env("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(env("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "civicstack.core.views.login_locked_out"
AXES_VERBOSE = False

SESSION_COOKIE_AGE = int(env("SESSION_COOKIE_AGE", str(2 * 3600)))
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

OTP_TOTP_ISSUER = "Civic Stack"

# --- API --------------------------------------------------------------------------------------
API_TOKEN_LIFETIME = timedelta(hours=int(env("API_TOKEN_LIFETIME_HOURS", "12")))
NINJA_PAGINATION_MAX_PER_PAGE_SIZE = 200

# --- payments ---------------------------------------------------------------------------------
# The collection code a convenience-store collection agent assigns to the city (3 Code 39 chars),
# the bank-assigned virtual account prefix and rule, the card gateway and its callback secret.
PAYMENTS_COLLECTION_CODE = env("PAYMENTS_COLLECTION_CODE", "TY1")
PAYMENTS_VIRTUAL_ACCOUNT_PREFIX = env("PAYMENTS_VIRTUAL_ACCOUNT_PREFIX", "95511")
PAYMENTS_GATEWAY = env("PAYMENTS_GATEWAY", "sandbox")
PAYMENTS_GATEWAY_SECRET = env(
    "PAYMENTS_GATEWAY_SECRET", ""
)  # default: derived from SECRET_KEY (sandbox only)
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
PAYMENTS_MAX_SETTLEMENT_FILE_BYTES = int(env("PAYMENTS_MAX_SETTLEMENT_FILE_BYTES", str(20 * 1024 * 1024)))

# --- citizen card -----------------------------------------------------------------------------
# The agency that issues the card and receives its fees (the profile's agency code).
CARD_ISSUING_AGENCY = env("CARD_ISSUING_AGENCY", "TYC-L1-26")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
