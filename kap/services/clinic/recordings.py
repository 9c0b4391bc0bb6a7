"""Prompts recorded in the clinic's own voice (the template editor's Record or upload).

A browser's MediaRecorder makes WebM/Opus (Chromium), MP4/AAC (Safari) or Ogg; an upload may be
WAV, MP3 or M4A. Whatever arrives is decoded by its content (PyAV), checked for length and for
sound at all, and kept as a short mono WAV in the clinic's audio library, so the prompt track
can mix it exactly and any browser can play it back in the editor.
"""

from __future__ import annotations

import io
import secrets
import tempfile
from pathlib import Path
from typing import BinaryIO

import numpy as np

from kap.models import AudioFile, User
from kap.models.media import AudioPurpose
from kap.services.audio.prompt_track import MAX_PROMPT_SECONDS
from kap.services.audio.samples import SAMPLE_RATE, decode, encode_wav, rms
from kap.services.clinic.audio import keep_audio
from kap.services.errors import Invalid, TooLarge
from kap.services.media import media_store, megabytes
from kap.services.unit_of_work import use_case

MAX_RECORDING_BYTES = 5 * 1024 * 1024
#: Quieter than this throughout is a microphone that recorded nothing (about -50 dBFS).
SILENT_RMS = 0.003
#: Louder than this is sound worth keeping; the silence before and after it is cut.
SPEECH_THRESHOLD = 0.02
#: Kept around the speech when the silence before and after it is cut.
EDGE_SECONDS = 0.15


def _read_limited(stream: BinaryIO) -> bytes:
    data = stream.read(MAX_RECORDING_BYTES + 1)
    if len(data) > MAX_RECORDING_BYTES:
        raise TooLarge(
            f"That recording is larger than {megabytes(MAX_RECORDING_BYTES)}.",
            {"audio": [f"Up to {megabytes(MAX_RECORDING_BYTES)} per prompt."]},
        )
    if not data:
        raise Invalid("That recording is empty.", {"audio": ["The recording is empty."]})
    return data


@use_case
def store_recording(actor: User, stream: BinaryIO) -> AudioFile:
    """Check and keep a recorded prompt for the actor's clinic."""
    samples = decode(io.BytesIO(_read_limited(stream)), MAX_PROMPT_SECONDS)
    loud = np.flatnonzero(np.abs(samples) > SPEECH_THRESHOLD)
    if rms(samples) < SILENT_RMS or loud.size == 0:
        raise Invalid(
            "We could not hear anything in that recording. Check the microphone and try again.",
            {"audio": ["The recording is silent."]},
        )
    edge = round(EDGE_SECONDS * SAMPLE_RATE)
    kept = samples[max(0, int(loud[0]) - edge) : int(loud[-1]) + 1 + edge]
    storage_name = f"{secrets.token_hex(16)}.wav"
    with tempfile.TemporaryDirectory(prefix="kap-recording-") as folder:
        encoded = Path(folder) / storage_name
        encode_wav(kept, encoded)  # PyAV writes to a path; a minute of mono WAV is ~3 MB
        with encoded.open("rb") as source:
            stored = media_store().put(storage_name, source)
    seconds = round(kept.size / SAMPLE_RATE, 2)
    return keep_audio(
        actor,
        AudioFile(
            original_name="Recorded prompt",
            content_type="audio/wav",
            size_bytes=stored.size,
            duration_seconds=seconds,
            storage_name=storage_name,
            sha256=stored.sha256,
            purpose=AudioPurpose.PROMPT,
        ),
        f"format=wav; kind=prompt recording; seconds={round(seconds)}",
    )
