"""Sign-in and sign-out through the real, CSRF-protected form."""

import re

import pytest

from kap.extensions import db
from kap.models import AuthSession, User
from kap.services.people.accounts import deactivate_user, set_password
from tests.helpers import Auth, csrf_from


@pytest.mark.parametrize(
    ("email", "home"),
    [
        ("patient@demo.test", "/patient/"),
        ("therapist@demo.test", "/therapist/"),
        ("admin@demo.test", "/clinic/"),
    ],
)
def test_each_role_lands_on_its_own_home(client, auth, people, email, home):
    """After signing in, a patient, therapist and admin each land on their home page."""
    response = auth.login(email)
    assert response.status_code == 302
    assert response.headers["Location"] == home
    assert client.get(home).status_code == 200


def test_sign_in_page_has_labelled_fields(client):
    """The form has fields labelled Email and Password and a Sign in button."""
    html = client.get("/signin").text
    assert re.search(r'<label[^>]*for="email"[^>]*>Email</label>', html)
    assert re.search(r'<input[^>]*id="email"', html)
    assert re.search(r'<label[^>]*for="password"[^>]*>Password</label>', html)
    assert re.search(r'<input[^>]*id="password"[^>]*type="password"', html)
    assert ">Sign in</button>" in html


@pytest.mark.parametrize(
    ("email", "password"),
    [("patient@demo.test", "wrong-password"), ("nobody@demo.test", "demo-password")],
)
def test_failed_sign_in_gives_one_generic_message(client, auth, people, email, password):
    """A wrong password and an unknown email read the same: no hint which part was wrong."""
    response = auth.login(email, password)
    assert response.status_code == 401
    assert "That email and password do not match an account." in response.text
    assert "demo-password" not in response.text  # the password is not echoed back
    assert client.get("/patient/").status_code == 302


def test_empty_form_re_renders_with_messages(client, people):
    """Submitting nothing shows which fields are missing."""
    token = csrf_from(client.get("/signin").text)
    response = client.post("/signin", data={"csrf_token": token, "email": "", "password": ""})
    assert response.status_code == 400
    assert "Enter your email." in response.text
    assert "Enter your password." in response.text


def test_form_without_csrf_token_is_refused(client, people):
    """A sign-in post with no CSRF token is refused and signs nobody in."""
    response = client.post(
        "/signin", data={"email": "patient@demo.test", "password": "demo-password"}
    )
    assert response.status_code == 400
    assert client.get("/patient/").status_code == 302


def test_next_on_this_site_is_followed(auth, people):
    """A same-site `next` is where the person goes after signing in."""
    response = auth.login("patient@demo.test", next="/patient/crisis-support")
    assert response.headers["Location"] == "/patient/crisis-support"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example"])
def test_next_to_another_host_is_ignored(auth, people, target):
    """An off-site `next` is dropped in favour of the role's home."""
    response = auth.login("patient@demo.test", next=target)
    assert response.headers["Location"] == "/patient/"


def test_signed_out_visitor_is_sent_to_sign_in_with_next(client, people):
    """Opening a patient page signed out redirects to sign-in, remembering the page."""
    response = client.get("/patient/crisis-support")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/signin?next=/patient/crisis-support")


def test_wrong_role_is_sent_to_its_own_home(client, auth, people):
    """A therapist opening a patient page is redirected to the therapist dashboard."""
    auth.login("therapist@demo.test")
    response = client.get("/patient/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/therapist/"


def test_sign_out_ends_the_session(client, auth, people):
    """After signing out, signed-in pages redirect to sign-in again."""
    auth.login("patient@demo.test")
    response = auth.logout()
    assert response.headers["Location"] == "/signin"
    assert client.get("/patient/").status_code == 302


def test_cookie_copied_before_sign_out_no_longer_works(app, client, auth, people):
    """A session cookie captured before sign-out is refused afterwards (server-side revocation)."""
    auth.login("patient@demo.test")
    stolen = client.get_cookie("kap_session").value
    auth.logout()
    thief = app.test_client()
    thief.set_cookie("kap_session", stolen)
    assert thief.get("/patient/").status_code == 302
    with app.app_context():
        assert (
            db.session.scalar(
                db.select(db.func.count())
                .select_from(AuthSession)
                .where(AuthSession.user_id.is_not(None), AuthSession.revoked_at.is_(None))
            )
            == 0
        )


def test_sign_in_issues_a_new_session_id(client, auth, people):
    """A session id planted before sign-in is never the signed-in one (no session fixation),
    and the anonymous cookie goes once the session has its row."""
    client.set_cookie("kap_session", "planted-by-someone-else")
    client.get("/signin")
    auth.login("patient@demo.test")
    assert client.get_cookie("kap_session").value != "planted-by-someone-else"
    assert client.get_cookie("kap_session_anon") is None
    assert client.get("/patient/").status_code == 200


def test_deactivating_a_user_ends_their_sessions(app, client, auth, people):
    """Deactivation signs the user out everywhere and stops new sign-ins."""
    auth.login("patient@demo.test")
    with app.app_context():
        deactivate_user(db.session.get(User, people["patient@demo.test"].id))
    assert client.get("/patient/").status_code == 302
    assert auth.login("patient@demo.test").status_code == 401


def test_password_change_ends_other_sessions(app, client, auth, people):
    """Changing the password ends every other session of the user."""
    auth.login("patient@demo.test")
    with app.app_context():
        set_password(db.session.get(User, people["patient@demo.test"].id), "a new long passphrase")
    assert client.get("/patient/").status_code == 302
    assert auth.login("patient@demo.test", "a new long passphrase").status_code == 302


def test_account_is_limited_after_five_failures(client, auth, people):
    """The sixth attempt on an account within 15 minutes is refused with 429 and a wait time,
    even with the right password."""
    for _ in range(5):
        assert auth.login("patient@demo.test", "wrong").status_code == 401
    response = auth.login("patient@demo.test")
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.text
    assert int(response.headers["Retry-After"]) > 0
    assert "minute" in response.text


def test_account_limit_does_not_lock_out_other_accounts(auth, people):
    """Failures on one account leave another account on the same address usable."""
    for _ in range(5):
        auth.login("patient@demo.test", "wrong")
    assert auth.login("therapist@demo.test").status_code == 302


def test_client_address_is_limited_after_fifty_failures(app, auth, people):
    """Fifty failures from one address (over many accounts) block that address."""
    for n in range(50):
        assert auth.login(f"nobody{n}@demo.test", "wrong").status_code == 401
    assert auth.login("therapist@demo.test").status_code == 429


def test_successful_sign_ins_do_not_count_against_the_address(app, people):
    """A clinic's staff share one address: many good sign-ins never trip the limit."""
    for _ in range(60):
        client = app.test_client()
        assert Auth(client).login("therapist@demo.test").status_code == 302
