"""Deployment checks (``civicstack check --deploy``) for what Django's own checks don't know."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.security, deploy=True)
def check_civicstack_secrets(app_configs, **kwargs):
    messages = []
    if not settings.FIELD_ENCRYPTION_KEY:
        messages.append(
            Error(
                "FIELD_ENCRYPTION_KEY is not set: personal data would be encrypted with a key derived "
                "from SECRET_KEY.",
                hint="Set FIELD_ENCRYPTION_KEY to base64 of 32 random bytes and keep it in your secret store.",
                id="civicstack.E001",
            )
        )
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        messages.append(
            Warning(
                "The database is SQLite; production deployments should use PostgreSQL (DATABASE_URL).",
                id="civicstack.W001",
            )
        )
    if settings.EMAIL_BACKEND.endswith("filebased.EmailBackend"):
        messages.append(
            Warning(
                "E-mail is written to files, not sent.",
                hint="Set EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and EMAIL_HOST.",
                id="civicstack.W002",
            )
        )
    return messages
