"""Playlist timing and duration text. The browser's timeline.js applies the same rule.

Effective cross-fade between tracks i and i+1 is min(crossfade, d_i / 2, d_{i+1} / 2);
track i+1 starts at start_i + d_i - that cross-fade; the playlist ends when the last ends.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

#: The longest a single track may play (a soundscape's length, an upload's real duration).
MAX_TRACK_SECONDS = 4 * 3600

_DURATION = re.compile(r"^\s*(?:(\d+):)?(\d+)(?::(\d+))?\s*$")


def effective_crossfade(crossfade: float, before: float, after: float) -> float:
    """How long two neighbouring tracks overlap."""
    return max(0.0, min(crossfade, before / 2, after / 2))


def track_starts(durations: Sequence[float], crossfade: float) -> list[float]:
    """Seconds from session start at which each track begins."""
    starts: list[float] = []
    for index, duration in enumerate(durations):
        if index == 0:
            starts.append(0.0)
            continue
        previous = durations[index - 1]
        starts.append(starts[-1] + previous - effective_crossfade(crossfade, previous, duration))
    return starts


def playlist_length(durations: Sequence[float], crossfade: float) -> float:
    """Seconds from session start until the last track ends (0 for no tracks)."""
    if not durations:
        return 0.0
    return track_starts(durations, crossfade)[-1] + durations[-1]


def parse_duration(text: str) -> int | None:
    """Seconds from '90', '1:30' (minutes:seconds) or '1:02:03' (hours:minutes:seconds)."""
    match = _DURATION.match(text or "")
    if not match:
        return None
    hours_or_minutes, middle, seconds = match.groups()
    if hours_or_minutes is None and seconds is None:
        return int(middle)  # plain seconds
    if seconds is None:
        return int(hours_or_minutes) * 60 + int(middle)  # m:ss
    if hours_or_minutes is None:
        return None  # the pattern cannot produce this
    return int(hours_or_minutes) * 3600 + int(middle) * 60 + int(seconds)  # h:mm:ss


def format_duration(seconds: float | None) -> str:
    """'m:ss', or 'h:mm:ss' from an hour up."""
    if seconds is None:
        return ""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"
