"""Playlist timing (mirrored by static/js/lib/session/timeline.js) and duration text."""

import pytest

from kap.services.sessions.playlist import (
    effective_crossfade,
    format_duration,
    parse_duration,
    playlist_length,
    track_starts,
)


def test_tracks_overlap_by_the_crossfade():
    """Each track starts one cross-fade before the previous one ends."""
    assert track_starts([60, 60, 60], 8) == [0, 52, 104]
    assert playlist_length([60, 60, 60], 8) == 164


def test_crossfade_never_exceeds_half_a_short_track():
    """A 10-second track overlaps its neighbours by at most 5 seconds."""
    assert effective_crossfade(8, 60, 10) == 5
    assert track_starts([60, 10, 60], 8) == [0, 55, 60]


@pytest.mark.parametrize(("durations", "length"), [([], 0), ([42.5], 42.5), ([30, 30], 52)])
def test_playlist_length_edge_cases(durations, length):
    """No tracks last 0 s; one track lasts its own length; cross-fades shorten the total."""
    assert playlist_length(durations, 8) == length


def test_zero_crossfade_plays_back_to_back():
    """With no cross-fade, tracks follow each other exactly."""
    assert track_starts([60, 60], 0) == [0, 60]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("1:30", 90), ("01:30", 90), (" 2:00 ", 120), ("1:02:03", 3723), ("0:05", 5)],
)
def test_durations_are_read_as_people_write_them(text, seconds):
    """Seconds, minutes:seconds and hours:minutes:seconds are understood."""
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "1:2:3:4", "-5", "1.5", "1:"])
def test_unreadable_durations_are_none(text):
    """Anything else is not a duration."""
    assert parse_duration(text) is None


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0:00"), (65, "1:05"), (600, "10:00"), (3723, "1:02:03"), (None, "")]
)
def test_durations_are_written_m_ss(seconds, text):
    """Lengths are shown as m:ss, or h:mm:ss from an hour up."""
    assert format_duration(seconds) == text
