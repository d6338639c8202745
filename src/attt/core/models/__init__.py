from .audit import AuditEvent
from .notifications import Notification
from .organizations import Organization, OrganizationEvent, ScopedModel
from .users import ApiToken, LoginAttempt, Role, RoleAssignment, User

__all__ = [
    "ApiToken",
    "AuditEvent",
    "LoginAttempt",
    "Notification",
    "Organization",
    "OrganizationEvent",
    "Role",
    "RoleAssignment",
    "ScopedModel",
    "User",
]
