"""Uploaded audio files, kept on disk and served only within their clinic."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kap.models.base import Model, UTCDateTime, utcnow


class AudioPurpose(enum.StrEnum):
    """What an audio file is for: music for a playlist, or a prompt in the clinic's voice."""

    TRACK = "track"
    PROMPT = "prompt"


class AudioFile(Model):
    """One uploaded track. ``storage_name`` is a random name in the media folder."""

    __tablename__ = "audio_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    original_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(50))
    size_bytes: Mapped[int] = mapped_column(Integer)
    duration_seconds: Mapped[float] = mapped_column(Float)
    storage_name: Mapped[str] = mapped_column(String(80), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    #: A recorded prompt is not music: it is kept out of the library and the track picker.
    purpose: Mapped[str] = mapped_column(
        String(20), default=AudioPurpose.TRACK, server_default=AudioPurpose.TRACK.value
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
