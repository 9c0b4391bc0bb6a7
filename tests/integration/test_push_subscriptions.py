"""POST/DELETE /api/v1/me/push-subscriptions: a device's Web Push subscription, kept safe."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kap.extensions import db
from kap.models import AuditEvent, User
from kap.models.reminders import PushSubscription
from kap.services.reminders.subscriptions import MAX_SUBSCRIPTIONS_PER_USER
from tests.pushreceiver import PushReceiver

URL = "/api/v1/me/push-subscriptions"
FCM = "https://fcm.googleapis.com/fcm/send/"


@pytest.fixture(scope="module")
def receiver():
    """Subscription keys made exactly as a browser makes them (nothing is sent here)."""
    with PushReceiver() as service:
        yield service


def browser_subscription(receiver: PushReceiver, endpoint: str) -> dict:
    """A browser's PushSubscription.toJSON() for ``endpoint``, with real keys."""
    return {**receiver.subscribe(), "endpoint": endpoint}


def stored(app, **where) -> list[PushSubscription]:
    with app.app_context():
        query = select(PushSubscription).filter_by(**where).order_by(PushSubscription.id)
        return list(db.session.scalars(query))


def actions(app, action_prefix: str = "push_subscription.") -> list[tuple[str, int, int | None]]:
    """The push audit rows: (action, clinic_id, patient_id), oldest first."""
    with app.app_context():
        rows = db.session.execute(
            select(AuditEvent.action, AuditEvent.clinic_id, AuditEvent.patient_id)
            .where(AuditEvent.action.startswith(action_prefix))
            .order_by(AuditEvent.id)
        )
        return [tuple(row) for row in rows]


def test_patient_subscribes_then_renews_keys_with_the_same_id(app, api_as, patient, receiver):
    """201 with an id, then the same endpoint with new keys: 200, same id, keys replaced."""
    api = api_as(patient.email)
    first = browser_subscription(receiver, FCM + "device-1")
    created = api.post(URL, json=first)
    assert created.status_code == 201, created.json
    sub_id = created.json["subscription"]["id"]
    assert created.json["subscription"]["created_at"].endswith("Z")
    renewed = {**browser_subscription(receiver, FCM + "device-1")}
    again = api.post(URL, json=renewed)
    assert again.status_code == 200
    assert again.json["subscription"]["id"] == sub_id
    [row] = stored(app, user_id=patient.id)
    assert (row.id, row.p256dh, row.auth) == (
        sub_id,
        renewed["keys"]["p256dh"],
        renewed["keys"]["auth"],
    )
    assert row.endpoint == FCM + "device-1"
    assert [action for action, *_ in actions(app)] == [
        "push_subscription.create",
        "push_subscription.update",
    ]


def test_same_keys_again_change_nothing_and_audit_nothing(app, api_as, patient, receiver):
    """A page that re-sends an unchanged subscription writes no audit row."""
    api = api_as(patient.email)
    body = browser_subscription(receiver, FCM + "same")
    assert api.post(URL, json=body).status_code == 201
    assert api.post(URL, json=body).status_code == 200
    assert [action for action, *_ in actions(app)] == ["push_subscription.create"]


@pytest.mark.parametrize("email", ["therapist@demo.test", "admin@demo.test"])
def test_any_signed_in_role_may_subscribe(people, api_as, email, receiver):
    """DESIGN §4: any signed-in user (a clinician's phone may get their own notices later)."""
    response = api_as(email).post(URL, json=browser_subscription(receiver, FCM + email))
    assert response.status_code == 201


def test_a_write_without_the_csrf_header_is_refused(app, client, api_as, patient, receiver):
    """Signed out or signed in, no X-CSRFToken: 400 csrf_failed, nothing stored (the access
    matrix, with CSRF off, shows signed out is 401)."""
    body = browser_subscription(receiver, FCM + "x")
    for bare_client in (client, api_as(patient.email).client):
        response = bare_client.post(URL, json=body)
        assert response.status_code == 400
        assert response.json["error"]["code"] == "csrf_failed"
    assert stored(app) == []


