"""The session's prompt track: every eye-mask cue's chime and words, at its time, in one file.

Why a track: with an eye mask on and the phone locked, iOS throttles timers, may refuse to start
a second media element without a tap and does not speak ``speechSynthesis`` in the background.
A prompt fired by JavaScript may never sound. So the prompts are *in the media*: one AAC file
whose time 0 is the session clock's 0, which the phone starts playing in the Start session tap
beside the music and keeps in step with the session clock. At each cue's time the chime
starts; the clinic's recording of the prompt (or, where there is none, a generated voice or
nothing, as the template chooses) follows within a second. Everything between is silence, which
AAC stores in almost nothing (an hour is about 0.6 MB).

The file is made on first request (or ahead by the prepare_prompt_tracks job) and kept in the
media store (kap/services/media) under a key over everything that changes its sound, so it is
made once per template version and voice choice, by whichever app server is asked first, and
every server serves those same bytes. It is rendered into a local temporary file (PyAV writes
to a path) and then put: two servers rendering one key at once keep one copy (the store's put
is idempotent on the name).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import select

from kap.extensions import db
from kap.models import EyeMaskCue, PromptFallback, SessionStatus, TemplateVersion, TreatmentSession
from kap.services.audio import voice
from kap.services.audio.chime import chime
from kap.services.audio.samples import (
    SAMPLE_RATE,
    Samples,
    decode,
    encode_m4a,
    normalized,
    silence,
    trimmed,
)
from kap.services.media import media_store

#: Bumped whenever the sound of a track changes (chime, voice settings, levels, codec), so
#: phones fetch the new one.
FORMAT_VERSION = 2
#: The words start this long after the chime: inside the second after the cue's time.
VOICE_AFTER_CHIME = 0.6
#: A recorded prompt may last this long (the editor refuses longer ones).
MAX_PROMPT_SECONDS = 60.0
#: The track runs on this long after the last cue's time (room for the longest prompt).
TAIL_SECONDS = MAX_PROMPT_SECONDS + 5
CONTENT_TYPE = "audio/mp4"
#: How far ahead the job makes the tracks of booked sessions.
PREPARE_AHEAD = timedelta(days=2)


@dataclass(frozen=True)
class PromptCue:
    """One cue as the track sounds it."""

    at_seconds: int
    text: str
    chime: bool
    #: The recording's name in the media store.
    recording: str | None
    recording_sha256: str | None


@dataclass(frozen=True)
class Sound:
    """Where one chime or spoken prompt sits in the track (seconds from its start)."""

    kind: str  # "chime" or "voice"
    cue_index: int
    start: float
    end: float


@dataclass(frozen=True)
class PromptPlan:
    """Everything the track's sound depends on, and so its key."""

    cues: tuple[PromptCue, ...]
    fallback: str

    @property
    def key(self) -> str:
        """16 hex digits that change whenever the track would sound different."""
        material = [
            FORMAT_VERSION,
            self.fallback,
            [voice.RATE_WPM, voice.PITCH, voice.PITCH_RANGE, voice.VOICE_NAME.decode()],
            [[c.at_seconds, c.text, c.chime, c.recording_sha256] for c in self.cues],
        ]
        return hashlib.sha256(json.dumps(material).encode()).hexdigest()[:16]

    @property
    def duration_seconds(self) -> float:
        """The track's length: known without making it."""
        return float(max(c.at_seconds for c in self.cues) + TAIL_SECONDS)

    def spoken(self, cue: PromptCue) -> bool:
        """Whether the cue has words in the track (a recording, or the generated voice)."""
        return cue.recording is not None or self.fallback == PromptFallback.GENERATED_VOICE

    def chimes(self, cue: PromptCue) -> bool:
        """A cue chimes when the clinic asked for it, and always when it has no words: every
        prompt must be heard."""
        return cue.chime or not self.spoken(cue)


