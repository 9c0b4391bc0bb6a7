"""The measurement schedule as a pure rule: which questionnaire is due, why, and since when.

Everything here works on plain values (datetimes, instruments), so every rule is tested
without a database; ``checkins.checkins_due`` / ``checkins_due_for`` gather the values.

The schedule (issue 16 §4), in the order a reason wins when one questionnaire has several:

=================  =========================================================================
reason             when, and why
=================  =========================================================================
baseline           The template's check-in questionnaires before the first session of a
                   course, from ``PRE_SESSION_WINDOW`` before it. Only one taken inside that
                   window counts: an old score is no baseline for a new course, and the
                   response and relapse signals measure everything against it.
before_session     The same before every later session, from ``PRE_SESSION_WINDOW`` before it
                   (or the previous session's end, if later); one taken since the previous
                   session ended counts, so nobody answers twice in a few days.
after_session      The template's after-session questionnaires (side effects) from
                   ``AFTER_SESSION_DELAY`` after each completed session, for
                   ``AFTER_SESSION_WINDOW``: at the end the patient is still recovering and
                   would report the session itself, not how they are the day after.
course_end         The check-in questionnaires when a course's last booked session is
                   completed, from ``AFTER_SESSION_DELAY`` after it (same reason), for
                   ``FOLLOW_UP_WINDOW``: the course's outcome.
one_month_after    The check-in questionnaires ``ONE_MONTH_AFTER`` and ``THREE_MONTHS_AFTER``
three_months_after the course's last session, each for ``FOLLOW_UP_WINDOW``: relapse after a
                   course comes within weeks (about 19 days on average in the study the
                   issue cites), and is otherwise noticed only at the next appointment.
interval           The check-in questionnaires every ``clinic.checkin_interval_days`` (weekly
                   by default) after the last completed session, while the course runs; a
                   session outside any course keeps it going. Counted from the latest
                   check-in, so an early answer is never asked again two days later. Once a
                   course has ended, the end and follow-up check-ins replace it: a weekly
                   questionnaire for ever after a course is noise patients learn to ignore.
monthly            The templates' monthly questionnaires (bladder symptoms: long-term ketamine
                   use is linked to bladder damage) every ``MONTHLY_INTERVAL`` from
                   ``PRE_SESSION_WINDOW`` before the first session of such a template.
=================  =========================================================================

Each reason counts an answer given at or after it fell due (except the two pre-session
reasons, above). A due check-in is *overdue* ``OVERDUE_AFTER`` after it fell due, or at the
session's start for a pre-session one if that comes first (``DueCheckin.overdue_since``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from kap.services.measures.scoring import BUILT_IN, Instrument

# --- the schedule's numbers, in one place --------------------------------------------------
#: A pre-session check-in is due from, and counts when taken within, this long before it.
PRE_SESSION_WINDOW = timedelta(days=3)
#: After-session and end-of-course questionnaires fall due this long after the session ends.
AFTER_SESSION_DELAY = timedelta(hours=24)
#: ... and stay due for this long.
AFTER_SESSION_WINDOW = timedelta(days=3)
#: Follow-ups after a course's last session, and how long each (and the course end) stays due.
ONE_MONTH_AFTER = timedelta(days=30)
THREE_MONTHS_AFTER = timedelta(days=90)
FOLLOW_UP_WINDOW = timedelta(days=14)
#: Asked again when none was answered in this long.
MONTHLY_INTERVAL = timedelta(days=30)
#: Overdue this long after falling due: shorter than the shortest window (after a session,
#: 3 days), so the care team sees every kind overdue before it lapses.
OVERDUE_AFTER = timedelta(days=2)

REASON_BASELINE = "baseline"
REASON_BEFORE_SESSION = "before_session"
REASON_AFTER_SESSION = "after_session"
REASON_COURSE_END = "course_end"
REASON_ONE_MONTH = "one_month_after"
REASON_THREE_MONTHS = "three_months_after"
REASON_INTERVAL = "interval"
REASON_MONTHLY = "monthly"
#: Each reason as the care team reads it beside a due check-in.
REASON_LABELS = {
    REASON_BASELINE: "baseline before the course",
    REASON_BEFORE_SESSION: "before the next session",
    REASON_AFTER_SESSION: "the day after a session",
    REASON_COURSE_END: "end of the course",
    REASON_ONE_MONTH: "one month after the course",
    REASON_THREE_MONTHS: "three months after the course",
    REASON_INTERVAL: "between sessions",
    REASON_MONTHLY: "monthly",
}
#: Reasons tied to the session ahead (``session_at`` is its start).
PRE_SESSION_REASONS = frozenset({REASON_BASELINE, REASON_BEFORE_SESSION})

DEFAULT_CHECKINS = (BUILT_IN["phq9"], BUILT_IN["gad7"])


@dataclass(frozen=True)
class DueCheckin:
    """A questionnaire the patient should answer now, and why."""

    spec: Instrument
    #: One of the REASON_* codes above.
    reason: str
    due_since: datetime
    #: The session it prepares for (baseline, before_session) or follows (after_session;
    #: course_end: the course's last); None for the rest (follow-ups belong to no session).
    session_id: int | None = None
    #: That session's start (pre-session) or end; a follow-up's: the course's end.
    session_at: datetime | None = None

    @property
    def instrument(self) -> str:
        """The questionnaire's code, e.g. "phq9"."""
        return self.spec.code

    @property
    def name(self) -> str:
        """The questionnaire's short name, e.g. "PHQ-9"."""
        return self.spec.name

    @property
    def question_count(self) -> int:
        """How many questions it has."""
        return len(self.spec.items)

    @property
    def overdue_since(self) -> datetime:
        """``OVERDUE_AFTER`` after it fell due; a pre-session one at the latest when its
        session starts (answered later, it no longer describes the patient before it)."""
        late = self.due_since + OVERDUE_AFTER
        if self.reason in PRE_SESSION_REASONS and self.session_at is not None:
            return min(late, self.session_at)
        return late

    def is_overdue(self, now: datetime) -> bool:
        """True from ``overdue_since`` on."""
        return now >= self.overdue_since


