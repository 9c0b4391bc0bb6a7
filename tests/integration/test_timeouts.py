"""Idle and absolute session timeouts, enforced by the server; the clock is moved by freezegun."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from flask import render_template
from freezegun import freeze_time

from kap.extensions import db
from kap.models import AuditEvent, TreatmentSession


@pytest.fixture
def clock():
    """A frozen clock the test moves forward with ``clock.tick(timedelta(...))``.

    It starts at the real time, so nothing stored before (rate-limit windows) is in its future.
    """
    with freeze_time(datetime.now(UTC)) as frozen:
        yield frozen


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


@pytest.mark.parametrize(
    ("email", "home", "limit"),
    [("therapist@demo.test", "/therapist/", 15), ("patient@demo.test", "/patient/", 30)],
)
def test_idle_session_is_signed_out_after_the_role_limit(
    client, auth, people, clock, email, home, limit
):
    """Clinicians go after 15 quiet minutes, patients after 30, with a message saying why."""
    auth.login(email)
    clock.tick(minutes(limit - 1))
    assert client.get(home).status_code == 200  # one minute short: still signed in
    clock.tick(minutes(limit))
    response = client.get(home)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/signin?next={home}"
    page = client.get(response.headers["Location"])
    assert f"You were signed out after {limit} minutes without activity." in page.text
    assert client.get(home).status_code == 302  # the session is really gone


def test_idle_api_answers_401_session_expired(client, auth, people, clock):
    """The API answers a timed-out session with 401 and the code session_expired."""
    auth.api_login("therapist@demo.test")
    clock.tick(minutes(16))
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "session_expired"
    assert client.get("/api/v1/me").json["error"]["code"] == "unauthenticated"


def test_signing_in_again_after_a_timeout_works_at_once(client, auth, people, clock):
    """A timed-out session does not get in the way of the next sign-in (page or API)."""
    auth.api_login("therapist@demo.test")
    clock.tick(minutes(16))
    assert auth.api_login("therapist@demo.test").status_code == 200
    clock.tick(minutes(16))
    response = auth.login("therapist@demo.test")
    assert response.headers["Location"] == "/therapist/"
    assert client.get("/therapist/").status_code == 200


def test_timeout_is_audited(app, client, auth, therapist, clock):
    """An idle sign-out leaves a signin.timeout event for the person."""
    auth.login(therapist.email)
    clock.tick(minutes(20))
    client.get("/therapist/")
    with app.app_context():
        event = db.session.scalar(
            db.select(AuditEvent).where(AuditEvent.action == "signin.timeout")
        )
    assert event is not None and event.actor_id == therapist.id and event.detail == "idle"


def test_timed_out_form_post_goes_to_sign_in_without_next(client, auth, patient, clock):
    """A form sent after the limit is not carried out; the person signs in again."""
    auth.login(patient.email)
    page = client.get("/patient/journal/new")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    clock.tick(minutes(31))
    response = client.post(
        "/patient/journal/new", data={"csrf_token": token, "body": "kept?", "mood": ""}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/signin"


def test_activity_keeps_a_session_alive(client, auth, therapist, clock):
    """A request every few minutes keeps a clinician signed in well past 15 minutes."""
    auth.login(therapist.email)
    for _ in range(8):
        clock.tick(minutes(10))
        assert client.get("/therapist/").status_code == 200


def test_passive_requests_do_not_count_as_activity(client, auth, therapist, clock):
    """Background polling (X-KAP-Passive) is answered but does not keep a session alive."""
    auth.login(therapist.email)
    assert client.get("/therapist/").status_code == 200
    for _ in range(2):
        clock.tick(minutes(7))
        assert client.get("/api/v1/me", headers={"X-KAP-Passive": "1"}).status_code == 200
    clock.tick(minutes(1))
    assert client.get("/therapist/").status_code == 302


def _set_status(app, patient_id: int, status: str) -> None:
    with app.app_context():
        session = db.session.scalar(
            db.select(TreatmentSession)
            .where(TreatmentSession.patient_id == patient_id)
            .order_by(TreatmentSession.scheduled_at.desc())
        )
        session.status = status
        if status in ("session", "downtime"):
            session.session_started_at = datetime.now(UTC)
        db.session.commit()


@pytest.mark.parametrize("phase", ["session", "downtime"])
def test_patient_in_session_mode_is_never_idle_signed_out(app, client, auth, patient, clock, phase):
    """While session mode runs (session or downtime phase), quiet hours do not sign out."""
    auth.login(patient.email)
    _set_status(app, patient.id, phase)
    clock.tick(minutes(90))
    assert client.get("/api/v1/me").status_code == 200
    _set_status(app, patient.id, "integration")
    clock.tick(minutes(31))
    assert client.get("/api/v1/me").status_code == 401


def test_session_mode_left_running_keeps_no_one_signed_in_for_hours(
    app, client, auth, patient, clock
):
    """A phone that never sent Finish: the exemption ends with the template's own length (IV:
    41 minutes of music, 60 of downtime, 60 of observation) plus 30 minutes' grace."""
    auth.login(patient.email)
    _set_status(app, patient.id, "downtime")
    for _ in range(2):  # 2 h 10 min, each quiet stretch past the 30-minute idle limit
        clock.tick(minutes(65))
        assert client.get("/api/v1/me").status_code == 200
    clock.tick(minutes(65))  # 3 h 15 min: past 40 + 60 + 60 + 30 minutes
    assert client.get("/api/v1/me").status_code == 401


