"""Response and relapse signals from PHQ-9 score series, per course (measures.signals)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kap.services.measures.facts import SessionFact
from kap.services.measures.signals import (
    NO_BASELINE,
    NO_RESPONSE_YET,
    NO_SIGNAL,
    POSSIBLE_RELAPSE,
    REMISSION,
    RESPONSE,
    course_signal,
    course_signals,
    current_signal,
)

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # the course's first session
DAY = timedelta(days=1)
#: Four sessions, ending on days 0, 2, 4 and 7 of the course.
FOUR_ENDS = [START + d * DAY + 2 * timedelta(hours=1) for d in (0, 2, 4, 7)]


def _series(baseline, *later, ends=FOUR_ENDS):
    """The signal for a baseline the day before the course and one score a day from day 8
    (after the fourth session)."""
    scores = [(START - DAY, baseline)] + [(START + (8 + i) * DAY, s) for i, s in enumerate(later)]
    return course_signal(scores, first_session_at=START, session_ends=ends)


@pytest.mark.parametrize(
    ("baseline", "later", "kind"),
    [
        (20, (), NO_SIGNAL),  # a baseline alone
        (20, (16,), NO_RESPONSE_YET),  # 20 % fall
        (20, (15,), NO_SIGNAL),  # exactly 25 %: not "less than 25 %"
        (20, (11,), NO_SIGNAL),  # 45 %: between the two
        (20, (10,), RESPONSE),  # exactly 50 %
        (20, (5,), RESPONSE),  # 75 %, but 5 is not below 5
        (20, (4,), REMISSION),
        (20, (0,), REMISSION),
        (20, (24,), NO_RESPONSE_YET),  # worse by 4: not yet a 5-point rise
        (20, (25,), POSSIBLE_RELAPSE),  # 5 above the lowest (the baseline): flagged
        (20, (8, 12), POSSIBLE_RELAPSE),  # over 10 after a response
        (20, (8, 10), RESPONSE),  # exactly 10 is not over 10
        (20, (3, 8), POSSIBLE_RELAPSE),  # 5 up from the lowest (3)
        (20, (3, 7), RESPONSE),  # 4 up: not yet, and 7 is a 65 % fall
        (20, (12, 11), NO_SIGNAL),  # 12 never met response: 11 is no relapse
        (0, (0,), REMISSION),  # a baseline of 0 has no percent change
        (0, (5,), POSSIBLE_RELAPSE),
        (0, (3,), REMISSION),
    ],
)
def test_each_signal_and_its_boundaries(baseline, later, kind):
    """Response ≥ 50 %, remission < 5, no response yet < 25 % after four sessions, possible
    relapse 5 up from the lowest or over 10 after a response or remission."""
    assert _series(baseline, *later).kind == kind


def test_no_baseline_is_no_signal_and_says_so():
    """Scores only from the first session on: no baseline, nothing else computed."""
    signal = course_signal(
        [(START, 20), (START + 9 * DAY, 5)], first_session_at=START, session_ends=FOUR_ENDS
    )
    assert (signal.kind, signal.label, signal.baseline) == (NO_BASELINE, "No baseline", None)
    assert not signal.is_flag


def test_the_baseline_is_the_latest_score_before_the_first_session():
    """Two scores before the course: the later one is its baseline."""
    scores = [(START - 10 * DAY, 27), (START - DAY, 20), (START + 9 * DAY, 10)]
    signal = course_signal(scores, first_session_at=START, session_ends=FOUR_ENDS)
    assert (signal.baseline, signal.latest, signal.lowest) == (20, 10, 10)
    assert (signal.percent_change, signal.kind) == (-50.0, RESPONSE)


@pytest.mark.parametrize("completed", [0, 1, 3])
def test_fewer_than_four_sessions_is_never_no_response_yet(completed):
    """A 10 % fall after one, two or three sessions is too early to call."""
    assert _series(20, 18, ends=FOUR_ENDS[:completed]).kind == NO_SIGNAL


def test_no_response_yet_needs_a_score_after_the_fourth_session():
    """Four sessions done, but the latest score was taken before the fourth ended."""
    scores = [(START - DAY, 20), (FOUR_ENDS[3] - DAY, 19)]
    assert course_signal(scores, first_session_at=START, session_ends=FOUR_ENDS).kind == NO_SIGNAL
    scores.append((FOUR_ENDS[3], 19))
    signal = course_signal(scores, first_session_at=START, session_ends=FOUR_ENDS)
    assert (signal.kind, signal.sessions_completed, signal.percent_change) == (
        NO_RESPONSE_YET,
        4,
        -5.0,
    )


def test_possible_relapse_comes_with_a_week_to_review_a_booster_from_its_first_reading():
    """Relapse first read on day 9, still on day 10: review by day 9 + 7 days (it does not
    slide with each high reading)."""
    signal = _series(20, 4, 11, 13)
    assert signal.kind == POSSIBLE_RELAPSE
    assert signal.review_by == START + 9 * DAY + 7 * DAY
    assert (signal.baseline, signal.lowest, signal.latest) == (20, 4, 13)
    assert signal.percent_change == -35.0


def test_a_relapse_that_settles_clears():
    """Back in remission after a high reading: the signal follows the latest."""
    assert _series(20, 4, 11, 3).kind == REMISSION
    assert _series(20, 4, 11, 3).review_by is None


def _session(id_, course_id, day, *, done=True):
    at = START + day * DAY
    return SessionFact(
        id_,
        1,
        course_id,
        at,
        at if done else None,
        at + 2 * timedelta(hours=1) if done else None,
        "complete" if done else "scheduled",
        ["phq9"],
        [],
        [],
    )


def test_two_courses_each_against_its_own_baseline():
    """The second course's baseline is the latest score before it, and the first course's
    scores stop where the second starts; a course still ahead has no signal yet."""
    first = [_session(i, 1, d) for i, d in enumerate((0, 2, 4, 7), start=1)]
    second = [_session(10, 2, 60), _session(11, 2, 62)]
    ahead = [_session(20, 3, 200, done=False)]
    scores = [
        (START - DAY, 20),  # course 1 baseline
        (START + 9 * DAY, 8),  # response
        (START + 50 * DAY, 16),  # relapse after course 1 ... and course 2's baseline
        (START + 63 * DAY, 7),  # course 2: a 56 % fall
    ]
    signals = course_signals(scores, first + second + ahead, now=START + 70 * DAY)
    assert [(s.course_id, s.kind, s.baseline, s.latest) for s in signals] == [
        (1, POSSIBLE_RELAPSE, 20, 16),
        (2, RESPONSE, 16, 7),
    ]
    assert current_signal(signals) == signals[1]
    assert current_signal([]) is None


def test_sessions_outside_a_course_make_no_signal():
    """A lone booster is not a course."""
    assert (
        course_signals(
            [(START - DAY, 20), (START + DAY, 4)], [_session(1, None, 0)], now=START + 9 * DAY
        )
        == []
    )
