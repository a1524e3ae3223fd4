from civicstack.core import lookups  # noqa: F401 - registers field__any_of

from .agencies import Agency, AgencyContact
from .audit import AuditChainHead, AuditEvent
from .credentials import ApiKey, ApiToken
from .notifications import Notification
from .people import Household, Person, SchoolEnrolment, User
from .places import District, Village
from .roles import StaffRole

__all__ = [
    "Agency", "AgencyContact", "ApiKey", "ApiToken", "AuditChainHead", "AuditEvent", "District",
    "Household", "Notification", "Person", "SchoolEnrolment", "StaffRole", "User", "Village",
]  # fmt: skip
