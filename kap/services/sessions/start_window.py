"""When a session may start, and when its day-of checklist items may be ticked.

Every rule here reads the clinic's local calendar (``Clinic.timezone``); times are stored and
compared in UTC. One home for the rules, so the API, the pages and the phone's data agree.

**Start window.** Session mode may start on the session's local day only: from
``Clinic.start_window_minutes`` (real minutes, default 120) before ``scheduled_at`` — but
never before that day's local midnight — until the end of that local day (the next local
midnight, exclusive). A day that gains or loses an hour at a daylight-saving change is as
long as it really is (23 or 25 hours).

**Which clock.** The server's clock decides. A phone that started offline sends ``at``, the
time on the device, maybe hours late; that time is believed only when all of these hold:

- it is no more than ``CLOCK_SKEW`` (5 minutes) ahead of the server (a phone set to next
  week cannot open next week's session);
- it lies inside the window itself;
- the server receives it no later than ``LATE_SYNC_GRACE`` (12 hours) after the window
  closed — so a start at 23:55 synced at 00:05, or a start at 14:00 whose phone only finds a
  signal the next morning, still counts; an ``at`` inside the window that arrives days
  later does not.

Otherwise the server's own time is the moment, and it must lie inside the window. The
moment that passed the check is the start time recorded. A device time earlier than the
staff check-in is not believed either (the phone's clock is behind: the start cannot precede
the check-in it waited for); the server's time is recorded instead (the latest the start can
have been, so the observation it begins is never shortened) — or, when the window has closed
by the time the phone syncs, the check-in time, the earliest it can have been.

**After the start** (downtime, integration, complete, Call staff) a device time is believed
only when it is at most ``CLOCK_SKEW`` ahead of the server, at most ``LATE_SYNC_GRACE`` old,
and not before the previous phase's time (a phase) or the start window's opening (a call).
Otherwise the server's time is recorded — for a phase never before the previous phase's time
— and the audit row says the device time was ignored, why, and what it was.

**Day-of items** (``ChecklistItem.day_of``: fasting, alcohol, a ride) may be ticked from
00:00 local on the day before the session's local day; unticking is always allowed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from kap.extensions import db
from kap.models import ChecklistItem, Clinic, SessionStatus, TreatmentSession
from kap.services.errors import Conflict
from kap.timezones import local_day_of, start_of_local_day, to_local

#: How far ahead of the server a device clock may run and still be believed.
CLOCK_SKEW = timedelta(minutes=5)
#: How long after the window closed an offline start may still reach the server.
LATE_SYNC_GRACE = timedelta(hours=12)

CHECK_IN_MESSAGE = (
    "Staff check you in first (ID and blood pressure). Tell the front desk you are here."
)


@dataclass(frozen=True)
class StartWindow:
    """The UTC interval [opens_at, closes_at) in which session mode may start."""

    opens_at: datetime
    closes_at: datetime
    timezone: str

    def contains(self, moment: datetime) -> bool:
        """True when ``moment`` (aware) is inside the window."""
        return self.opens_at <= moment < self.closes_at

    def local(self, moment: datetime) -> datetime:
        """``moment`` on the clinic's wall clock."""
        return to_local(moment, self.timezone)


def clinic_of(session: TreatmentSession) -> Clinic:
    """The session's clinic (usually already loaded: the reader's own)."""
    return db.session.get_one(Clinic, session.clinic_id)


def window_for(session: TreatmentSession, clinic: Clinic | None = None) -> StartWindow:
    """The start window of ``session`` (see the module docstring)."""
    clinic = clinic or clinic_of(session)
    zone = clinic.timezone
    day = local_day_of(session.scheduled_at, zone)
    day_starts = start_of_local_day(day, zone)
    early = session.scheduled_at - timedelta(minutes=clinic.start_window_minutes)
    return StartWindow(
        opens_at=max(early, day_starts),
        closes_at=start_of_local_day(day + timedelta(days=1), zone),
        timezone=zone,
    )


