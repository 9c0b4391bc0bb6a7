"""Uploaded audio files, served only within their clinic, and the media store's own tables.

An ``AudioFile`` names its bytes by ``storage_name``; the bytes live in the media store
(kap/services/media): a folder, or the ``media_blobs``/``media_chunks`` rows below.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from kap.models.base import Model, UTCDateTime, utcnow


class AudioPurpose(enum.StrEnum):
    """What an audio file is for: music for a playlist, or a prompt in the clinic's voice."""

    TRACK = "track"
    PROMPT = "prompt"


class AudioFile(Model):
    """One uploaded track. ``storage_name`` is its random name in the media store."""

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


class MediaBlob(Model):
    """One stored file of the database media store: its name, length and checksum.

    ``name`` is unique, so two app servers putting the same name at once keep one blob (the
    second's insert does nothing). ``chunk_bytes`` is the chunk size it was written with, so a
    later change of the store's chunk size still reads older blobs.
    """

    __tablename__ = "media_blobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    chunk_bytes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MediaChunk(Model):
    """Bytes ``seq * chunk_bytes`` onwards of a blob: a Range request reads only its chunks."""

    __tablename__ = "media_chunks"

    blob_id: Mapped[int] = mapped_column(
        ForeignKey("media_blobs.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
