"""Audio for tests: recordings as browsers make them, and reading a prompt track back."""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np

from kap.services.audio.samples import SAMPLE_RATE, Samples, decode


def tone(seconds: float, hz: float = 220.0, level: float = 0.3) -> Samples:
    """A steady tone standing in for a voice."""
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (level * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def encoded(samples: Samples, container: str, codec: str, rate: int = 48_000) -> bytes:
    """``samples`` as a browser's MediaRecorder would send them (e.g. webm/libopus, mp4/aac)."""
    out = io.BytesIO()
    with av.open(out, mode="w", format=container) as target:
        stream = target.add_stream(codec, rate=rate, layout="mono")
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=rate)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = 0
        frame.time_base = Fraction(1, SAMPLE_RATE)
        for part in [*resampler.resample(frame), *resampler.resample(None)]:
            for packet in stream.encode(part):
                target.mux(packet)
        for packet in stream.encode(None):
            target.mux(packet)
    return out.getvalue()


def read_track(data: bytes) -> Samples:
    """A served prompt track back as samples (as the phone's decoder would)."""
    return decode(io.BytesIO(data), max_seconds=4 * 3600)