@dataclass(frozen=True)
class DeviceTime:
    """The moment to record for what a phone reported, and why its own time was not used."""

    moment: datetime
    #: Why the device's ``at`` was not believed ("" when it was, or when none was sent).
    ignored: str = ""
    #: The device's ``at`` as sent (kept for the audit row).
    at: datetime | None = None

    @property
    def audit_detail(self) -> str:
        """' device_time=ignored reason=… device_at=…' for the audit row; '' when believed."""
        if not self.ignored:
            return ""
        sent = self.at.isoformat(timespec="seconds") if self.at else "-"
        return f" device_time=ignored reason={self.ignored} device_at={sent}"


def bound_device_time(
    at: datetime | None, now: datetime, not_before: datetime | None, floor_name: str
) -> DeviceTime:
    """``at`` when believable after the start (module docstring), else the server's ``now``.

    ``floor_name`` names ``not_before`` in the reason ("previous_phase", "start_window").
    """
    if at is None:
        return DeviceTime(now)
    if at > now + CLOCK_SKEW:
        reason = "ahead_of_server"
    elif at < now - LATE_SYNC_GRACE:
        reason = "older_than_late_sync_grace"
    elif not_before is not None and at < not_before:
        reason = f"before_{floor_name}"
    else:
        return DeviceTime(at)
    return DeviceTime(now, reason, at)


def phase_time(at: datetime | None, now: datetime, previous: datetime | None) -> DeviceTime:
    """When a phase after the start counts as entered: never before the ``previous`` phase.

    The previous time may be a fast phone's, up to ``CLOCK_SKEW`` ahead of the server; the
    server's time then gives way to it so the phases stay in order.
    """
    timed = bound_device_time(at, now, previous, "previous_phase")
    if previous is not None and timed.moment < previous:
        return replace(timed, moment=previous)
    return timed


def call_time(session: TreatmentSession, at: datetime | None, now: datetime) -> DeviceTime:
    """When a Call staff request counts as made (never a time set ahead on the phone)."""
    return bound_device_time(at, now, window_for(session).opens_at, "start_window")


def start_moment(window: StartWindow, now: datetime, at: datetime | None) -> datetime | None:
    """When a start made now (device time ``at``) counts as made; None outside the window."""
    if (
        at is not None
        and at <= now + CLOCK_SKEW
        and window.contains(at)
        and now < window.closes_at + LATE_SYNC_GRACE
    ):
        return at
    return now if window.contains(now) else None


def _day_label(local: datetime) -> str:
    return local.strftime("%A %-d %B")


def not_today_message(window: StartWindow, now: datetime) -> str:
    """Why the session cannot start at ``now``, in the clinic's words; "" inside the window."""
    if window.contains(now):
        return ""
    if now < window.opens_at:
        opens = window.local(window.opens_at)
        return f"This session can start from {opens:%H:%M} on {_day_label(opens)}."
    booked_day = window.local(window.closes_at - timedelta(microseconds=1))
    return (
        f"This session was booked for {_day_label(booked_day)}; it can no longer be started. "
        "Please contact the clinic."
    )


def _start_before_check_in(
    window: StartWindow, now: datetime, checked_in: datetime
) -> datetime | None:
    """The start of a phone whose clock says it came before the check-in (module docstring)."""
    if window.contains(now):
        return now
    if window.contains(checked_in) and now < window.closes_at + LATE_SYNC_GRACE:
        return checked_in
    return None


def _why_not_believed(window: StartWindow, now: datetime, at: datetime) -> str:
    if at > now + CLOCK_SKEW:
        return "ahead_of_server"
    if not window.contains(at):
        return "outside_start_window"
    return "older_than_late_sync_grace"


