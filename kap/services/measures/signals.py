"""Response and relapse signals from PHQ-9 scores, per course: read-outs for the care team,
never advice. They say what the numbers did; what to do is the clinician's decision (no
dose, no eligibility is ever decided or suggested here).

Baseline: the latest PHQ-9 before the course's first session started (none: no signal,
"no baseline"). A course's scores are those after its baseline, up to the next course's
first session, so a relapse after the course's last session still belongs to it.

Signals, the first that applies (thresholds below, in one place):

* *possible relapse*: the latest PHQ-9 is ``RELAPSE_RISE`` or more above the course's lowest
  (baseline included: a rise of that size during a course is flagged too), or over
  ``RELAPSE_OVER`` after an earlier reading of the course met response or remission. It
  comes with a date to review a booster: ``BOOSTER_REVIEW_WITHIN`` after the first reading
  of the current run that met it (the date does not slide while later readings stay high).
* *remission*: the latest PHQ-9 is below ``REMISSION_BELOW``.
* *response*: the latest PHQ-9 is ``RESPONSE_FALL`` or more below the baseline.
* *no response yet*: ``NO_RESPONSE_AFTER_SESSIONS`` sessions of the course are completed, the
  latest reading was taken after the last of those, and it is less than
  ``NO_RESPONSE_FALL`` below the baseline.
* otherwise no signal (the numbers are still shown).

Sources:

* Remission PHQ-9 < 5 ("minimal"), and a 5-point change as clinically meaningful: Kroenke K,
  Spitzer RL, Williams JBW. The PHQ-9: validity of a brief depression severity measure.
  J Gen Intern Med 2001;16:606-13; Löwe B et al. Monitoring depression treatment outcomes
  with the PHQ-9. Med Care 2004;42:1194-201.
* Response = a fall of 50 % or more from baseline: the usual definition in depression trials,
  the one ketamine studies report (e.g. Murrough JW et al. Rapid and longer-term
  antidepressant effects of repeated ketamine infusions in treatment-resistant major
  depression. Biol Psychiatry 2013;74:250-6).
* No response yet (< 25 % after the first four sessions): issue 16's seeds — patients who have
  not responded to several initial infusions are unlikely to respond to more. 25 % is the
  common "non-response" cut-off in the same trials.
* Relapse (PHQ-9 back over 10, the cut-off for moderate depression, Kroenke 2001), and its
  timing: in Murrough 2013, relapse came a median of about 18-19 days after the last infusion;
  a week to review leaves time to book before that.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from kap.models.base import utcnow
from kap.services.measures.facts import SessionFact, answer_facts, session_facts

# --- thresholds, in one place (sources above) ----------------------------------------------
#: Response: the latest at least this fraction below the baseline.
RESPONSE_FALL = 0.50
#: No response yet: less than this fraction below the baseline ...
NO_RESPONSE_FALL = 0.25
#: ... once this many sessions of the course are completed.
NO_RESPONSE_AFTER_SESSIONS = 4
#: Remission: the latest PHQ-9 below this.
REMISSION_BELOW = 5
#: Possible relapse: this much above the course's lowest ...
RELAPSE_RISE = 5
#: ... or over this after a response or remission in the course.
RELAPSE_OVER = 10
#: Review a booster within this long of the reading that first showed a possible relapse: a
#: week leaves time to book one before relapse usually sets in (about 19 days, see above).
BOOSTER_REVIEW_WITHIN = timedelta(days=7)

NO_BASELINE = "no_baseline"
NO_SIGNAL = "none"
NO_RESPONSE_YET = "no_response_yet"
RESPONSE = "response"
REMISSION = "remission"
POSSIBLE_RELAPSE = "possible_relapse"

LABELS = {
    NO_BASELINE: "No baseline",
    NO_SIGNAL: "No signal",
    NO_RESPONSE_YET: "No response yet",
    RESPONSE: "Response",
    REMISSION: "Remission",
    POSSIBLE_RELAPSE: "Possible relapse",
}

Score = tuple[datetime, int]


def rules_in_words() -> str:
    """The thresholds as the timeline explains them (from the constants, so never stale)."""
    return (
        f"Response: PHQ-9 {RESPONSE_FALL:.0%} or more below the course's baseline. "
        f"Remission: below {REMISSION_BELOW}. No response yet: less than "
        f"{NO_RESPONSE_FALL:.0%} below after {NO_RESPONSE_AFTER_SESSIONS} sessions. Possible "
        f"relapse: {RELAPSE_RISE} or more above the course's lowest, or over {RELAPSE_OVER} "
        "after a response or remission. These describe the scores; they are not advice."
    )


@dataclass(frozen=True)
class CourseSignal:
    """One course's signal and the numbers behind it."""

    kind: str
    course_id: int | None
    first_session_at: datetime
    baseline: int | None = None
    baseline_at: datetime | None = None
    latest: int | None = None
    latest_at: datetime | None = None
    lowest: int | None = None
    #: Rounded to one decimal, negative when scores fall; None without a later score or
    #: from a baseline of 0.
    percent_change: float | None = None
    sessions_completed: int = 0
    #: Possible relapse only: when to review a booster by.
    review_by: datetime | None = None

    @property
    def label(self) -> str:
        """The signal in words, e.g. "Possible relapse"."""
        return LABELS[self.kind]

    @property
    def is_flag(self) -> bool:
        """A signal worth a badge on the dashboard (not "no signal" or "no baseline")."""
        return self.kind not in (NO_SIGNAL, NO_BASELINE)


