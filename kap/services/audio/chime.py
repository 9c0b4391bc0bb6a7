"""The cue chime: a soft bell (C5), the same sound session mode used to make in the browser."""

from __future__ import annotations

from functools import cache

import numpy as np

from kap.services.audio.samples import SAMPLE_RATE, Samples, normalized

FUNDAMENTAL_HZ = 523.25  # C5
LENGTH_SECONDS = 2.5
ATTACK_SECONDS = 0.05
DECAY_SECONDS = 2.4  # to a thousandth of the peak
#: [frequency ratio, relative gain, relative decay]: the upper partials fade first.
PARTIALS = ((1.0, 1.0, 1.0), (2.0, 0.3, 0.55), (3.0, 0.12, 0.35), (4.16, 0.05, 0.2))
#: Loud enough to be heard over the music, soft enough not to startle someone resting.
PEAK = 0.75


@cache
def chime() -> Samples:
    """The chime's samples (made once per process; callers must not change them)."""
    t = np.arange(round(LENGTH_SECONDS * SAMPLE_RATE), dtype=np.float64) / SAMPLE_RATE
    sound = np.zeros_like(t)
    for ratio, gain, decay in PARTIALS:
        envelope = np.where(
            t < ATTACK_SECONDS,
            t / ATTACK_SECONDS,
            0.001 ** ((t - ATTACK_SECONDS) / (DECAY_SECONDS * decay)),
        )
        sound += gain * envelope * np.sin(2 * np.pi * FUNDAMENTAL_HZ * ratio * t)
    samples = normalized(sound.astype(np.float32), target_rms=1.0, max_peak=PEAK)
    samples.flags.writeable = False
    return samples