def plan_for(version: TemplateVersion) -> PromptPlan | None:
    """The version's prompt track, or None when it has no cues."""
    cues = tuple(_cue(cue) for cue in sorted(version.cues, key=lambda c: c.at_seconds))
    if not cues:
        return None
    return PromptPlan(cues, version.prompt_fallback or PromptFallback.GENERATED_VOICE)


def _cue(cue: EyeMaskCue) -> PromptCue:
    recording = cue.recording
    return PromptCue(
        at_seconds=cue.at_seconds,
        text=cue.text,
        chime=cue.chime,
        recording=recording.storage_name if recording is not None else None,
        recording_sha256=recording.sha256 if recording is not None else None,
    )


def render(plan: PromptPlan) -> tuple[Samples, list[Sound]]:
    """The track's samples and where each sound sits in them."""
    track = silence(plan.duration_seconds)
    sounds: list[Sound] = []
    for index, cue in enumerate(plan.cues):
        at = float(cue.at_seconds)
        if plan.chimes(cue):
            sounds.append(_mix(track, chime(), at, "chime", index))
        words = _words(plan, cue)
        if words is not None and words.size:
            start = at + (VOICE_AFTER_CHIME if plan.chimes(cue) else 0.0)
            sounds.append(_mix(track, words, start, "voice", index))
    # Two prompts close together overlap rather than shift (their times are the clinic's), and
    # a chime's tail lies under the words: where the sum is loud, its peaks are rounded off.
    return limited(track), sounds


def limited(samples: Samples, knee: float = 0.9) -> Samples:
    """Samples below ``knee`` unchanged; above it, bent smoothly so that none reaches 1."""
    loud = np.abs(samples) > knee
    if loud.any():
        over = np.abs(samples[loud]) - knee
        bent = knee + (1.0 - knee) * np.tanh(over / (1.0 - knee))
        samples[loud] = np.sign(samples[loud]) * bent
    return samples


def _words(plan: PromptPlan, cue: PromptCue) -> Samples | None:
    if cue.recording is not None:
        with media_store().materialised(cue.recording) as path:
            recorded = trimmed(decode(path, MAX_PROMPT_SECONDS))
        return normalized(recorded, voice.TARGET_RMS, voice.MAX_PEAK)
    if plan.fallback == PromptFallback.GENERATED_VOICE:
        return voice.speak(cue.text)
    return None


def _mix(track: Samples, sound: Samples, start: float, kind: str, index: int) -> Sound:
    first = round(start * SAMPLE_RATE)
    part = sound[: max(0, track.size - first)]
    track[first : first + part.size] += part
    return Sound(kind, index, start, start + part.size / SAMPLE_RATE)


def track_name(plan: PromptPlan) -> str:
    """The track's name in the media store, made and put now if no server has made it yet."""
    name = stored_name(plan)
    store = media_store()
    if store.exists(name):
        return name
    samples, _ = render(plan)
    with tempfile.TemporaryDirectory(prefix="kap-prompts-") as folder:
        encoded = Path(folder) / f"{plan.key}.m4a"
        encode_m4a(samples, encoded)
        with encoded.open("rb") as source:
            store.put(name, source)
    return name


def prepare_upcoming(now: datetime) -> int:
    """Make the tracks of sessions booked from now until PREPARE_AHEAD; how many were new."""
    versions = db.session.scalars(
        select(TemplateVersion)
        .where(
            TemplateVersion.id.in_(
                select(TreatmentSession.template_version_id).where(
                    TreatmentSession.status == SessionStatus.SCHEDULED,
                    TreatmentSession.scheduled_at >= now - timedelta(hours=12),
                    TreatmentSession.scheduled_at <= now + PREPARE_AHEAD,
                )
            )
        )
        .order_by(TemplateVersion.id)
    )
    made = 0
    for version in versions:
        plan = plan_for(version)
        if plan is not None and not media_store().exists(stored_name(plan)):
            track_name(plan)
            made += 1
    return made


def stored_name(plan: PromptPlan) -> str:
    """Where the plan's track is kept in the media store."""
    return f"prompts/{plan.key}.m4a"
