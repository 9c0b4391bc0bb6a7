"""SQLAlchemy models, split by aggregate. Importing this package registers every table."""

from kap.models.alerts import Alert, AlertKind
from kap.models.audit import AuditEvent
from kap.models.auth_session import AuthSession
from kap.models.clinical import (
    ClinicalNote,
    EntryRead,
    MedicationAdministration,
    SessionDischarge,
    SessionObservation,
)
from kap.models.consent import ConsentDocument, ConsentSignature
from kap.models.intake import INTAKE_DECISIONS, IntakeStatus, IntakeSubmission
from kap.models.invitations import Invitation
from kap.models.journal import (
    MAX_COMMENT_LENGTH,
    MAX_ENTRY_LENGTH,
    JournalComment,
    JournalEntry,
    shared_and_kept,
)
from kap.models.measures import ClinicInstrument, MeasureResponse
from kap.models.media import AudioFile, MediaBlob, MediaChunk
from kap.models.people import (
    DEFAULT_CRISIS_CONTACTS,
    CareTeamMember,
    Clinic,
    RecoveryCode,
    Role,
    User,
)
from kap.models.reminders import (
    ALL_REMINDER_KINDS,
    CalendarFeed,
    DeliveryStatus,
    PushSubscription,
    ReminderChannel,
    ReminderDelivery,
    ReminderKind,
    ReminderPreference,
)
from kap.models.sessions import (
    PATTERN_LABELS,
    ChecklistTick,
    Course,
    CoursePattern,
    SessionStatus,
    TreatmentSession,
)
from kap.models.templates import (
    PROMPT_FALLBACK_LABELS,
    ROUTE_LABELS,
    ChecklistItem,
    DoseRoute,
    EyeMaskCue,
    PlaylistTrack,
    PromptFallback,
    SessionTemplate,
    TemplateVersion,
    TrackKind,
)

__all__ = [
    "ALL_REMINDER_KINDS",
    "DEFAULT_CRISIS_CONTACTS",
    "INTAKE_DECISIONS",
    "MAX_COMMENT_LENGTH",
    "MAX_ENTRY_LENGTH",
    "PATTERN_LABELS",
    "PROMPT_FALLBACK_LABELS",
    "ROUTE_LABELS",
    "Alert",
    "AlertKind",
    "AudioFile",
    "AuditEvent",
    "AuthSession",
    "CalendarFeed",
    "CareTeamMember",
    "ChecklistItem",
    "ChecklistTick",
    "Clinic",
    "ClinicInstrument",
    "ClinicalNote",
    "ConsentDocument",
    "ConsentSignature",
    "Course",
    "CoursePattern",
    "DeliveryStatus",
    "DoseRoute",
    "EntryRead",
    "EyeMaskCue",
    "IntakeStatus",
    "IntakeSubmission",
    "Invitation",
    "JournalComment",
    "JournalEntry",
    "MeasureResponse",
    "MediaBlob",
    "MediaChunk",
    "MedicationAdministration",
    "PlaylistTrack",
    "PromptFallback",
    "PushSubscription",
    "RecoveryCode",
    "ReminderChannel",
    "ReminderDelivery",
    "ReminderKind",
    "ReminderPreference",
    "Role",
    "SessionDischarge",
    "SessionObservation",
    "SessionStatus",
    "SessionTemplate",
    "TemplateVersion",
    "TrackKind",
    "TreatmentSession",
    "User",
    "shared_and_kept",
]
