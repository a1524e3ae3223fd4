from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .agencies import Agency


class ApiToken(models.Model):
    """A bearer token issued to a user by ``POST /api/v1/auth/token``. Only its hash is kept."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"token of {self.user_id} until {self.expires_at:%Y-%m-%d %H:%M}"

    def is_usable(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class ApiKey(models.Model):
    """A partner's API key (a card reader operator, a bank, another city's system).

    The key is shown once when created: ``cs_<prefix>_<secret>``. Only the hash of the secret is
    kept; ``scopes`` lists what the key may do, e.g. ``core.people:verify``.
    """

    name = models.CharField(_("key name"), max_length=100)
    partner = models.CharField(_("partner organisation"), max_length=200)
    agency = models.ForeignKey(
        Agency, verbose_name=_("sponsoring agency"), on_delete=models.PROTECT, related_name="api_keys"
    )
    prefix = models.CharField(max_length=12, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(_("scopes"), default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("partner API key")
        verbose_name_plural = _("partner API keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.partner})"

    def is_usable(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()
