from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .agencies import Agency


class StaffRole(models.Model):
    """A staff member's role in one agency. The role decides how far their reach goes:

    clerk and supervisor act for their agency; an agency administrator also for the agencies
    below it and manages their staff; a city administrator acts for every agency.
    """

    class Role(models.TextChoices):
        CLERK = "clerk", _("Clerk")
        SUPERVISOR = "supervisor", _("Supervisor")
        AGENCY_ADMIN = "agency_admin", _("Agency administrator")
        CITY_ADMIN = "city_admin", _("City administrator")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_roles")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="staff_roles")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("staff role")
        verbose_name_plural = _("staff roles")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "agency", "role"], name="core_staffrole_unique_user_agency_role"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.agency} · {self.get_role_display()}"