@dataclass(frozen=True)
class EndedSession:
    """A completed session and what its template asks after it."""

    ended_at: datetime
    session_id: int
    instruments: Sequence[Instrument]


@dataclass(frozen=True)
class EndedCourse:
    """A course whose last booked session is completed, and what its template asks."""

    ended_at: datetime
    last_session_id: int
    instruments: Sequence[Instrument]


def _answered_since(taken: datetime | None, since: datetime) -> bool:
    return taken is not None and taken >= since


def _pre_session(
    now: datetime,
    spec: Instrument,
    taken: datetime | None,
    *,
    session_at: datetime,
    session_id: int | None,
    previous_end: datetime | None,
    baseline: bool,
) -> DueCheckin | None:
    window = session_at - PRE_SESSION_WINDOW
    if baseline or previous_end is None:
        counts_from, due_since = window, window
    else:
        counts_from, due_since = min(previous_end, window), max(previous_end, window)
    if now < due_since or _answered_since(taken, counts_from):
        return None
    reason = REASON_BASELINE if baseline else REASON_BEFORE_SESSION
    return DueCheckin(spec, reason, due_since, session_id, session_at)


def _course_reasons(course: EndedCourse) -> Iterator[tuple[str, datetime, int | None]]:
    """(reason, due from, session): the end belongs to the course's last session, a
    follow-up to no session."""
    yield REASON_COURSE_END, course.ended_at + AFTER_SESSION_DELAY, course.last_session_id
    yield REASON_ONE_MONTH, course.ended_at + ONE_MONTH_AFTER, None
    yield REASON_THREE_MONTHS, course.ended_at + THREE_MONTHS_AFTER, None