def _fall(baseline: int, score: int) -> float | None:
    return (baseline - score) / baseline if baseline else None


def _responded(baseline: int, score: int) -> bool:
    fall = _fall(baseline, score)
    return score < REMISSION_BELOW or (fall is not None and fall >= RESPONSE_FALL)


def _relapsing(baseline: int, earlier: Sequence[int], score: int) -> bool:
    lowest = min([baseline, *earlier])
    responded_before = any(_responded(baseline, s) for s in earlier)
    return score - lowest >= RELAPSE_RISE or (responded_before and score > RELAPSE_OVER)


def course_signal(
    scores: Sequence[Score],
    *,
    first_session_at: datetime,
    session_ends: Sequence[datetime],
    until: datetime | None = None,
    course_id: int | None = None,
) -> CourseSignal:
    """The signal of one course, on plain values.

    ``scores``: the patient's PHQ-9 (when, total) in time order; ``first_session_at``: when
    the course's first session started (or is booked for); ``session_ends``: when each of its
    completed sessions ended; ``until``: the next course's first session (its scores are not
    this course's).
    """
    before = [s for s in scores if s[0] < first_session_at]
    if not before:
        return CourseSignal(NO_BASELINE, course_id, first_session_at)
    baseline_at, baseline = before[-1]
    after = [s for s in scores if s[0] > baseline_at and (until is None or s[0] < until)]
    ends = sorted(session_ends)
    base = CourseSignal(
        NO_SIGNAL,
        course_id,
        first_session_at,
        baseline=baseline,
        baseline_at=baseline_at,
        lowest=baseline,
        sessions_completed=len(ends),
    )
    if not after:
        return base
    values = [score for _, score in after]
    latest_at, latest = after[-1]
    fall = _fall(baseline, latest)
    run_start = None
    for index in range(len(values) - 1, -1, -1):  # the run of relapsing readings up to latest
        if not _relapsing(baseline, values[:index], values[index]):
            break
        run_start = after[index][0]
    judged = len(ends) >= NO_RESPONSE_AFTER_SESSIONS
    if run_start is not None:
        kind = POSSIBLE_RELAPSE
    elif latest < REMISSION_BELOW:
        kind = REMISSION
    elif fall is not None and fall >= RESPONSE_FALL:
        kind = RESPONSE
    elif (
        judged
        and latest_at >= ends[NO_RESPONSE_AFTER_SESSIONS - 1]
        and (fall is None or fall < NO_RESPONSE_FALL)
    ):
        kind = NO_RESPONSE_YET
    else:
        kind = NO_SIGNAL
    return replace(
        base,
        kind=kind,
        latest=latest,
        latest_at=latest_at,
        lowest=min(baseline, *values),
        percent_change=None if fall is None else round(-fall * 100, 1),
        review_by=None if run_start is None else run_start + BOOSTER_REVIEW_WITHIN,
    )


def course_signals(
    scores: Sequence[Score], sessions: Sequence[SessionFact], now: datetime
) -> list[CourseSignal]:
    """Every started course's signal, oldest first, from a patient's PHQ-9 and booked sessions.

    Sessions outside any course are left out (a booster alone is not a course). A course
    whose first session is still ahead has no signal yet (its baseline may still come), but
    it ends the previous course's scores when it starts.
    """
    courses: dict[int, list[SessionFact]] = {}
    for session in sorted(sessions, key=lambda s: s.scheduled_at):
        if session.course_id is not None:
            courses.setdefault(session.course_id, []).append(session)
    ordered = sorted(courses.items(), key=lambda item: item[1][0].starts_at)
    signals = []
    for index, (course_id, booked) in enumerate(ordered):
        if booked[0].starts_at > now:
            break
        following = ordered[index + 1][1][0].starts_at if index + 1 < len(ordered) else None
        signals.append(
            course_signal(
                scores,
                first_session_at=booked[0].starts_at,
                session_ends=[s.completed_at for s in booked if s.completed_at is not None],
                until=following,
                course_id=course_id,
            )
        )
    return signals


def signals_for(
    patient_ids: Sequence[int],
    now: datetime | None = None,
    *,
    sessions: dict[int, list[SessionFact]] | None = None,
    scores: dict[int, list[Score]] | None = None,
) -> dict[int, list[CourseSignal]]:
    """Each patient's course signals in a fixed number of queries; the caller scopes the ids
    (and may pass ``facts.session_facts`` / ``facts.answer_facts(...).phq9`` already read)."""
    now = now or utcnow()
    ids = list(patient_ids)
    if not ids:
        return {}
    sessions = session_facts(ids) if sessions is None else sessions
    scores = answer_facts(ids, now).phq9 if scores is None else scores
    return {pid: course_signals(scores.get(pid, []), sessions.get(pid, []), now) for pid in ids}


def current_signal(signals: Sequence[CourseSignal]) -> CourseSignal | None:
    """The latest course's signal (what the dashboard shows), None without a course."""
    return signals[-1] if signals else None
