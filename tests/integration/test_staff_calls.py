"""Call staff tells the truth: the call's real state in the API and on the no-JavaScript page."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select

from kap.extensions import db
from kap.models import Alert, SessionStatus, TreatmentSession, User
from kap.services.board import actions as board_actions
from kap.timezones import to_local
from tests.helpers import csrf_from

ZONE = "America/New_York"  # the Demo Clinic's


def _now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def session_id(app, people) -> int:
    """The demo patient's Walkthrough session today, in session mode (dosed 3 minutes ago)."""
    with app.app_context():
        session = db.session.scalar(
            select(TreatmentSession).where(
                TreatmentSession.patient_id == people["patient@demo.test"].id,
                TreatmentSession.status == SessionStatus.SCHEDULED,
                TreatmentSession.scheduled_at <= _now() + timedelta(hours=1),
                TreatmentSession.scheduled_at >= _now() - timedelta(hours=1),
            )
        )
        session.status = SessionStatus.SESSION
        session.session_started_at = _now() - timedelta(minutes=3)
        db.session.commit()
        return session.id


def _call(api_as, session_id: int, client_id: str = "phone-1") -> int:
    """The patient presses Call staff in session mode."""
    api = api_as("patient@demo.test")
    response = api.post(
        f"/api/v1/sessions/{session_id}/call-staff",
        json={"client_id": client_id},
    )
    assert response.status_code == 201
    return response.json["alert"]["id"]