def test_endpoint_of_another_user_moves_to_the_new_user_and_is_audited(
    app, api_as, patient, patient2, receiver
):
    """A shared device that changed hands: the old user stops getting its notifications."""
    body = browser_subscription(receiver, FCM + "shared-tablet")
    first = api_as(patient.email).post(URL, json=body)
    moved = api_as(patient2.email).post(URL, json=body)
    assert moved.status_code == 200
    assert moved.json["subscription"]["id"] == first.json["subscription"]["id"]
    assert stored(app, user_id=patient.id) == []
    [row] = stored(app, user_id=patient2.id)
    assert row.endpoint == FCM + "shared-tablet"
    assert actions(app)[-1] == ("push_subscription.move", patient2.clinic_id, patient.id)


def test_move_across_clinics_is_in_both_clinics_logs(app, api_as, patient, other_patient, receiver):
    """Each clinic's log shows its patient's device leaving or arriving."""
    body = browser_subscription(receiver, FCM + "kiosk")
    api_as(patient.email).post(URL, json=body)
    assert api_as(other_patient.email).post(URL, json=body).status_code == 200
    moves = [row for row in actions(app) if row[0] == "push_subscription.move"]
    assert sorted(clinic for _, clinic, _ in moves) == sorted(
        [patient.clinic_id, other_patient.clinic_id]
    )


def test_delete_own_subscription_then_404(app, api_as, patient, receiver):
    """DELETE removes it (audited); the same id again is 404."""
    api = api_as(patient.email)
    sub_id = api.post(URL, json=browser_subscription(receiver, FCM + "d"))
    sub_id = sub_id.json["subscription"]["id"]
    assert api.delete(f"{URL}/{sub_id}").json == {"status": "deleted"}
    assert stored(app, user_id=patient.id) == []
    assert api.delete(f"{URL}/{sub_id}").status_code == 404
    assert actions(app)[-1][0] == "push_subscription.delete"


def test_another_users_subscription_is_404_and_kept(app, api_as, patient, patient2, receiver):
    """Not yours: 404 (not 403), and it stays."""
    sub_id = api_as(patient.email).post(URL, json=browser_subscription(receiver, FCM + "mine"))
    sub_id = sub_id.json["subscription"]["id"]
    response = api_as(patient2.email).delete(f"{URL}/{sub_id}")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"
    assert len(stored(app, user_id=patient.id)) == 1


def test_oldest_devices_go_beyond_the_limit(app, api_as, patient, receiver):
    """The eleventh device drops the first one."""
    api = api_as(patient.email)
    ids = [
        api.post(URL, json=browser_subscription(receiver, f"{FCM}n{n}")).json["subscription"]["id"]
        for n in range(MAX_SUBSCRIPTIONS_PER_USER + 1)
    ]
    assert [row.id for row in stored(app, user_id=patient.id)] == ids[1:]


def test_deleting_a_user_deletes_their_subscriptions(app, people, receiver):
    """The foreign key cascades (SQLite with foreign_keys on, and PostgreSQL)."""
    from kap.models import Clinic
    from kap.services.people.accounts import create_user
    from kap.services.reminders.subscriptions import save_subscription

    body = browser_subscription(receiver, FCM + "gone")
    with app.app_context():
        clinic = db.session.scalars(select(Clinic).order_by(Clinic.id)).first()
        user = create_user(clinic, email="leaving@demo.test", name="Leaving", role="patient")
        keys = body["keys"]
        save_subscription(user, endpoint=body["endpoint"], p256dh=keys["p256dh"], auth=keys["auth"])
        user_id = user.id
        db.session.execute(db.delete(AuditEvent).where(AuditEvent.actor_id == user_id))
        db.session.execute(db.delete(User).where(User.id == user_id))
        db.session.commit()
    assert stored(app, user_id=user_id) == []
    assert stored(app) == []


def test_deleting_a_patients_data_forgets_their_devices(app, api_as, patient, admin, receiver):
    """The clinic's deletion keeps the user row (a pseudonym), so their devices are removed
    explicitly: no notification reaches a deleted patient's phone."""
    from kap.services.people.data_rights import delete_patient_data

    api_as(patient.email).post(URL, json=browser_subscription(receiver, FCM + "deleted"))
    api_as("patient2@demo.test").post(URL, json=browser_subscription(receiver, FCM + "kept"))
    with app.app_context():
        delete_patient_data(db.session.get(User, admin.id), patient.id, "DELETE")
    assert stored(app, user_id=patient.id) == []
    assert [row.endpoint for row in stored(app)] == [FCM + "kept"]  # another patient's


