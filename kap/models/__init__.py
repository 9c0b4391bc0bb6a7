"""SQLAlchemy models, split by aggregate. Importing this package registers every table."""

from kap.models.auth_session import AuthSession
from kap.models.invitations import Invitation
from kap.models.media import AudioFile
from kap.models.people import DEFAULT_CRISIS_CONTACTS, CareTeamMember, Clinic, Role, User
from kap.models.sessions import (
    PATTERN_LABELS,
    ChecklistTick,
    Course,
    CoursePattern,
    SessionStatus,
    TreatmentSession,
)
from kap.models.templates import (
    ROUTE_LABELS,
    ChecklistItem,
    DoseRoute,
    EyeMaskCue,
    PlaylistTrack,
    SessionTemplate,
    TemplateVersion,
    TrackKind,
)

__all__ = [
    "DEFAULT_CRISIS_CONTACTS",
    "PATTERN_LABELS",
    "ROUTE_LABELS",
    "AudioFile",
    "AuthSession",
    "CareTeamMember",
    "ChecklistItem",
    "ChecklistTick",
    "Clinic",
    "Course",
    "CoursePattern",
    "DoseRoute",
    "EyeMaskCue",
    "Invitation",
    "PlaylistTrack",
    "Role",
    "SessionStatus",
    "SessionTemplate",
    "TemplateVersion",
    "TrackKind",
    "TreatmentSession",
    "User",
]
