"""Mono float samples: decoding any audio file, levels, and encoding AAC for the phone.

Everything here works at one rate, SAMPLE_RATE, in mono: prompts are speech and a bell, and a
mono AAC track at this rate is small enough to keep on a phone for the whole session.

PyAV (FFmpeg) is imported by the two functions that use it, not with this module: every app
process imports this module, few of them ever decode or encode (an upload, a new prompt
track), and PyAV added about 60 ms and 20 MB to each (gunicorn workers, the job worker,
every command).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, cast

import numpy as np
import numpy.typing as npt

from kap.services.errors import Invalid

if TYPE_CHECKING:
    from av.audio.stream import AudioStream

Samples = npt.NDArray[np.float32]

#: eSpeak NG's own rate; recordings are resampled to it.
SAMPLE_RATE = 22_050
#: AAC bit rate of the prompt track: speech stays clear, silence costs almost nothing.
AAC_BIT_RATE = 48_000


def silence(seconds: float) -> Samples:
    """``seconds`` of silence."""
    return np.zeros(max(0, round(seconds * SAMPLE_RATE)), dtype=np.float32)


def rms(samples: Samples) -> float:
    """Root mean square level (0 for no samples)."""
    if samples.size == 0:
        return 0.0
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def normalized(samples: Samples, target_rms: float, max_peak: float) -> Samples:
    """Scaled to ``target_rms``, but never so loud that a peak passes ``max_peak``."""
    level = rms(samples)
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    if level == 0.0 or peak == 0.0:
        return samples
    gain = min(target_rms / level, max_peak / peak)
    return (samples * gain).astype(np.float32)


def trimmed(samples: Samples, threshold: float = 0.01) -> Samples:
    """Without the near-silence before the first and after the last sound."""
    loud = np.flatnonzero(np.abs(samples) > threshold)
    if loud.size == 0:
        return samples[:0]
    return samples[loud[0] : loud[-1] + 1]


def decode(source: str | Path | BinaryIO, max_seconds: float) -> Samples:
    """Any audio PyAV (FFmpeg) reads, as mono samples at SAMPLE_RATE.

    Stops with Invalid past ``max_seconds`` (a header cannot lie about it: the samples are
    counted as they are decoded) or when the file is not audio.
    """
    import av  # only here and in _encode: see the module's docstring

    limit = round(max_seconds * SAMPLE_RATE)
    chunks: list[Samples] = []
    total = 0
    try:
        with av.open(source, mode="r") as container:
            if not container.streams.audio:
                raise Invalid("That file has no sound in it.", {"audio": ["No audio stream."]})
            resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray().reshape(-1).astype(np.float32)
                    total += chunk.size
                    if total > limit:
                        raise Invalid(
                            f"That recording is longer than {max_seconds:g} seconds.",
                            {"audio": [f"Keep a prompt under {max_seconds:g} seconds."]},
                        )
                    chunks.append(chunk)
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1).astype(np.float32))
    except (av.error.FFmpegError, ValueError) as error:
        raise Invalid(
            "That file is not audio we can read.", {"audio": ["The file could not be decoded."]}
        ) from error
    return np.concatenate(chunks) if chunks else silence(0)


def encode_wav(samples: Samples, target: Path) -> None:
    """16-bit PCM WAV (recordings are kept like this: short, exact, playable everywhere)."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16)
    _encode(pcm, target, "wav", "pcm_s16le", "s16", {})


def encode_m4a(samples: Samples, target: Path) -> None:
    """AAC-LC in MP4 with the index first, so a phone can start playing before the end arrives."""
    clipped = np.clip(samples, -1.0, 1.0).astype(np.float32)
    _encode(clipped, target, "mp4", "aac", "fltp", {"movflags": "+faststart"}, AAC_BIT_RATE)


def _encode(
    samples: npt.NDArray[np.float32] | npt.NDArray[np.int16],
    target: Path,
    file_format: str,
    codec: str,
    sample_format: str,
    options: dict[str, str],
    bit_rate: int | None = None,
) -> None:
    import av  # only here and in decode: see the module's docstring

    block = 1024 * 16
    with av.open(str(target), mode="w", format=file_format, options=options) as container:
        stream = cast("AudioStream", container.add_stream(codec, rate=SAMPLE_RATE, layout="mono"))
        if bit_rate:
            stream.bit_rate = bit_rate
        for start in range(0, samples.size, block):
            chunk = samples[start : start + block].reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(chunk, format=sample_format, layout="mono")
            frame.sample_rate = SAMPLE_RATE
            frame.pts = start
            frame.time_base = Fraction(1, SAMPLE_RATE)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