def check_start_time(
    session: TreatmentSession, now: datetime, at: datetime | None = None
) -> DeviceTime:
    """The start time to record, or Conflict ``not_today`` when it falls outside the window."""
    window = window_for(session)
    checked_in = session.checked_in_at
    if at is not None and checked_in is not None and at < checked_in:
        moment, reason = _start_before_check_in(window, now, checked_in), "before_check_in"
    else:
        moment = start_moment(window, now, at)
        reason = _why_not_believed(window, now, at) if at is not None and moment != at else ""
    if moment is None:
        raise Conflict(not_today_message(window, now), code="not_today")
    return DeviceTime(moment, reason, at if reason else None)


def waiting_for_check_in(session: TreatmentSession) -> bool:
    """The template asks for staff check-in and it has not happened yet."""
    return bool(session.template_version.requires_check_in) and session.checked_in_at is None


def kept_offline_today(
    session: TreatmentSession, now: datetime, clinic: Clinic | None = None
) -> bool:
    """The home page keeps ``session`` on the phone now: it is under way, or booked for
    today in the clinic's time zone (static/js/pages/home.js checks the same on the phone's
    clock). The page lays out the line that says so from the start, so the button below it
    never moves under the patient's thumb when the script fills it in."""
    if session.status != SessionStatus.SCHEDULED:
        return True
    zone = (clinic or clinic_of(session)).timezone
    return local_day_of(session.scheduled_at, zone) == local_day_of(now, zone)


# --- day-of checklist items ----------------------------------------------------------------


def day_of_opens_at(session: TreatmentSession, clinic: Clinic | None = None) -> datetime:
    """00:00 local on the day before the session's local day, in UTC."""
    zone = (clinic or clinic_of(session)).timezone
    day = local_day_of(session.scheduled_at, zone)
    return start_of_local_day(day - timedelta(days=1), zone)


def too_early_message(
    session: TreatmentSession, clinic: Clinic | None = None, what: str = "this"
) -> str:
    """'You can tick this from Wednesday 9 December.' (``what``: "this" or "these")."""
    zone = (clinic or clinic_of(session)).timezone
    opens = to_local(day_of_opens_at(session, clinic), zone)
    return f"You can tick {what} from {_day_label(opens)}."


def too_early_to_tick(item: ChecklistItem, session: TreatmentSession, now: datetime) -> bool:
    """A day-of item before the day before the session."""
    return bool(item.day_of) and now < day_of_opens_at(session)


# --- what the preparation page shows -------------------------------------------------------


@dataclass(frozen=True)
class StartState:
    """What stands between the patient and Start session, apart from unticked items."""

    window: StartWindow
    #: "before", "open" or "after" the window.
    window_state: str
    #: Why it is not the session's day (the not_today message), or "".
    not_today: str
    #: "none" (no check-in asked), "waiting" or "done".
    check_in: str
    #: When day-of items may be ticked, and whether that time has come.
    day_of_opens_at: datetime
    day_of_open: bool
    day_of_message: str

    check_in_message = CHECK_IN_MESSAGE

    @property
    def blocked(self) -> bool:
        """Start session stays disabled (the page says why)."""
        return bool(self.not_today) or self.check_in == "waiting"


def start_state(session: TreatmentSession, now: datetime) -> StartState:
    """The window, check-in and day-of state of ``session`` at ``now`` (a read, no writes)."""
    clinic = clinic_of(session)
    window = window_for(session, clinic)
    if not session.template_version.requires_check_in:
        check_in = "none"
    else:
        check_in = "done" if session.checked_in_at else "waiting"
    opens = day_of_opens_at(session, clinic)
    if window.contains(now):
        window_state = "open"
    else:
        window_state = "before" if now < window.opens_at else "after"
    return StartState(
        window=window,
        window_state=window_state,
        not_today=not_today_message(window, now),
        check_in=check_in,
        day_of_opens_at=opens,
        day_of_open=now >= opens,
        day_of_message=too_early_message(session, clinic),
    )