def due_checkins(
    now: datetime,
    *,
    next_session_at: datetime | None,
    session_ends: list[datetime],
    latest_taken: dict[str, datetime],
    interval_days: int,
    next_session_id: int | None = None,
    next_is_first_of_course: bool = False,
    instruments: Sequence[Instrument] = DEFAULT_CHECKINS,
    after_sessions: Sequence[EndedSession] = (),
    ended_course: EndedCourse | None = None,
    monthly: Sequence[Instrument] = (),
    monthly_from: datetime | None = None,
) -> list[DueCheckin]:
    """The schedule of the module docstring, on plain values; one entry per instrument at
    most, the first reason in the docstring's order winning.

    ``instruments``: the check-in questionnaires (the next session's template's, else the
    last one's). ``session_ends``: when each completed session ended. ``latest_taken``: the
    latest answer per instrument code. ``next_is_first_of_course``: the session ahead opens
    a course (baseline). ``after_sessions``: sessions completed recently, with their
    after-session questionnaires. ``ended_course``: the course the latest completed session
    ended, if it did. ``monthly_from``: None when no session's template asks monthly ones.
    """
    ended = [end for end in session_ends if end <= now]
    last_end = max(ended, default=None)
    course = ended_course if ended_course and ended_course.ended_at == last_end else None
    candidates: list[DueCheckin] = []
    if next_session_at is not None:
        previous_end = max((end for end in ended if end < next_session_at), default=None)
        for spec in instruments:
            item = _pre_session(
                now,
                spec,
                latest_taken.get(spec.code),
                session_at=next_session_at,
                session_id=next_session_id,
                previous_end=previous_end,
                baseline=next_is_first_of_course,
            )
            candidates += [item] if item else []
    for session in sorted(after_sessions, key=lambda s: s.ended_at, reverse=True):
        due_since = session.ended_at + AFTER_SESSION_DELAY
        if due_since <= now <= due_since + AFTER_SESSION_WINDOW:
            candidates += [
                DueCheckin(
                    spec, REASON_AFTER_SESSION, due_since, session.session_id, session.ended_at
                )
                for spec in session.instruments
                if not _answered_since(latest_taken.get(spec.code), due_since)
            ]
    if course is not None:
        for reason, due_since, session_id in _course_reasons(course):
            if due_since <= now <= due_since + FOLLOW_UP_WINDOW:
                candidates += [
                    DueCheckin(spec, reason, due_since, session_id, course.ended_at)
                    for spec in course.instruments
                    if not _answered_since(latest_taken.get(spec.code), due_since)
                ]
    elif last_end is not None:
        for spec in instruments:
            taken = latest_taken.get(spec.code)
            anchor = max(last_end, taken) if taken is not None else last_end
            due_since = anchor + timedelta(days=max(1, interval_days))
            if now >= due_since:
                candidates.append(DueCheckin(spec, REASON_INTERVAL, due_since))
    if monthly_from is not None:
        for spec in monthly:
            taken = latest_taken.get(spec.code)
            due_since = (
                monthly_from if taken is None else max(monthly_from, taken + MONTHLY_INTERVAL)
            )
            if now >= due_since:
                candidates.append(DueCheckin(spec, REASON_MONTHLY, due_since))
    due: dict[str, DueCheckin] = {}
    for item in candidates:
        due.setdefault(item.instrument, item)
    return list(due.values())


def _day(at: datetime, zone: ZoneInfo) -> str:
    local = at.astimezone(zone)
    return f"{local:%A} {local.day} {local:%b}"


def reason_words(item: DueCheckin, zone: ZoneInfo) -> str:
    """Why it is due, in the patient's words: "Before your session on Thursday 10 Dec"."""
    if item.reason in PRE_SESSION_REASONS and item.session_at is not None:
        first = "first " if item.reason == REASON_BASELINE else ""
        return f"Before your {first}session on {_day(item.session_at, zone)}"
    return {
        REASON_AFTER_SESSION: "The day after your session",
        REASON_COURSE_END: "At the end of your course",
        REASON_ONE_MONTH: "One month after your course",
        REASON_THREE_MONTHS: "Three months after your course",
        REASON_INTERVAL: "Your regular check-in between sessions",
        REASON_MONTHLY: "Your monthly check",
    }.get(item.reason, "Due now")
