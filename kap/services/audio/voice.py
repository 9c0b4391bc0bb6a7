"""A generated voice for prompts the clinic has not recorded: eSpeak NG, in process.

The library and its voice data come inside the espeakng-loader wheel, so nothing is downloaded
at run time and no system package is needed. eSpeak NG keeps global state, so one lock
serialises synthesis in a process; a prompt takes milliseconds.
"""

from __future__ import annotations

import ctypes
import threading
from pathlib import Path

import espeakng_loader
import numpy as np

from kap.services.audio.samples import SAMPLE_RATE, Samples, normalized, trimmed

#: Words per minute and pitch (0-100, 50 is eSpeak's normal): slow and a little low is calmer.
RATE_WPM = 135
PITCH = 38
PITCH_RANGE = 30
VOICE_NAME = b"en-us"
#: Speech level: clearly above the session's music bed (whose RMS is about 0.12 at full volume).
TARGET_RMS = 0.3
MAX_PEAK = 0.95

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_CHARS_UTF8 = 1
_PARAM_RATE, _PARAM_PITCH, _PARAM_RANGE = 1, 3, 4
_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)

_lock = threading.Lock()
_engine: _Engine | None = None


class VoiceUnavailable(RuntimeError):
    """eSpeak NG could not start (its library or data is missing)."""


class _Engine:
    def __init__(self) -> None:
        library = ctypes.CDLL(espeakng_loader.get_library_path())
        data = Path(espeakng_loader.get_data_path())
        library.espeak_Initialize.restype = ctypes.c_int
        library.espeak_Initialize.argtypes = [
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_int,
        ]
        rate = library.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, str(data.parent).encode(), 0)
        if rate != SAMPLE_RATE:
            raise VoiceUnavailable(f"eSpeak NG did not start (answered {rate}).")
        self.library = library
        self.chunks: list[Samples] = []
        self.callback = _CALLBACK(self._collect)  # kept: the library holds only a pointer
        library.espeak_SetSynthCallback(self.callback)
        if library.espeak_SetVoiceByName(VOICE_NAME) != 0:
            raise VoiceUnavailable("eSpeak NG has no English voice.")
        for parameter, value in (
            (_PARAM_RATE, RATE_WPM),
            (_PARAM_PITCH, PITCH),
            (_PARAM_RANGE, PITCH_RANGE),
        ):
            library.espeak_SetParameter(parameter, value, 0)

    def _collect(
        self, wav: ctypes._Pointer[ctypes.c_short], count: int, _events: int | None
    ) -> int:
        if wav and count > 0:
            pcm = np.ctypeslib.as_array(wav, shape=(count,)).astype(np.float32) / 32768.0
            self.chunks.append(pcm)
        return 0  # go on

    def synthesize(self, text: str) -> Samples:
        self.chunks = []
        encoded = text.encode("utf-8")
        buffer = ctypes.create_string_buffer(encoded)
        self.library.espeak_Synth(buffer, len(encoded) + 1, 0, 1, 0, _CHARS_UTF8, None, None)
        self.library.espeak_Synchronize()
        return np.concatenate(self.chunks) if self.chunks else np.zeros(0, dtype=np.float32)


def speak(text: str) -> Samples:
    """``text`` read slowly and calmly, at an even speech level, without leading silence."""
    global _engine
    with _lock:
        if _engine is None:
            _engine = _Engine()
        raw = _engine.synthesize(" ".join(text.split()))
    return normalized(_compressed(_softened(trimmed(raw))), TARGET_RMS, MAX_PEAK)


def _compressed(samples: Samples) -> Samples:
    """Peaks rounded off (a tanh curve), so the speech can sit louder without clipping."""
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    if peak == 0.0:
        return samples
    drive = 3.0
    rounded: Samples = (np.tanh(drive * samples / peak) / np.tanh(drive)).astype(np.float32)
    return rounded


def _softened(samples: Samples) -> Samples:
    """A gentle low-pass (one pole at about 4 kHz): eSpeak's highs sound harsh through earbuds."""
    if samples.size == 0:
        return samples
    alpha = 1.0 - np.exp(-2 * np.pi * 4000 / SAMPLE_RATE)
    out = np.empty_like(samples)
    state = 0.0
    # A recursive filter over a few seconds of speech: plain Python is fast enough (~0.1 s).
    for index, value in enumerate(samples.tolist()):
        state += alpha * (value - state)
        out[index] = state
    return out
