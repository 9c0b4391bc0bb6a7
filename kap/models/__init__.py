"""SQLAlchemy models, split by aggregate. Importing this package registers every table."""

from kap.models.auth_session import AuthSession
from kap.models.people import DEFAULT_CRISIS_CONTACTS, CareTeamMember, Clinic, Role, User

__all__ = ["DEFAULT_CRISIS_CONTACTS", "AuthSession", "CareTeamMember", "Clinic", "Role", "User"]