def _bad(receiver, **change):
    body = browser_subscription(receiver, FCM + "bad")
    keys = {**body["keys"], **change.pop("keys", {})}
    return {**body, "keys": keys, **change}


P256_NOT_ON_CURVE = "B" + "A" * 86  # 0x04 then zeros: 65 bytes, not a curve point


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"endpoint": "http://fcm.googleapis.com/fcm/send/x"}, "endpoint"),
        ({"endpoint": "https://10.0.0.1/push"}, "endpoint"),
        ({"endpoint": "https://169.254.169.254/latest/meta-data"}, "endpoint"),
        ({"endpoint": "https://fcm.googleapis.com@127.0.0.1/x"}, "endpoint"),
        ({"endpoint": "https://fcm.googleapis.com.evil.example/x"}, "endpoint"),
        ({"endpoint": "https://push.apple.com.evil.example/x"}, "endpoint"),
        ({"endpoint": "http://127.0.0.1:9/push/x"}, "endpoint"),
        ({"endpoint": FCM + "x" * 2000}, "endpoint"),
        ({"endpoint": None}, "endpoint"),
        ({"endpoint": 5}, "endpoint"),
        ({"keys": {"p256dh": "not base64!"}}, "keys.p256dh"),
        ({"keys": {"p256dh": "BAAA"}}, "keys.p256dh"),
        ({"keys": {"p256dh": P256_NOT_ON_CURVE}}, "keys.p256dh"),
        ({"keys": {"p256dh": None}}, "keys.p256dh"),
        ({"keys": {"auth": "AAAA"}}, "keys.auth"),
        ({"keys": {"auth": "A" * 5000}}, "keys.auth"),
        ({"keys": {"auth": ["x"]}}, "keys.auth"),
    ],
)
def test_bad_subscriptions_are_refused_with_the_field_named(
    app, api_as, patient, receiver, change, field
):
    """400 in DESIGN §4's format, naming the field; nothing stored."""
    response = api_as(patient.email).post(URL, json=_bad(receiver, **change))
    assert response.status_code == 400
    error = response.json["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"]
    assert error["message"]
    assert stored(app) == []


@pytest.mark.parametrize("body", [{}, {"endpoint": FCM + "k", "keys": "x"}, {"keys": {}}])
def test_missing_parts_are_refused(api_as, patient, body):
    """No endpoint or no keys: 400 naming them."""
    response = api_as(patient.email).post(URL, json=body)
    assert response.status_code == 400
    assert response.json["error"]["fields"]


def test_allowed_subdomain_and_http_for_the_tests_local_service(app, api_as, patient, receiver):
    """*.push.apple.com takes Apple's hosts; http://127.0.0.1 only when listed, never in
    production."""
    api = api_as(patient.email)
    apple = browser_subscription(receiver, "https://web.push.apple.com/QGx")
    assert api.post(URL, json=apple).status_code == 201
    local = receiver.subscribe()
    assert api.post(URL, json=local).status_code == 400
    app.config["PUSH_ALLOWED_HOSTS"] += ",http://127.0.0.1"
    assert api.post(URL, json=local).status_code == 201
    app.config["ENV_NAME"] = "production"
    assert api.post(URL, json=receiver.subscribe()).status_code == 400


def test_opt_in_partial_carries_the_vapid_key_and_loads_its_module(app, patient):
    """The partial hands the page the server's public key and the API URL, and loads its
    script as a module (CSP: no inline script); without a key it offers no button."""
    from types import SimpleNamespace

    from flask import render_template

    from kap.services.reminders.vapid import application_server_key

    with app.test_request_context():
        html = render_template("patient/_push_optin.html", prefs=SimpleNamespace(push=True))
        key = application_server_key()
        app.config["VAPID_PRIVATE_KEY"] = ""
        without_key = render_template("patient/_push_optin.html", prefs=SimpleNamespace(push=False))
    assert f'data-application-server-key="{key}"' in html
    assert f'data-subscriptions-url="{URL}"' in html
    assert "Turn on notifications on this device" in html
    assert '<script type="module" src="/static/js/pages/push-optin.js' in html
    assert "data-push-channel-off" not in html
    assert "Turn on notifications" not in without_key
    assert "not set up to send notifications" in without_key
    assert "data-push-channel-off" in without_key
