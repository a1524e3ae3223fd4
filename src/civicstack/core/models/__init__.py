from .agencies import Agency, AgencyContact
from .audit import AuditChainHead, AuditEvent
from .credentials import ApiKey, ApiToken
from .notifications import Notification
from .people import Household, Person, User
from .places import District, Village
from .roles import StaffRole

__all__ = [
    "Agency", "AgencyContact", "ApiKey", "ApiToken", "AuditChainHead", "AuditEvent", "District",
    "Household", "Notification", "Person", "StaffRole", "User", "Village",
]  # fmt: skip