def _staff(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def _acknowledge(app, alert_id: int, email: str = "therapist2@demo.test") -> None:
    with app.app_context():
        board_actions.acknowledge_call(_staff(email), alert_id)


def _resolve(app, alert_id: int, email: str = "admin@demo.test") -> None:
    with app.app_context():
        board_actions.resolve_call(_staff(email), alert_id, "Sat with Pat; water given.")


def _alert(app, alert_id: int) -> Alert:
    with app.app_context():
        alert = db.session.get(Alert, alert_id)
        db.session.expunge(alert)
        return alert


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _calls_both_ways(api_as, session_id: int, email: str = "patient@demo.test") -> list[dict]:
    """The calls from the session's detail, checked equal to the light calls endpoint."""
    api = api_as(email)
    detail = api.get(f"/api/v1/sessions/{session_id}")
    light = api.get(f"/api/v1/sessions/{session_id}/calls")
    assert detail.status_code == light.status_code == 200
    assert detail.json["calls"] == detail.json["session"]["calls"] == light.json["calls"]
    assert set(light.json) == {"calls"}
    return light.json["calls"]


# --- The API ---------------------------------------------------------------------------------


def test_patient_reads_a_new_call_as_sent(api_as, app, people, session_id):
    """Stored but not acknowledged: status sent, nobody named, in the detail and the poll."""
    assert _calls_both_ways(api_as, session_id) == []
    alert_id = _call(api_as, session_id)
    alert = _alert(app, alert_id)
    assert _calls_both_ways(api_as, session_id) == [
        {
            "id": alert_id,
            "status": "sent",
            "created_at": _iso(alert.created_at),
            "acknowledged_at": None,
            "acknowledged_by": None,
            "resolved_at": None,
        }
    ]


def test_patient_reads_who_acknowledged_the_call_and_when(api_as, app, people, session_id):
    """After the board's acknowledgement: status acknowledged, the staff member's name, the time."""
    alert_id = _call(api_as, session_id)
    _acknowledge(app, alert_id, "therapist2@demo.test")  # outside Pat's care team: the board
    alert = _alert(app, alert_id)
    (call,) = _calls_both_ways(api_as, session_id)
    assert call["status"] == "acknowledged"
    assert call["acknowledged_by"] == "Dr. Sam Okafor"
    assert call["acknowledged_at"] == _iso(alert.acknowledged_at)
    assert call["resolved_at"] is None


def test_patient_reads_a_resolved_call_without_the_staff_note(api_as, app, people, session_id):
    """Resolved: status resolved with its time; staff's note on what was done stays with staff."""
    alert_id = _call(api_as, session_id)
    _acknowledge(app, alert_id, "therapist@demo.test")
    _resolve(app, alert_id, "admin@demo.test")
    alert = _alert(app, alert_id)
    api = api_as("patient@demo.test")
    body = api.get(f"/api/v1/sessions/{session_id}").text
    assert "water given" not in body
    (call,) = _calls_both_ways(api_as, session_id)
    assert call["status"] == "resolved"
    assert call["resolved_at"] == _iso(alert.resolved_at)
    assert call["acknowledged_by"] == "Dr. Tess Rivera"  # the first to say they were on it


def test_resolving_an_unacknowledged_call_names_who_resolved_it(api_as, app, people, session_id):
    """Resolved straight from the board: the resolver counts as having acknowledged it."""
    alert_id = _call(api_as, session_id)
    _resolve(app, alert_id, "admin@demo.test")
    (call,) = _calls_both_ways(api_as, session_id)
    assert call["status"] == "resolved"
    assert call["acknowledged_by"] == "Avery Admin"


def test_calls_are_this_sessions_only_and_oldest_first(api_as, app, people, session_id):
    """Two calls in order; a call from another session of the same patient is not listed."""
    first = _call(api_as, session_id, "phone-1")
    second = _call(api_as, session_id, "phone-2")
    with app.app_context():
        other_session = db.session.scalar(
            select(TreatmentSession.id).where(
                TreatmentSession.patient_id == people["patient@demo.test"].id,
                TreatmentSession.id != session_id,
            )
        )
    _call(api_as, other_session, "phone-3")
    _acknowledge(app, first)
    calls = _calls_both_ways(api_as, session_id)
    assert [(c["id"], c["status"]) for c in calls] == [(first, "acknowledged"), (second, "sent")]


def test_call_staff_answer_carries_the_calls_state(api_as, app, people, session_id):
    """POST call-staff answers the new call as sent; a retry after acknowledgement says so."""
    api = api_as("patient@demo.test")
    url = f"/api/v1/sessions/{session_id}/call-staff"
    created = api.post(url, json={"client_id": "retry-1"})
    assert created.status_code == 201
    assert created.json["call"]["status"] == "sent"
    assert created.json["call"]["id"] == created.json["alert"]["id"]
    _acknowledge(app, created.json["alert"]["id"], "therapist@demo.test")
    again = api.post(url, json={"client_id": "retry-1"})
    assert again.status_code == 200
    assert again.json["call"]["status"] == "acknowledged"
    assert again.json["call"]["acknowledged_by"] == "Dr. Tess Rivera"


def test_a_call_from_a_phone_set_to_2030_is_stamped_now_and_a_later_call_is_latest(
    api_as, app, people, session_id
):
    """POST call-staff with at in 2030: created_at is the server's time, so the next call is
    the newest one the phone shows, not the 2030 one forever."""
    api = api_as("patient@demo.test")
    url = f"/api/v1/sessions/{session_id}/call-staff"
    before = _now().replace(microsecond=0)
    future = api.post(url, json={"client_id": "fast-clock", "at": "2030-01-01T12:00:00Z"})
    assert future.status_code == 201
    stamped = datetime.fromisoformat(future.json["call"]["created_at"].replace("Z", "+00:00"))
    assert before <= stamped <= _now()
    later = _call(api_as, session_id, "next-call")
    assert [c["id"] for c in _calls_both_ways(api_as, session_id)][-1] == later


@pytest.mark.parametrize("email", ["therapist@demo.test", "admin@demo.test"])
def test_care_team_and_admin_read_the_calls(api_as, people, session_id, email):
    """Whoever may read the session reads its calls."""
    alert_id = _call(api_as, session_id)
    assert [c["id"] for c in _calls_both_ways(api_as, session_id, email)] == [alert_id]


@pytest.mark.parametrize(
    "email",
    [
        "patient2@demo.test",  # another patient of the clinic
        "therapist2@demo.test",  # not in the care team (the board is another matter)
        "patient@other.test",
        "therapist@other.test",
        "admin@other.test",
    ],
)
def test_others_cannot_read_the_calls(api_as, app, people, session_id, email):
    """Another patient, a therapist outside the team and another clinic: 404 like a missing id."""
    _call(api_as, session_id)
    api = api_as(email)
    hidden = api.get(f"/api/v1/sessions/{session_id}/calls")
    missing = api.get("/api/v1/sessions/987654/calls")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json == missing.json


def test_signed_out_polling_is_401(client, session_id):
    """No sign-in, no calls."""
    response = client.get(f"/api/v1/sessions/{session_id}/calls")
    assert response.status_code == 401
    assert response.json["error"]["code"]


def test_session_detail_statements_do_not_grow_with_calls(api_as, app, people, session_id):
    """GET /sessions/{id} runs as many SQL statements with three calls as with none."""
    api = api_as("patient@demo.test")

    def statements() -> int:
        seen = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert api.get(f"/api/v1/sessions/{session_id}").status_code == 200
        finally:
            with app.app_context():
                event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    statements()  # warm: the first request of a sign-in may touch more
    before = statements()
    first = _call(api_as, session_id, "phone-1")
    second = _call(api_as, session_id, "phone-2")
    _call(api_as, session_id, "phone-3")
    _acknowledge(app, first, "therapist@demo.test")
    _acknowledge(app, second, "therapist2@demo.test")
    assert statements() == before


# --- Session mode: the data block and the page without JavaScript ----------------------------


def _session_mode(client, session_id: int) -> str:
    response = client.get(f"/patient/sessions/{session_id}/mode")
    assert response.status_code == 200
    return response.text


def _noscript(page: str) -> str:
    return page.split("<noscript>", 1)[1].split("</noscript>", 1)[0]


def _press_call_staff_now(client, session_id: int) -> str:
    """The no-JavaScript form post, then the page it redirects to."""
    page = _session_mode(client, session_id)
    response = client.post(
        f"/patient/sessions/{session_id}/call-staff", data={"csrf_token": csrf_from(page)}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/patient/sessions/{session_id}/mode#call"
    return _session_mode(client, session_id)


def _status(page: str) -> str:
    match = re.search(r'<p class="sm-staff__status" id="call-status" role="status">(.*?)</p>', page)
    assert match, "no call status on the page"
    return match.group(1)


def test_data_block_carries_the_clinic_phone_and_the_calls(api_as, client, auth, session_id):
    """Session mode's data (and the API's copy the phone stores) has the clinic's phone."""
    api = api_as("patient@demo.test")
    assert api.get(f"/api/v1/sessions/{session_id}").json["clinic_phone"] == "+1 212 555 0142"
    auth.login("patient@demo.test")
    page = _session_mode(client, session_id)
    block = re.search(r'<script type="application/json" id="session-data">(.*?)</script>', page)
    data = json.loads(block.group(1))
    assert data["clinic_phone"] == "+1 212 555 0142"
    assert data["urls"]["calls"] == f"/api/v1/sessions/{session_id}/calls"
    assert data["calls"] == []
    assert 'id="call-status"' not in page  # no call yet, nothing to report


def test_without_javascript_a_call_reads_sent_until_staff_acknowledge(
    app, client, auth, people, session_id
):
    """The no-JS post records one call; the page says Sent — waiting, never "on the way"."""
    auth.login("patient@demo.test")
    page = _press_call_staff_now(client, session_id)
    with app.app_context():
        alerts = db.session.scalars(select(Alert).where(Alert.session_id == session_id)).all()
        assert len(alerts) == 1 and alerts[0].acknowledged_at is None
    assert _status(page) == "Sent — waiting for staff"
    assert "on the way" not in page
    assert "Check again for an answer" in _noscript(page)


def test_without_javascript_the_page_names_who_acknowledged_and_when(
    app, client, auth, people, session_id
):
    """Acknowledged: the staff member's name and the time in the clinic's zone."""
    auth.login("patient@demo.test")
    _press_call_staff_now(client, session_id)
    with app.app_context():
        alert_id = db.session.scalar(select(Alert.id).where(Alert.session_id == session_id))
    _acknowledge(app, alert_id, "therapist@demo.test")
    clock = to_local(_alert(app, alert_id).acknowledged_at, ZONE).strftime("%H:%M")
    page = _session_mode(client, session_id)
    assert _status(page) == f"Staff have seen your call — Dr. Tess Rivera, {clock}"


def test_without_javascript_a_closed_call_says_when(app, client, auth, people, session_id):
    """Resolved: closed by staff at the clinic's local time; no more "check again"."""
    auth.login("patient@demo.test")
    _press_call_staff_now(client, session_id)
    with app.app_context():
        alert_id = db.session.scalar(select(Alert.id).where(Alert.session_id == session_id))
    _resolve(app, alert_id)
    clock = to_local(_alert(app, alert_id).resolved_at, ZONE).strftime("%H:%M")
    page = _session_mode(client, session_id)
    assert _status(page) == f"Your call was closed by staff at {clock}"
    assert "Check again for an answer" not in page


def test_without_javascript_an_expired_form_does_not_pretend(app, client, auth, session_id):
    """A stale CSRF token records nothing, and the answer says the form was not sent."""
    auth.login("patient@demo.test")
    response = client.post(
        f"/patient/sessions/{session_id}/call-staff", data={"csrf_token": "stale"}
    )
    assert response.status_code == 400
    assert "This form expired before it was sent" in response.text
    assert "waiting for staff" not in response.text and "on the way" not in response.text
    with app.app_context():
        assert db.session.scalar(select(Alert.id).where(Alert.session_id == session_id)) is None


# --- The board -------------------------------------------------------------------------------


def test_board_lists_unacknowledged_calls_above_acknowledged_ones(api_as, app, people, session_id):
    """A new call goes on top of one already acknowledged; both stay until resolved."""
    from kap.services.board.today import board_for

    first = _call(api_as, session_id, "phone-1")
    _acknowledge(app, first)
    second = _call(api_as, session_id, "phone-2")
    with app.app_context():
        board = board_for(_staff("therapist@demo.test"))
        assert [(c.alert.id, c.acknowledged_by) for c in board.calls] == [
            (second, ""),
            (first, "Dr. Sam Okafor"),
        ]


def test_board_offers_the_call_sound_only_with_javascript(client, auth, session_id):
    """The sound button starts hidden (board.js shows it); its label asks to turn sound on."""
    auth.login("therapist@demo.test")
    page = client.get("/board/").text
    assert (
        '<button type="button" class="button" data-call-sound aria-pressed="false" hidden>'
        "Turn on call sound</button>"
    ) in page
