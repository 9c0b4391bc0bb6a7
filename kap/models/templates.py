"""Session templates and their immutable-once-used versions (checklist, playlist, cues)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kap.models.base import Model, UTCDateTime, utcnow
from kap.models.reminders import ALL_REMINDER_KINDS, ALL_REMINDER_KINDS_JSON

if TYPE_CHECKING:
    from kap.models.media import AudioFile


class DoseRoute(enum.StrEnum):
    """How the ketamine is given."""

    IV_INFUSION = "iv_infusion"
    IM_INJECTION = "im_injection"
    ESKETAMINE_NASAL = "esketamine_nasal"
    ORAL_LOZENGE = "oral_lozenge"


ROUTE_LABELS = {
    DoseRoute.IV_INFUSION: "IV infusion",
    DoseRoute.IM_INJECTION: "IM injection",
    DoseRoute.ESKETAMINE_NASAL: "Esketamine nasal spray",
    DoseRoute.ORAL_LOZENGE: "Oral / sublingual lozenge",
}


class PromptFallback(enum.StrEnum):
    """What a cue with no recording of the clinic's own voice sounds like."""

    GENERATED_VOICE = "generated_voice"
    CHIME_ONLY = "chime_only"


PROMPT_FALLBACK_LABELS = {
    PromptFallback.GENERATED_VOICE: "A generated voice reads the prompt",
    PromptFallback.CHIME_ONLY: "The chime alone (the words show on screen)",
}


class TrackKind(enum.StrEnum):
    """Where a track's sound comes from."""

    UPLOAD = "upload"
    SOUNDSCAPE = "soundscape"


class SessionTemplate(Model):
    """A clinic's protocol for one kind of session. Its content lives in versions."""

    __tablename__ = "session_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    route: Mapped[str] = mapped_column(String(30))
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    #: Bumped on every save; a save that read an older revision is refused (no silent overwrite).
    revision: Mapped[int] = mapped_column(Integer, default=1)

    versions: Mapped[list[TemplateVersion]] = relationship(
        back_populates="template", order_by="TemplateVersion.number"
    )

    __mapper_args__ = {"version_id_col": revision}

    @property
    def route_label(self) -> str:
        return ROUTE_LABELS.get(DoseRoute(self.route), self.route)

    @property
    def current_version(self) -> TemplateVersion:
        return self.versions[-1]


class TemplateVersion(Model):
    """One version of a template. Once a session uses it, it never changes again."""

    __tablename__ = "template_versions"
    __table_args__ = (UniqueConstraint("template_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("session_templates.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")
    crossfade_seconds: Mapped[int] = mapped_column(Integer, default=8)
    downtime_minutes: Mapped[int] = mapped_column(Integer, default=60)
    observation_minutes: Mapped[int] = mapped_column(Integer, default=0)
    #: Staff must check the patient in (ID checked, pre-dose vitals) before Start session.
    requires_check_in: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: Minutes after dosing that the post-dose vitals check falls due (0: the protocol has none).
    post_dose_check_minutes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: The patient's intake must be cleared by a clinician before Start session.
    requires_intake: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: The patient must have signed the clinic's current consent before Start session.
    requires_consent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: Instrument codes the patient is asked before each session of this template.
    checkin_instruments: Mapped[list[str]] = mapped_column(
        JSON, default=lambda: ["phq9", "gad7"], server_default='["phq9", "gad7"]'
    )
    #: Instrument codes asked after each session of this template (within a day or so).
    after_instruments: Mapped[list[str]] = mapped_column(
        JSON, default=lambda: ["side_effects"], server_default='["side_effects"]'
    )
    #: Instrument codes asked every 30 days while the patient has sessions of this template.
    monthly_instruments: Mapped[list[str]] = mapped_column(
        JSON, default=lambda: ["bladder"], server_default='["bladder"]'
    )
    #: Reminder kinds (models.reminders.ReminderKind) this template's sessions send to a
    #: patient who opted in to a channel; the clinic's default for the template.
    reminder_kinds: Mapped[list[str]] = mapped_column(
        JSON, default=lambda: list(ALL_REMINDER_KINDS), server_default=ALL_REMINDER_KINDS_JSON
    )
    #: How a cue without a recording sounds in the session's prompt track (PromptFallback).
    prompt_fallback: Mapped[str] = mapped_column(
        String(20),
        default=PromptFallback.GENERATED_VOICE,
        server_default=PromptFallback.GENERATED_VOICE.value,
    )
    intention_prompts: Mapped[list[str]] = mapped_column(JSON, default=list)
    integration_prompts: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    template: Mapped[SessionTemplate] = relationship(back_populates="versions")
    checklist_items: Mapped[list[ChecklistItem]] = relationship(
        order_by="ChecklistItem.position", cascade="all, delete-orphan"
    )
    tracks: Mapped[list[PlaylistTrack]] = relationship(
        order_by="PlaylistTrack.position", cascade="all, delete-orphan"
    )
    cues: Mapped[list[EyeMaskCue]] = relationship(
        order_by="EyeMaskCue.at_seconds", cascade="all, delete-orphan"
    )


class ChecklistItem(Model):
    """A preparation item; required ones gate session mode."""

    __tablename__ = "template_checklist_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("template_versions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(300))
    help_text: Mapped[str] = mapped_column(String(600), default="")
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    #: About the day itself (fasting, alcohol, ride): tickable only from the day before.
    day_of: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class PlaylistTrack(Model):
    """A track: an uploaded audio file or a soundscape the browser synthesizes."""

    __tablename__ = "template_tracks"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("template_versions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    audio_file_id: Mapped[int | None] = mapped_column(ForeignKey("audio_files.id"), index=True)
    soundscape: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    duration_seconds: Mapped[float] = mapped_column(Float)

    audio_file: Mapped[AudioFile | None] = relationship("AudioFile")


class EyeMaskCue(Model):
    """A prompt spoken and shown at a time from session start, with an optional chime."""

    __tablename__ = "template_cues"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("template_versions.id", ondelete="CASCADE"), index=True
    )
    at_seconds: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(300))
    chime: Mapped[bool] = mapped_column(Boolean, default=True)
    #: The prompt read in the clinic's own voice (recorded or uploaded in the template editor).
    recording_id: Mapped[int | None] = mapped_column(ForeignKey("audio_files.id"), index=True)

    recording: Mapped[AudioFile | None] = relationship("AudioFile")
