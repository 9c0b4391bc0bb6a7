"""Two-step sign-in (TOTP and recovery codes) through the real, CSRF-protected pages and the API."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from freezegun import freeze_time

from kap.demo.seed import DEMO_ACCOUNTS, DEMO_PASSWORD
from kap.extensions import db
from kap.models import AuditEvent, Clinic, RecoveryCode, Role, User
from kap.models.base import utcnow
from kap.services.auth import recovery_codes
from kap.services.people.accounts import create_user
from kap.services.people.invitations import invite_person
from tests.helpers import Auth, csrf_from

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
STAFF_PASSWORD = "quiet lantern harbour seventeen"
DEMO_HOMES = {"patient": "/patient/", "therapist": "/therapist/", "clinic_admin": "/clinic/"}


def now_code(secret: str = SECRET, steps: int = 0) -> str:
    """The code an authenticator app shows now (or ``steps`` steps later)."""
    return pyotp.TOTP(secret).at(datetime.now(UTC) + timedelta(seconds=30 * steps))


def submit(client, page_url: str, data: dict, post_url: str | None = None):
    """GET a page, then POST ``data`` with its CSRF token (as a browser would)."""
    page = client.get(page_url)
    assert page.status_code == 200, page.status_code
    return client.post(post_url or page_url, data={"csrf_token": csrf_from(page.text), **data})


def turn_on(app, user_id: int) -> list[str]:
    """Give a user a working authenticator with SECRET (no step used yet) and recovery codes."""
    with app.app_context():
        user = db.session.get(User, user_id)
        user.totp_secret = SECRET
        user.totp_enabled_at = utcnow()
        user.totp_last_step = None
        codes = recovery_codes.replace_recovery_codes(user)
        db.session.commit()
        return codes


def audit_actions(app, user_id: int) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                db.select(AuditEvent.action)
                .where(AuditEvent.actor_id == user_id)
                .order_by(AuditEvent.id)
            )
        )


@pytest.fixture
def strict_clinic(app, people):
    """A clinic with the default rule (clinicians must use a second factor) and its staff."""
    with app.app_context():
        clinic = Clinic(name="Strict Clinic", slug="strict")
        db.session.add(clinic)
        db.session.flush()
        therapist = create_user(
            clinic, email="t@strict.test", name="Tam", role=Role.THERAPIST, password=STAFF_PASSWORD
        )
        admin = create_user(
            clinic, email="a@strict.test", name="Ash", role=Role.CLINIC_ADMIN, password="x" * 16
        )
        db.session.commit()
        assert clinic.require_clinician_second_factor is True
        return {"clinic_id": clinic.id, "therapist_id": therapist.id, "admin_id": admin.id}


# --- Demo accounts: password only (DESIGN §4) ---------------------------------------------------


@pytest.mark.parametrize("account", DEMO_ACCOUNTS, ids=lambda a: a.email)
def test_demo_accounts_sign_in_with_password_only_on_the_page(client, auth, people, account):
    """Every demo account reaches its home with email and password alone."""
    response = auth.login(account.email)
    assert response.status_code == 302
    assert response.headers["Location"] == DEMO_HOMES[account.role]
    assert client.get(DEMO_HOMES[account.role]).status_code == 200


@pytest.mark.parametrize("account", DEMO_ACCOUNTS, ids=lambda a: a.email)
def test_demo_accounts_sign_in_with_password_only_through_the_api(client, auth, people, account):
    """POST /api/v1/session {email, password} answers 200 for every demo account."""
    response = auth.api_login(account.email)
    assert response.status_code == 200
    assert client.get("/api/v1/me").status_code == 200


# --- Enrolment ----------------------------------------------------------------------------------


def enrol_through_forms(client) -> list[str]:
    """Set up an authenticator as a person does: read the key off the page, type a code."""
    page = client.get("/account/security/setup")
    assert page.status_code == 200
    assert "<svg" in page.text and "<script" not in page.text.split("<svg", 1)[1].split("</svg>")[0]
    key = re.search(r'id="setup-key">([A-Z2-7 ]+)</code>', page.text).group(1).replace(" ", "")
    response = client.post(
        "/account/security/setup",
        data={"csrf_token": csrf_from(page.text), "code": pyotp.TOTP(key).now()},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/security/recovery-codes"
    shown = client.get("/account/security/recovery-codes")
    assert shown.status_code == 200
    return re.findall(r"<li><code>([0-9a-z]{5}-[0-9a-z]{5})</code></li>", shown.text)


def test_patient_opts_in_through_the_real_forms(app, client, auth, patient):
    """A patient turns two-step sign-in on: QR and key, a first code, ten codes shown once."""
    auth.login(patient.email)
    assert "<strong>Off.</strong>" in client.get("/account/security").text
    codes = enrol_through_forms(client)
    assert len(codes) == 10 and len(set(codes)) == 10
    again = client.get("/account/security/recovery-codes")
    assert again.status_code == 302  # shown once only
    assert "10 of 10 recovery codes left" in client.get("/account/security").text
    with app.app_context():
        user = db.session.get(User, patient.id)
        assert user.totp_enabled_at is not None and user.totp_last_step is not None
        assert user.totp_secret_encrypted.startswith("v1:")  # encrypted at rest
        hashes = db.session.scalars(
            db.select(RecoveryCode.code_hash).where(RecoveryCode.user_id == patient.id)
        ).all()
        assert len(hashes) == 10
        assert not {h for h in hashes for c in codes if c.replace("-", "") in h}
    assert "second_factor.enroll" in audit_actions(app, patient.id)


def test_wrong_first_code_leaves_the_factor_off(app, client, auth, patient):
    """A code that does not match the new key is refused and nothing is turned on."""
    auth.login(patient.email)
    response = submit(client, "/account/security/setup", {"code": "000000"})
    assert response.status_code == 401
    assert "That code did not match" in response.text
    with app.app_context():
        assert db.session.get(User, patient.id).totp_enabled_at is None


def test_enrolment_ends_the_other_sessions(page_as, client, auth, patient):
    """Turning the factor on signs out every other session of that person, not this one."""
    other = page_as(patient.email)
    auth.login(patient.email)
    enrol_through_forms(client)
    assert other.get("/patient/").status_code == 302
    assert client.get("/patient/").status_code == 200


def test_password_change_ends_the_other_sessions(page_as, app, client, auth, patient):
    """Changing the password through the form keeps this session and ends the others."""
    other = page_as(patient.email)
    auth.login(patient.email)
    new = "a brand new passphrase here"
    response = submit(
        client,
        "/account/security",
        {
            "password-current_password": DEMO_PASSWORD,
            "password-new_password": new,
            "password-confirm": new,
        },
        "/account/security/password",
    )
    assert response.status_code == 302
    assert other.get("/patient/").status_code == 302
    assert client.get("/patient/").status_code == 200
    assert Auth(app.test_client()).api_login(patient.email, new).status_code == 200


def test_password_change_needs_the_current_password(client, auth, patient):
    """A wrong current password changes nothing."""
    auth.login(patient.email)
    response = submit(
        client,
        "/account/security",
        {
            "password-current_password": "not it",
            "password-new_password": "another long passphrase",
            "password-confirm": "another long passphrase",
        },
        "/account/security/password",
    )
    assert response.status_code == 400
    assert "That is not your current password." in response.text


# --- Signing in with a code --------------------------------------------------------------------


def test_sign_in_page_asks_for_a_code_before_signing_in(app, client, auth, patient):
    """After the password the person is not signed in until the authenticator code is right."""
    turn_on(app, patient.id)
    response = auth.login(patient.email, next="/patient/journal")
    assert response.headers["Location"] == "/signin/code"
    assert client.get("/patient/").status_code == 302  # not signed in yet
    page = client.get("/signin/code")
    assert re.search(r'<label[^>]*for="code"[^>]*>Authentication code</label>', page.text)
    assert ">Use a recovery code</a>" in page.text
    wrong = submit(client, "/signin/code", {"code": "000000"})
    assert wrong.status_code == 401
    assert client.get("/patient/").status_code == 302
    right = submit(client, "/signin/code", {"code": now_code()})
    assert right.status_code == 302
    assert right.headers["Location"] == "/patient/journal"
    assert client.get("/patient/").status_code == 200
    actions = audit_actions(app, patient.id)
    assert "signin.second_factor.failure" in actions
    assert "signin.second_factor.success" in actions


def test_a_code_is_accepted_only_once(app, client, auth, patient):
    """The same code cannot sign in twice, even within its 30 seconds."""
    turn_on(app, patient.id)
    code = now_code()
    auth.login(patient.email)
    assert submit(client, "/signin/code", {"code": code}).status_code == 302
    auth.logout()
    auth.login(patient.email)
    assert submit(client, "/signin/code", {"code": code}).status_code == 401


def test_api_sign_in_needs_the_code_when_the_factor_is_on(app, client, auth, patient):
    """The API answers second_factor_required, then invalid_second_factor, then 200."""
    turn_on(app, patient.id)
    missing = auth.api_login(patient.email)
    assert missing.status_code == 401
    assert missing.json["error"]["code"] == "second_factor_required"
    assert client.get("/api/v1/me").status_code == 401
    body = {"email": patient.email, "password": DEMO_PASSWORD}
    wrong = client.post("/api/v1/session", json={**body, "otp": "000000"})
    assert wrong.status_code == 401
    assert wrong.json["error"]["code"] == "invalid_second_factor"
    right = client.post("/api/v1/session", json={**body, "otp": now_code()})
    assert right.status_code == 200
    assert right.json["user"]["email"] == patient.email
    assert client.get("/api/v1/me").status_code == 200


@pytest.mark.parametrize("bad", [5, ["123456"], "1" * 40])
def test_api_otp_of_the_wrong_type_is_400(client, people, bad):
    """A mistyped otp answers 400 naming the field."""
    response = client.post(
        "/api/v1/session",
        json={"email": "patient@demo.test", "password": DEMO_PASSWORD, "otp": bad},
    )
    assert response.status_code == 400
    assert "otp" in response.json["error"]["fields"]


def test_a_recovery_code_signs_in_once(app, client, auth, patient):
    """A recovery code works in place of the app, once; the API refuses it the second time."""
    codes = turn_on(app, patient.id)
    auth.login(patient.email)
    response = submit(client, "/signin/recovery", {"recovery_code": codes[0].upper()})
    assert response.status_code == 302
    assert "9 left" in client.get("/patient/").text
    auth.logout()
    reuse = client.post(
        "/api/v1/session",
        json={"email": patient.email, "password": DEMO_PASSWORD, "recovery_code": codes[0]},
    )
    assert reuse.status_code == 401
    assert reuse.json["error"]["code"] == "invalid_second_factor"
    fresh = client.post(
        "/api/v1/session",
        json={"email": patient.email, "password": DEMO_PASSWORD, "recovery_code": codes[1]},
    )
    assert fresh.status_code == 200
    assert audit_actions(app, patient.id).count("second_factor.recovery_code_used") == 2


def test_code_attempts_are_rate_limited_on_the_page(app, client, auth, patient):
    """Five wrong codes, then 429 with Retry-After — even for the right code."""
    turn_on(app, patient.id)
    auth.login(patient.email)
    statuses = [submit(client, "/signin/code", {"code": "000000"}).status_code for _ in range(5)]
    assert statuses == [401] * 5
    limited = submit(client, "/signin/code", {"code": now_code()})
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert client.get("/patient/").status_code == 302


def test_code_attempts_are_rate_limited_in_the_api(app, client, patient):
    """The API counts wrong codes per account and answers 429 rate_limited after five."""
    turn_on(app, patient.id)
    body = {"email": patient.email, "password": DEMO_PASSWORD}
    statuses = [
        client.post("/api/v1/session", json={**body, "otp": "000000"}).status_code for _ in range(6)
    ]
    assert statuses == [401] * 5 + [429]
    response = client.post("/api/v1/session", json={**body, "otp": now_code()})
    assert response.json["error"]["code"] == "rate_limited"


def test_a_half_done_sign_in_expires(app, client, auth, patient):
    """The pending step lasts ten minutes; after that the person starts again."""
    turn_on(app, patient.id)
    start = datetime.now(UTC)
    with freeze_time(start) as clock:
        auth.login(patient.email)
        clock.tick(timedelta(minutes=11))
        response = client.get("/signin/code")
    assert response.status_code == 302
    assert response.headers["Location"] == "/signin"


def test_no_code_or_secret_reaches_the_audit_log(app, client, auth, patient):
    """Audit rows of the whole flow hold neither codes nor the secret."""
    codes = turn_on(app, patient.id)
    auth.login(patient.email)
    code = now_code()
    submit(client, "/signin/code", {"code": "123456"})
    submit(client, "/signin/code", {"code": code})
    with app.app_context():
        rows = db.session.scalars(db.select(AuditEvent)).all()
        text = " ".join(f"{r.action} {r.detail} {r.subject_type}" for r in rows)
    for secret in [SECRET, code, "123456", *codes]:
        assert secret not in text


# --- Changing and turning off ------------------------------------------------------------------


def test_patient_turns_the_factor_off_with_a_code(page_as, app, client, auth, patient):
    """Turning it off needs a current code and ends the other sessions."""
    turn_on(app, patient.id)
    other = page_as(patient.email)
    submit(other, "/signin/code", {"code": now_code()})
    auth.login(patient.email)
    submit(client, "/signin/code", {"code": now_code(steps=1)})
    refused = submit(
        client, "/account/security", {"off-current": "000000"}, "/account/security/turn-off"
    )
    assert refused.status_code == 401
    done = submit(
        client,
        "/account/security",
        {"off-current": now_code(steps=-1)},
        "/account/security/turn-off",
    )
    assert done.status_code == 401  # a step before the last used one: refused
    with app.app_context():
        db.session.execute(db.update(User).where(User.id == patient.id).values(totp_last_step=0))
        db.session.commit()
    done = submit(
        client, "/account/security", {"off-current": now_code()}, "/account/security/turn-off"
    )
    assert done.status_code == 302
    with app.app_context():
        user = db.session.get(User, patient.id)
        assert user.totp_enabled_at is None and user.totp_secret_encrypted is None
    assert other.get("/patient/").status_code == 302
    assert auth.api_login(patient.email).status_code == 200  # password only again


def test_new_recovery_codes_replace_the_old_ones(app, client, auth, patient):
    """Making new codes (with a recovery code as proof) shows ten new ones; old ones stop."""
    old = turn_on(app, patient.id)
    auth.login(patient.email)
    submit(client, "/signin/code", {"code": now_code()})
    response = submit(
        client,
        "/account/security",
        {"codes-current": old[0]},
        "/account/security/recovery-codes/new",
    )
    assert response.headers["Location"] == "/account/security/recovery-codes"
    new = re.findall(r"<code>([0-9a-z-]{11})</code>", client.get(response.headers["Location"]).text)
    assert len(new) == 10 and not set(new) & set(old)
    body = {"email": patient.email, "password": DEMO_PASSWORD}
    assert client.post("/api/v1/session", json={**body, "recovery_code": old[1]}).status_code == 401


# --- Clinics that require a second factor -------------------------------------------------------


def test_clinician_of_a_requiring_clinic_must_enrol_before_any_page(
    app, client, auth, strict_clinic
):
    """After the password a therapist without a factor is sent to set one up, then signed in."""
    response = auth.login("t@strict.test", STAFF_PASSWORD, next="/therapist/")
    assert response.headers["Location"] == "/account/security/setup"
    assert client.get("/therapist/").status_code == 302  # not signed in yet
    assert "no-store" in client.get("/account/security/setup").headers["Cache-Control"]
    codes = enrol_through_forms(client)
    assert len(codes) == 10
    assert client.get("/therapist/").status_code == 200
    api = Auth(app.test_client()).api_login("t@strict.test", STAFF_PASSWORD)
    assert api.json["error"]["code"] == "second_factor_required"


def test_api_tells_an_unenrolled_clinician_to_enrol(client, strict_clinic):
    """The API cannot set up a factor: it answers 401 second_factor_enrollment_required."""
    response = client.post(
        "/api/v1/session", json={"email": "t@strict.test", "password": STAFF_PASSWORD}
    )
    assert response.status_code == 401
    assert response.json["error"]["code"] == "second_factor_enrollment_required"
    assert client.get("/api/v1/me").status_code == 401


def test_signed_in_clinician_is_sent_to_enrol_when_the_clinic_turns_it_on(
    app, client, auth, therapist
):
    """A session that predates the rule reaches only the set-up page (the API answers 403)."""
    auth.login(therapist.email)
    with app.app_context():
        db.session.get(Clinic, therapist.clinic_id).require_clinician_second_factor = True
        db.session.commit()
    page = client.get("/therapist/")
    assert page.status_code == 302
    assert page.headers["Location"] == "/account/security/setup"
    api = client.get("/api/v1/patients")
    assert api.status_code == 403
    assert api.json["error"]["code"] == "second_factor_enrollment_required"
    enrol_through_forms(client)
    assert client.get("/therapist/").status_code == 200


def test_clinician_cannot_turn_off_a_required_factor(app, client, auth, strict_clinic):
    """Where the clinic requires it, the turn-off form is absent and the post is refused."""
    auth.login("t@strict.test", STAFF_PASSWORD)
    enrol_through_forms(client)
    assert "Turn off two-step sign-in" not in client.get("/account/security").text
    response = submit(
        client,
        "/account/security",
        {"off-current": now_code(steps=1)},
        "/account/security/turn-off",
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(User, strict_clinic["therapist_id"]).totp_enabled_at is not None


def test_invited_clinician_of_a_requiring_clinic_enrols_before_the_first_page(
    app, client, strict_clinic
):
    """Accepting an invitation leads a clinician straight to setting up the factor."""
    with app.app_context():
        admin = db.session.get(User, strict_clinic["admin_id"])
        issued = invite_person(
            admin, name="Nia", email="nia@strict.test", role="therapist", link_for=str
        )
        token = issued.token
    password = "violet meadow lantern ninety"
    response = submit(client, f"/invite/{token}", {"password": password, "confirm": password})
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/security/setup"
    assert client.get("/therapist/").status_code == 302
    enrol_through_forms(client)
    assert client.get("/therapist/").status_code == 200
