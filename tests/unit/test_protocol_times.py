"""Protocol times of a dosed session: pure rules on a session, its records and an explicit now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from kap.services.board import monitoring

CLINIC = SimpleNamespace(timezone="America/New_York")
#: 10:10 in New York (winter, UTC-5).
DOSED = datetime(2026, 12, 2, 15, 10, tzinfo=UTC)


def _session(started=None, post_dose=40, observation=120):
    version = SimpleNamespace(post_dose_check_minutes=post_dose, observation_minutes=observation)
    return SimpleNamespace(session_started_at=started, discharged_at=None, template_version=version)


def _given(minutes_after_dosing: float = 0):
    return SimpleNamespace(given_at=DOSED + timedelta(minutes=minutes_after_dosing))


def _reading(kind: str, minutes_after_dosing: float):
    return SimpleNamespace(kind=kind, recorded_at=DOSED + timedelta(minutes=minutes_after_dosing))


def _at(minutes_after_dosing: float) -> datetime:
    return DOSED + timedelta(minutes=minutes_after_dosing)


def _times(session, readings, given, minutes):
    return {t.kind: t for t in monitoring.protocol_times(session, readings, given, _at(minutes))}


def test_dosing_is_the_earliest_administration_else_the_session_start():
    """The first dose given decides; with none recorded, the patient's Start session does."""
    started = _at(-5)
    assert monitoring.dosed_at(_session(started), [_given(30), _given(0)]) == DOSED
    assert monitoring.dosed_at(_session(started), []) == started
    assert monitoring.dosed_at(_session(None), []) is None


def test_a_booster_dose_restarts_the_observation_clock():
    """Observation runs from the latest administration: a booster at +30 moves the end."""
    session = _session(None, observation=120)
    assert monitoring.observation_ends_at(session, [_given(0)]) == _at(120)
    assert monitoring.observation_ends_at(session, [_given(0), _given(30)]) == _at(150)
    assert monitoring.observation_ends_at(_session(_at(0))) == _at(120)  # callers without doses


def test_post_dose_vitals_fall_due_minutes_after_the_first_dose():
    """Due at dosing + 40 (from the first dose, a booster does not move it), overdue after."""
    session, given = _session(None), [_given(0), _given(30)]
    due = _times(session, [], given, 28)["post_dose"]
    assert due.due_at == _at(40) and not due.overdue
    text = monitoring.protocol_text(due, CLINIC, _at(28))
    assert text == "Post-dose vitals due 10:50 (in 12 min)"
    late = _times(session, [], given, 47)["post_dose"]
    assert late.overdue
    assert monitoring.protocol_text(late, CLINIC, _at(47)) == (
        "Overdue: post-dose vitals, due 10:50 (7 min ago)"
    )


@pytest.mark.parametrize(
    "recorded, counts",
    [(29, False), (30, True), (40, True), (75, True)],
)
def test_a_post_dose_check_counts_from_ten_minutes_before_its_time(recorded, counts):
    """Tolerance: from 10 minutes before the due time onwards; earlier is another reading."""
    item = _times(_session(None), [_reading("post_dose", recorded)], [_given(0)], 80)["post_dose"]
    assert (item.done_at is not None) is counts
    assert item.overdue is not counts


def test_no_post_dose_time_when_the_template_has_none():
    """post_dose_check_minutes 0: the protocol has no post-dose check."""
    assert "post_dose" not in _times(_session(None, post_dose=0), [], [_given(0)], 50)


def test_pre_dose_vitals_are_due_before_dosing_and_missing_after():
    """Before dosing: due; dosed without them: overdue (missing); with them: done."""
    before = _times(_session(None), [], [], -20)["pre_dose"]
    assert not before.overdue
    assert monitoring.protocol_text(before, CLINIC, _at(-20)) == "Pre-dose vitals due before dosing"
    missing = _times(_session(None), [], [_given(0)], 5)["pre_dose"]
    assert missing.overdue
    assert "none before dosing at 10:10" in monitoring.protocol_text(missing, CLINIC, _at(5))
    done = _times(_session(None), [_reading("pre_dose", -8)], [_given(0)], 5)["pre_dose"]
    assert done.done_at == _at(-8) and not done.overdue


def test_final_check_is_due_when_observation_ends_and_counts_after_the_latest_dose():
    """A final taken before a booster does not count for the restarted observation."""
    given = [_given(0), _given(30)]
    final = _times(_session(None), [_reading("final", 20)], given, 151)["final"]
    assert final.due_at == _at(150) and final.done_at is None and final.overdue
    final = _times(_session(None), [_reading("final", 148)], given, 151)["final"]
    assert final.done_at == _at(148) and not final.overdue


def test_interval_checks_count_the_post_dose_check():
    """The next interval check is due an interval after the latest post-dose/check/final."""
    session = _session(None)
    readings = [_reading("pre_dose", -8), _reading("post_dose", 40)]
    assert monitoring.next_check_due_at(session, readings, 15, [_given(0)]) == _at(55)
    assert monitoring.next_check_due_at(session, readings, 15, []) is None  # not dosed


def test_the_likely_next_reading_follows_the_protocol():
    """Before dosing pre-dose; near the post-dose time post-dose; after observation final."""
    session = _session(None)
    assert monitoring.suggested_kind(session, _at(-5)) == "pre_dose"
    assert monitoring.suggested_kind(session, _at(10), [_given(0)], []) == "check"
    assert monitoring.suggested_kind(session, _at(31), [_given(0)], []) == "post_dose"
    done = [_reading("post_dose", 40)]
    assert monitoring.suggested_kind(session, _at(60), [_given(0)], done) == "check"
    assert monitoring.suggested_kind(session, _at(121), [_given(0)], done) == "final"


def test_times_are_shown_in_the_clinic_zone_across_daylight_saving():
    """The clock times follow the clinic's zone on the day DST ends (UTC-4 then UTC-5)."""
    before_change = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    after_change = before_change + timedelta(hours=1)  # 01:30 EST
    assert monitoring.clock_time(before_change, CLINIC) == "01:30"
    assert monitoring.clock_time(after_change, CLINIC) == "01:30"
    session = _session(None, post_dose=40)
    given = [SimpleNamespace(given_at=before_change)]
    item = monitoring.protocol_times(session, [], given, before_change)[1]
    assert item.due_at - before_change == timedelta(minutes=40)  # elapsed time, not wall time