def test_absolute_lifetime_ends_even_an_active_session(client, auth, patient, clock):
    """However active, a session ends 12 hours after sign-in."""
    auth.login(patient.email)
    for _ in range(28):  # 28 times 25 minutes = 11 h 40 min
        clock.tick(minutes(25))
        assert client.get("/api/v1/me").status_code == 200
    clock.tick(minutes(25))
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/patient/").status_code == 302


def test_absolute_lifetime_follows_the_config(app, client, auth, patient, clock):
    """A lowered SESSION_ABSOLUTE_HOURS ends older sessions with a message (and an audit)."""
    auth.login(patient.email)
    app.config["SESSION_ABSOLUTE_HOURS"] = 1
    for _ in range(3):
        clock.tick(minutes(25))
        client.get("/patient/")
    response = client.get("/patient/")
    assert response.headers["Location"].startswith("/signin")
    assert "a session lasts at most 1 hour." in client.get(response.headers["Location"]).text


# --- The warning a minute before (static/js/pages/idle.js) ------------------------------------


def _partial(app, client, path: str) -> str:
    """The idle-warning partial as rendered for this client's session on ``path``."""
    cookies = "; ".join(
        f"{name}={cookie.value}"
        for name in ("kap_session", "kap_session_anon")
        if (cookie := client.get_cookie(name)) is not None
    )
    with app.test_request_context(path, headers={"Cookie": cookies}):
        return render_template("_partials/idle_warning.html")


@pytest.mark.parametrize(
    ("email", "path", "limit"),
    [("therapist@demo.test", "/therapist/", 900), ("patient@demo.test", "/patient/", 1800)],
)
def test_warning_carries_the_limit_for_the_script(app, client, auth, people, email, path, limit):
    """Signed-in pages get the dialog with the role's limit and the module script (no inline JS)."""
    auth.login(email)
    html = _partial(app, client, path)
    assert f'data-idle-limit="{limit}"' in html
    remaining = int(re.search(r'data-idle-remaining="(\d+)"', html).group(1))
    assert limit - 60 <= remaining <= limit
    assert 'data-ping-url="/api/v1/me"' in html
    assert ">Stay signed in</button>" in html
    assert re.search(r'<script type="module" src="/static/js/pages/idle\.js[^"]*"></script>', html)
    assert "<script>" not in html


def test_no_warning_when_signed_out_or_in_session_mode(app, client, auth, patient):
    """Nothing is rendered for anonymous pages, on session mode, or while it runs."""
    client.get("/signin")
    assert _partial(app, client, "/signin").strip() == ""
    auth.login(patient.email)
    assert _partial(app, client, "/patient/sessions/1/mode").strip() == ""
    _set_status(app, patient.id, "downtime")
    assert _partial(app, client, "/patient/").strip() == ""
