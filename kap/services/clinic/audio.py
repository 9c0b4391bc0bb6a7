"""Uploaded audio: size and type checks from the file's content, durations, storage, access.

The bytes are kept in the media store (kap/services/media), under the row's ``storage_name``.
"""

from __future__ import annotations

import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

import mutagen
from flask import current_app
from mutagen import FileType
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE, WaveStreamInfo
from sqlalchemy import select

from kap.extensions import db
from kap.models import AudioFile, User
from kap.services import audit
from kap.services.errors import Invalid
from kap.services.media import copy_limited, media_store
from kap.services.media import media_dir as media_dir  # the folder store's root, as before
from kap.services.media import megabytes as megabytes  # the size limit's wording, as before
from kap.services.queries import one_or_not_found
from kap.services.sessions.playlist import MAX_TRACK_SECONDS, format_duration
from kap.services.unit_of_work import use_case


@dataclass(frozen=True)
class AudioFormat:
    content_type: str
    extension: str
    label: str


#: The formats we accept, by the mutagen class that recognised the content.
FORMATS: dict[type, AudioFormat] = {
    MP3: AudioFormat("audio/mpeg", "mp3", "MP3"),
    OggOpus: AudioFormat("audio/ogg", "opus", "Ogg Opus"),
    OggVorbis: AudioFormat("audio/ogg", "ogg", "Ogg Vorbis"),
    MP4: AudioFormat("audio/mp4", "m4a", "M4A/AAC"),
    WAVE: AudioFormat("audio/wav", "wav", "WAV"),
}
ACCEPTED = "MP3, OGG/Opus, M4A/AAC or WAV"

#: The lowest bit rate any accepted compressed format can carry (Opus goes down to 6 kbit/s):
#: a file of N bytes cannot play longer than N * 8 / this many seconds.
LOWEST_BITS_PER_SECOND = 6_000


def _longest_possible(audio: FileType, size: int) -> float:
    """How long a file of ``size`` bytes can really play: a lying header cannot outrun it.

    WAV is uncompressed, so its bytes per second follow from its sample format; every other
    accepted format is bounded by the lowest bit rate any of them can encode.
    """
    if isinstance(audio, WAVE):
        # FileType declares ``info = None`` until a file is loaded; a WAVE's is a WaveStreamInfo.
        info = cast(WaveStreamInfo, audio.info)
        bytes_per_second: float = (
            info.sample_rate * info.channels * max(info.bits_per_sample, 8) / 8
        )
        if bytes_per_second > 0:
            return size / bytes_per_second
    return size * 8 / LOWEST_BITS_PER_SECOND


def _identify(path: Path) -> tuple[AudioFormat, float]:
    """The format and duration, judged by the bytes (the file has no extension here).

    The duration a header claims is checked against what the file's size can hold and
    against the longest track a template may have (a 144-byte WAV claiming 136 years was
    once accepted and played in a session).
    """
    try:
        audio = mutagen.File(str(path))
    except mutagen.MutagenError:
        audio = None
    audio_format = FORMATS.get(type(audio)) if audio is not None else None
    length = getattr(getattr(audio, "info", None), "length", 0) or 0
    if audio_format is None:
        raise Invalid(
            f"That file is not audio we can play. Please upload {ACCEPTED}.",
            {"file": [f"Upload {ACCEPTED} audio."]},
        )
    if not length or length <= 0:
        raise Invalid(
            "We could not read how long that file is; it may be damaged.",
            {"file": ["The file's length could not be read."]},
        )
    size = path.stat().st_size
    if length > _longest_possible(audio, size) * 1.05 + 1:
        raise Invalid(
            "That file says it lasts longer than its size allows; it may be damaged or altered.",
            {"file": [f"The file claims {format_duration(length)}, more than it can hold."]},
        )
    if length > MAX_TRACK_SECONDS:
        raise Invalid(
            f"That file lasts {format_duration(length)}; a track may last at most "
            f"{format_duration(MAX_TRACK_SECONDS)}.",
            {"file": [f"Up to {format_duration(MAX_TRACK_SECONDS)} per track."]},
        )
    return audio_format, float(length)


@use_case
def store_upload(actor: User, stream: BinaryIO, original_name: str) -> AudioFile:
    """Check and keep an uploaded audio file for the actor's clinic.

    The upload is spooled to a local temporary file first (mutagen reads a path, and nothing
    reaches the store before the content is known to be audio), then put in the media store.
    """
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    with tempfile.NamedTemporaryFile(prefix="kap-upload-") as spooled:
        stored = copy_limited(stream, spooled, limit)
        spooled.flush()
        if stored.size == 0:
            raise Invalid("That file is empty.", {"file": ["The file is empty."]})
        audio_format, duration = _identify(Path(spooled.name))
        storage_name = f"{secrets.token_hex(16)}.{audio_format.extension}"
        spooled.seek(0)
        media_store().put(storage_name, spooled)
    return keep_audio(
        actor,
        AudioFile(
            original_name=(Path(original_name or "audio").name or "audio")[:255],
            content_type=audio_format.content_type,
            size_bytes=stored.size,
            duration_seconds=round(duration, 2),
            storage_name=storage_name,
            sha256=stored.sha256,
        ),
        f"format={audio_format.extension}; seconds={round(duration)}; bytes={stored.size}",
    )


def keep_audio(actor: User, audio: AudioFile, detail: str) -> AudioFile:
    """Record a file already put in the media store as the actor's clinic's, audited."""
    audio.clinic_id = actor.clinic_id
    audio.uploaded_by_id = actor.id
    db.session.add(audio)
    db.session.flush()
    audit.record(
        "audio.upload", actor=actor, subject_type="audio_file", subject_id=audio.id, detail=detail
    )
    return audio


def get_audio_for(user: User, audio_id: int) -> AudioFile:
    """An audio file of the user's clinic, or NotFound."""
    return one_or_not_found(
        select(AudioFile).where(AudioFile.id == audio_id, AudioFile.clinic_id == user.clinic_id),
        "audio file",
    )


def title_from_filename(name: str) -> str:
    """A readable track title from an uploaded file's name."""
    stem = Path(name or "").stem.replace("_", " ").replace("-", " ").strip()
    return (stem[:1].upper() + stem[1:])[:200] if stem else "Uploaded track"
