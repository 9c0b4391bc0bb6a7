"""People of a clinic: adding by invitation, setting a password, deactivation, care teams.

Every form is posted through its real page with CSRF on. Database state is read in a fresh
application context after each request, so what is asserted is what was committed.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kap.demo.seed import DEMO_PASSWORD
from kap.extensions import db
from kap.models import AuthSession, CareTeamMember, Invitation, User
from kap.models.base import utcnow
from tests.helpers import Auth, csrf_from

NEW_PASSWORD = "violet kettle harbour lamp"
INVITE_LINK = re.compile(r"http://localhost/invite/([A-Za-z0-9_-]+)")
DEMO_CLINIC_EMAILS = {
    "admin@demo.test",
    "therapist@demo.test",
    "therapist2@demo.test",
    "patient@demo.test",
    "patient2@demo.test",
}
OTHER_CLINIC_EMAILS = {"admin@other.test", "therapist@other.test", "patient@other.test"}
EMAIL_MESSAGE = "Enter an email address, such as name@example.org."


#: The demo clinics and people only: nothing here reads their sessions or journals.
pytestmark = pytest.mark.usefixtures("demo_people_only")


# --- helpers -------------------------------------------------------------------------------


def submit(client, page: str, fields: dict, *, to: str | None = None):
    """Open ``page`` as a browser would and post ``fields`` with its CSRF token."""
    token = csrf_from(client.get(page).text)
    return client.post(to or page, data={"csrf_token": token, **fields})


def add_person(client, *, name="Ada Lovelace", email="ada@demo.test", role="patient"):
    """Fill in the Add-a-person page (the client is signed in as a clinic admin)."""
    return submit(client, "/clinic/people/new", {"name": name, "email": email, "role": role})


def flashes(page_html: str) -> list[str]:
    """The flash messages shown on a page, as text."""
    found = re.findall(r'<p class="flash flash--\w+">(.*?)</p>', page_html, re.S)
    return [html.unescape(text) for text in found]


def field_error(page_html: str, field_id: str) -> str | None:
    """The error shown beside one field, as text (None when the field has none)."""
    match = re.search(rf'id="{re.escape(field_id)}-error">(.*?)</p>', page_html, re.S)
    return html.unescape(match.group(1)) if match else None


def invite(client, auth, *, email="ada@demo.test", role="patient") -> tuple[int, str]:
    """As admin@demo.test, add a person; their id and the token from the link shown."""
    auth.login("admin@demo.test")
    response = add_person(client, email=email, role=role)
    assert response.status_code == 302, response.text
    user_id = int(response.headers["Location"].rsplit("/", 1)[1])
    link = INVITE_LINK.search(" ".join(flashes(client.get(response.headers["Location"]).text)))
    assert link, "the person page shows no invitation link"
    return user_id, link.group(1)


def set_password(client, token: str, password: str, confirm: str | None = None):
    """Fill in the invitation page: the new password twice."""
    confirm = password if confirm is None else confirm
    return submit(client, f"/invite/{token}", {"password": password, "confirm": confirm})


def user_row(app, email: str) -> User | None:
    """The stored account for ``email`` (a detached snapshot), or None."""
    with app.app_context():
        return db.session.scalar(select(User).where(User.email == email))


def user_by_id(app, user_id: int) -> User:
    with app.app_context():
        return db.session.get(User, user_id)


def invitations_of(app, user_id: int) -> list[Invitation]:
    """A person's invitations, oldest first."""
    with app.app_context():
        query = select(Invitation).where(Invitation.user_id == user_id).order_by(Invitation.id)
        return list(db.session.scalars(query))


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def care_team(app, patient_id: int) -> set[int]:
    """The therapist ids in a patient's care team."""
    with app.app_context():
        query = select(CareTeamMember.therapist_id).where(CareTeamMember.patient_id == patient_id)
        return set(db.session.scalars(query))


# --- adding a person and the invitation flow -----------------------------------------------


def test_adding_a_person_creates_an_invited_account_in_the_admins_clinic(app, client, auth, admin):
    """The new account has the chosen role, no password and one unused 7-day invitation."""
    app.config["SMTP_HOST"] = None  # no mail server: the admin passes the link on
    auth.login("admin@demo.test")
    response = add_person(client, name="Ada Lovelace", email="Ada@Demo.test ", role="patient")

    ada = user_row(app, "ada@demo.test")  # stored lower-cased and trimmed
    assert ada is not None
    assert response.status_code == 302
    assert response.headers["Location"] == f"/clinic/people/{ada.id}"
    assert (ada.role, ada.clinic_id, ada.name) == ("patient", admin.clinic_id, "Ada Lovelace")
    assert ada.password_hash is None
    assert ada.active
    [invitation] = invitations_of(app, ada.id)
    assert invitation.used_at is None
    assert invitation.created_by_id == admin.id
    assert abs(invitation.expires_at - (utcnow() + timedelta(days=7))) < timedelta(minutes=1)

    page = client.get(response.headers["Location"]).text
    [message] = flashes(page)
    assert "Invitation link for Ada Lovelace (works once, for 7 days)" in message
    assert INVITE_LINK.search(message)
    assert "Pass it on to them securely." in message  # no SMTP configured: nothing e-mailed
    assert "invited, no password yet" in page
    assert "ada@demo.test" in client.get("/clinic/people?show=patients").text


@pytest.mark.parametrize(
    ("role", "home"),
    [("patient", "/patient/"), ("therapist", "/therapist/"), ("clinic_admin", "/clinic/")],
)
def test_invited_person_sets_a_password_lands_home_and_can_sign_in_later(
    app, client, auth, people, role, home
):
    """Following the link, choosing a password signs the person in; it works again later."""
    user_id, token = invite(client, auth, role=role)
    newcomer = app.test_client()

    page = newcomer.get(f"/invite/{token}")
    assert page.status_code == 200
    assert re.search(r'<label[^>]*for="password"[^>]*>New password</label>', page.text)
    assert re.search(r'<label[^>]*for="confirm"[^>]*>Repeat the password</label>', page.text)
    assert "ada@demo.test" in page.text

    response = set_password(newcomer, token, NEW_PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == home
    landing = newcomer.get(home)
    assert landing.status_code == 200
    assert "Your password is set." in " ".join(flashes(landing.text))
    assert user_by_id(app, user_id).password_hash is not None
    [invitation] = invitations_of(app, user_id)
    assert invitation.used_at is not None

    later = Auth(newcomer)
    later.logout()
    signed_in = later.login("ada@demo.test", NEW_PASSWORD)
    assert signed_in.status_code == 302
    assert signed_in.headers["Location"] == home


@pytest.mark.parametrize(
    ("password", "confirm", "message"),
    [
        ("eleven-char", None, "Use at least 12 characters"),
        ("x" * 1025, None, "1024 characters"),
        ("grace.hopper.rn@demo.test", None, "Do not use your email address as your password."),
        ("Grace.Hopper.RN", None, "Do not use your email address as your password."),
        ("Password1234", None, "That password is too easy to guess"),
        ("QWERTYUIOP12", None, "That password is too easy to guess"),
        ("hoppergrace1", None, "That password is too easy to guess"),  # her own name
        ("iloveyou2026", None, "That password is too easy to guess"),
        (NEW_PASSWORD, NEW_PASSWORD + "!", "The two passwords do not match."),
        ("", "", "Choose a password."),
    ],
    ids=[
        "too-short",
        "too-long",
        "the-email",
        "email-local-part-any-case",
        "common",
        "common-any-case",
        "own-name",
        "phrase-and-year",
        "mismatch",
        "empty",
    ],
)
def test_unacceptable_password_is_refused_and_the_link_still_works(
    app, client, auth, people, password, confirm, message
):
    """A refused password re-renders with 400 and the reason; nothing is used up."""
    user_id, token = invite(client, auth, email="grace.hopper.rn@demo.test")
    newcomer = app.test_client()

    response = set_password(newcomer, token, password, confirm)

    assert response.status_code == 400
    assert message in field_error(response.text, "password")
    assert user_by_id(app, user_id).password_hash is None
    assert invitations_of(app, user_id)[0].used_at is None
    assert newcomer.get("/patient/").headers["Location"].startswith("/signin")
    assert newcomer.get(f"/invite/{token}").status_code == 200


def test_the_invitation_link_never_rests_in_plain_text(app, client, auth, admin):
    """Between the add and the page that shows it, the link (a credential) waits in the
    session row sealed, not as a plain flash message; it is shown once."""
    auth.login("admin@demo.test")
    response = add_person(client, email="ada@demo.test")
    with app.app_context():
        rows = " ".join(repr(data) for data in db.session.scalars(select(AuthSession.data)))
    page = client.get(response.headers["Location"]).text
    token = INVITE_LINK.search(" ".join(flashes(page))).group(1)
    assert token not in rows and "/invite/" not in rows
    assert not INVITE_LINK.search(client.get(response.headers["Location"]).text)  # once


def test_used_link_no_longer_works(app, client, auth, people):
    """Once a password is set, the link answers 404 and cannot set another password."""
    user_id, token = invite(client, auth)
    set_password(app.test_client(), token, NEW_PASSWORD)
    first_hash = user_by_id(app, user_id).password_hash

    stranger = app.test_client()
    page = stranger.get(f"/invite/{token}")
    assert page.status_code == 404
    assert "This invitation link is not valid or has already been used." in page.text
    token_field = csrf_from(stranger.get("/signin").text)
    retry = stranger.post(
        f"/invite/{token}",
        data={"csrf_token": token_field, "password": "another long passphrase", "confirm": "x"},
    )
    assert retry.status_code == 404
    assert user_by_id(app, user_id).password_hash == first_hash


@pytest.mark.parametrize(
    ("expires_in", "status"),
    [(timedelta(seconds=-1), 404), (timedelta(minutes=1), 200)],
    ids=["just-expired", "about-to-expire"],
)
def test_link_works_until_it_expires(app, client, auth, people, expires_in, status):
    """An invitation opens until its expiry time and answers 404 from then on."""
    user_id, token = invite(client, auth)
    with app.app_context():
        invitation = db.session.scalar(select(Invitation).where(Invitation.user_id == user_id))
        invitation.expires_at = utcnow() + expires_in
        db.session.commit()

    page = app.test_client().get(f"/invite/{token}")

    assert page.status_code == status
    if status == 404:
        assert "This invitation link has expired. Ask your clinic for a new one." in page.text
        assert user_by_id(app, user_id).password_hash is None


def test_unknown_link_is_not_found(client):
    """A made-up token answers 404 with a message a person can act on."""
    page = client.get("/invite/made-up-token")
    assert page.status_code == 404
    assert "This invitation link is not valid or has already been used." in page.text
    assert 'href="/signin"' in page.text


def test_reissued_link_replaces_the_old_one(app, client, auth, people):
    """A new invitation link works; the previous one stops working at once."""
    user_id, old_token = invite(client, auth)

    response = submit(
        client, f"/clinic/people/{user_id}", {}, to=f"/clinic/people/{user_id}/invitation"
    )

    assert response.status_code == 302
    assert response.headers["Location"] == f"/clinic/people/{user_id}"
    new_token = INVITE_LINK.search(" ".join(flashes(client.get(f"/clinic/people/{user_id}").text)))
    assert new_token and new_token.group(1) != old_token
    newcomer = app.test_client()
    assert newcomer.get(f"/invite/{old_token}").status_code == 404
    assert newcomer.get(f"/invite/{new_token.group(1)}").status_code == 200
    old, new = invitations_of(app, user_id)
    assert old.expires_at <= utcnow() < new.expires_at


def test_no_new_link_for_someone_who_already_has_a_password(app, client, auth, patient):
    """Reissuing for an account with a password is refused and creates no invitation."""
    auth.login("admin@demo.test")
    person_page = client.get(f"/clinic/people/{patient.id}").text
    assert "New invitation link" not in person_page

    response = submit(
        client, f"/clinic/people/{patient.id}", {}, to=f"/clinic/people/{patient.id}/invitation"
    )

    assert response.headers["Location"] == f"/clinic/people/{patient.id}"
    assert flashes(client.get(response.headers["Location"]).text) == [
        "This person has already set a password."
    ]
    assert invitations_of(app, patient.id) == []


def test_deactivated_persons_link_does_not_work(app, client, auth, people):
    """Deactivating an invited person also stops their invitation link."""
    user_id, token = invite(client, auth)
    submit(client, f"/clinic/people/{user_id}", {}, to=f"/clinic/people/{user_id}/deactivate")

    page = app.test_client().get(f"/invite/{token}")

    assert page.status_code == 404
    assert "This account is not active. Please contact your clinic." in page.text


@pytest.mark.parametrize(
    "email",
    ["patient@demo.test", "  PATIENT@Demo.Test ", "patient@other.test"],
    ids=["same-clinic", "other-case-and-spaces", "other-clinic"],
)
def test_duplicate_email_is_refused_and_nothing_is_created(app, client, auth, people, email):
    """An email already in use (anywhere) gets a 400 with a message beside the field."""
    auth.login("admin@demo.test")
    users_before, invitations_before = count(app, User), count(app, Invitation)

    response = add_person(client, name="Second Pat", email=email)

    assert response.status_code == 400
    assert field_error(response.text, "email") == "That email is already in use."
    assert 'value="Second Pat"' in response.text  # what was typed is kept
    assert (count(app, User), count(app, Invitation)) == (users_before, invitations_before)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "   "}, "Enter the person's name."),
        ({"email": "ada.demo.test"}, EMAIL_MESSAGE),
        ({"email": "ada lovelace@demo.test"}, EMAIL_MESSAGE),
        ({"email": "ada@demo.test\r\nBcc: someone@else.test"}, EMAIL_MESSAGE),
        ({"role": "superuser"}, "Not a valid choice."),
        ({"role": None}, "Choose a role."),
    ],
    ids=[
        "blank-name",
        "email-without-at",
        "email-with-space",
        "email-with-line-break",
        "unknown-role",
        "no-role",
    ],
)
def test_incomplete_new_person_is_refused_and_nothing_is_created(
    app, client, auth, people, fields, message
):
    """Each missing or wrong field re-renders the form with 400 and its message."""
    auth.login("admin@demo.test")
    form = {"name": "Ada Lovelace", "email": "ada@demo.test", "role": "patient", **fields}
    users_before = count(app, User)

    response = submit(
        client, "/clinic/people/new", {k: v for k, v in form.items() if v is not None}
    )

    assert response.status_code == 400
    assert message in html.unescape(response.text)
    if "email" in fields:
        assert field_error(response.text, "email") == message
    assert count(app, User) == users_before
    assert count(app, Invitation) == 0


# --- invitation e-mail ---------------------------------------------------------------------


class FakeSMTP:
    """Stands in for smtplib.SMTP: records what would be sent, never opens a socket."""

    instances: list[FakeSMTP] = []
    fail_with: Exception | None = None

    def __init__(self, host, port, timeout=None):
        self.host, self.port = host, port
        self.sent = []
        self.started_tls = False
        FakeSMTP.instances.append(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def starttls(self):
        self.started_tls = True

    def login(self, username, password):
        pass

    def send_message(self, message):
        if FakeSMTP.fail_with is not None:
            raise FakeSMTP.fail_with
        self.sent.append(message)


@pytest.fixture
def smtp(app, monkeypatch):
    """SMTP configured for the app, with the fake server in place of smtplib.SMTP."""
    app.config.update(SMTP_HOST="smtp.test", SMTP_STARTTLS=False)
    monkeypatch.setattr("kap.services.mail.smtplib.SMTP", FakeSMTP)
    monkeypatch.setattr(FakeSMTP, "instances", [])
    monkeypatch.setattr(FakeSMTP, "fail_with", None)
    return FakeSMTP


def test_invitation_is_emailed_when_smtp_is_configured(app, client, auth, people, smtp):
    """With SMTP set, the person is sent the same working link the admin is shown."""
    _, token = invite(client, auth)

    [server] = smtp.instances
    [message] = server.sent
    assert (server.host, server.port) == ("smtp.test", app.config["SMTP_PORT"])
    assert not server.started_tls
    assert message["To"] == "ada@demo.test"
    assert message["Subject"] == "Your invitation to Demo Clinic on KAP Companion"
    assert f"http://localhost/invite/{token}" in message.get_content()
    assert app.test_client().get(f"/invite/{token}").status_code == 200


def test_admin_is_told_to_pass_the_link_on_when_sending_fails(app, client, auth, people, smtp):
    """A failing mail server does not lose the person: the link is shown to pass on."""
    smtp.fail_with = OSError("connection refused")
    auth.login("admin@demo.test")

    response = add_person(client)

    assert response.status_code == 302
    [message] = flashes(client.get(response.headers["Location"]).text)
    assert "Pass it on to them securely." in message
    token = INVITE_LINK.search(message).group(1)
    assert app.test_client().get(f"/invite/{token}").status_code == 200


def test_email_address_with_a_line_break_is_refused_before_any_mail(
    app, client, auth, people, smtp
):
    """With SMTP on, a header-breaking address is refused calmly: no account, no message."""
    auth.login("admin@demo.test")

    response = add_person(client, email="ada@demo.test\r\nBcc: someone@else.test")

    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email.like("ada@demo.test%"))) is None
    assert smtp.instances == []


# --- tenancy and roles ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("show", "emails"),
    [
        ("", DEMO_CLINIC_EMAILS),
        ("patients", {"patient@demo.test", "patient2@demo.test"}),
        ("admins", {"admin@demo.test"}),
    ],
)
def test_people_list_shows_the_clinic_filtered_by_role(client, auth, people, show, emails):
    """The people list holds the admin's clinic only, narrowed by the chosen tab."""
    auth.login("admin@demo.test")
    page = client.get(f"/clinic/people?show={show}").text
    listed = set(re.findall(r"<td>([^<]+@[^<]+)</td>", page))
    assert listed == emails


def test_people_list_is_paged_and_searchable(app, client, auth, people):
    """A clinic with thousands of patients: 50 a page, a search by name or email, nothing
    of another clinic, and search text treated as text (% and _ match themselves)."""
    with app.app_context():
        clinic_id = people["admin@demo.test"].clinic_id
        db.session.add_all(
            User(clinic_id=clinic_id, email=f"bulk{n:03d}@demo.test", name=f"Bulk Patient {n:03d}",
                 role="patient")
            for n in range(120)
        )  # fmt: skip
        db.session.commit()
    auth.login("admin@demo.test")
    emails = lambda text: re.findall(r"<td>([^<]+@[^<]+)</td>", text)  # noqa: E731
    first = client.get("/clinic/people?show=patients").text
    assert len(emails(first)) == 50 and 'href="/clinic/people?page=2&amp;show=patients"' in first
    third = client.get("/clinic/people?show=patients&page=3").text
    assert len(emails(third)) == 122 - 100 and 'rel="next"' not in third
    found = client.get("/clinic/people?q=PATIENT%20007").text
    assert emails(found) == ["bulk007@demo.test"]
    assert emails(client.get("/clinic/people?q=other.test").text) == []
    assert emails(client.get("/clinic/people?q=%25").text) == []
    assert "Nobody" in client.get("/clinic/people?q=_").text
    no_one = client.get("/clinic/people?q=a%00b")  # PostgreSQL text cannot hold NUL: not a 500
    assert no_one.status_code == 200 and emails(no_one.text) == []


def test_other_clinics_admin_sees_none_of_demo_clinics_people(client, auth, people):
    """admin@other.test's list holds only Other Clinic, and Demo Clinic's pages answer 404."""
    auth.login("admin@other.test")
    listed = set(re.findall(r"<td>([^<]+@[^<]+)</td>", client.get("/clinic/people").text))
    assert listed == OTHER_CLINIC_EMAILS
    for email in DEMO_CLINIC_EMAILS:
        assert client.get(f"/clinic/people/{people[email].id}").status_code == 404, email


@pytest.mark.parametrize("action", ["care-team", "deactivate", "reactivate", "invitation"])
def test_other_clinics_admin_cannot_change_demo_clinics_people(
    app, client, auth, patient, other_therapist, action
):
    """Every change to another clinic's person answers 404 and changes nothing."""
    team_before = care_team(app, patient.id)
    auth.login("admin@other.test")

    response = submit(
        client,
        "/clinic/people",
        {"therapists": [other_therapist.id]},
        to=f"/clinic/people/{patient.id}/{action}",
    )

    assert response.status_code == 404
    assert user_by_id(app, patient.id).active
    assert care_team(app, patient.id) == team_before
    assert invitations_of(app, patient.id) == []


@pytest.mark.parametrize(
    ("email", "location"),
    [
        ("therapist@demo.test", "/therapist/"),
        ("patient@demo.test", "/patient/"),
        (None, "/signin?next=/clinic/people"),
    ],
    ids=["therapist", "patient", "signed-out"],
)
def test_only_clinic_admins_reach_the_people_pages(client, auth, people, email, location):
    """Other roles are sent to their own home; a signed-out visitor to sign-in."""
    if email:
        auth.login(email)
    response = client.get("/clinic/people")
    assert response.status_code == 302
    assert response.headers["Location"] == location


def test_therapist_cannot_add_a_person_by_posting_the_form(app, client, auth, people):
    """A therapist's post to the Add-a-person address is turned away and creates nobody."""
    auth.login("therapist@demo.test")
    users_before = count(app, User)

    response = submit(
        client,
        "/therapist/",
        {"name": "Mallory", "email": "mallory@demo.test", "role": "clinic_admin"},
        to="/clinic/people/new",
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/therapist/"
    assert count(app, User) == users_before


def test_person_page_is_not_kept_in_the_browser_cache(client, auth, patient):
    """A page naming a patient is marked no-store (DESIGN §6)."""
    auth.login("admin@demo.test")
    response = client.get(f"/clinic/people/{patient.id}")
    assert "no-store" in response.headers.get("Cache-Control", "")


# --- deactivation --------------------------------------------------------------------------


def test_deactivation_ends_sessions_and_stops_sign_in(page_as, app, client, auth, patient):
    """A deactivated person is signed out everywhere at once and cannot sign in again."""
    person, home = patient, "/patient/"
    their_browser = page_as(patient.email)
    assert their_browser.get(home).status_code == 200
    auth.login("admin@demo.test")

    response = submit(
        client, f"/clinic/people/{person.id}", {}, to=f"/clinic/people/{person.id}/deactivate"
    )

    assert response.status_code == 302
    assert response.headers["Location"] == f"/clinic/people/{person.id}"
    page = client.get(response.headers["Location"]).text
    assert "is deactivated and signed out everywhere." in " ".join(flashes(page))
    assert "deactivated" in page
    assert not user_by_id(app, person.id).active
    with app.app_context():
        open_sessions = select(func.count()).where(
            AuthSession.user_id == person.id, AuthSession.revoked_at.is_(None)
        )
        assert db.session.scalar(open_sessions) == 0

    after = their_browser.get(home)
    assert after.status_code == 302
    assert after.headers["Location"].startswith("/signin")
    retry = Auth(app.test_client()).login(patient.email)
    assert retry.status_code == 401
    assert "That email and password do not match an account." in retry.text


def test_reactivated_person_can_sign_in_again(app, client, auth, patient):
    """Reactivation restores sign-in with the person's existing password."""
    auth.login("admin@demo.test")
    person_page = f"/clinic/people/{patient.id}"
    submit(client, person_page, {}, to=f"{person_page}/deactivate")

    response = submit(client, person_page, {}, to=f"{person_page}/reactivate")

    assert response.headers["Location"] == person_page
    assert flashes(client.get(person_page).text) == ["Pat Jordan can sign in again."]
    assert user_by_id(app, patient.id).active
    signed_in = Auth(app.test_client()).login("patient@demo.test", DEMO_PASSWORD)
    assert signed_in.headers["Location"] == "/patient/"


def test_admin_cannot_deactivate_themself(app, client, auth, admin):
    """The admin's own page offers no Deactivate button, and a forced post is refused."""
    auth.login("admin@demo.test")
    own_page = f"/clinic/people/{admin.id}"
    assert "Deactivate</button>" not in client.get(own_page).text

    response = submit(client, own_page, {}, to=f"{own_page}/deactivate")

    assert response.headers["Location"] == own_page
    assert flashes(client.get(own_page).text) == ["You cannot deactivate your own account."]
    assert user_by_id(app, admin.id).active
    assert client.get("/clinic/").status_code == 200  # still signed in


# --- care teams ----------------------------------------------------------------------------


def post_care_team(client, patient_id: int, therapist_ids: list[int]):
    """Tick exactly these therapists on the patient's page and save."""
    page = f"/clinic/people/{patient_id}"
    return submit(client, page, {"therapists": therapist_ids}, to=f"{page}/care-team")


@pytest.mark.parametrize(
    ("team", "saved"),
    [
        (
            ["therapist@demo.test", "therapist2@demo.test"],
            "Care team saved: Dr. Tess Rivera, Dr. Sam Okafor.",
        ),
        ([], "Care team saved: nobody."),
    ],
    ids=["two-therapists", "nobody"],
)
def test_care_team_becomes_exactly_the_ticked_therapists(
    app, client, auth, people, patient, team, saved
):
    """Saving replaces the whole team: ticked therapists join, unticked ones leave."""
    auth.login("admin@demo.test")
    wanted = {people[email].id for email in team}

    response = post_care_team(client, patient.id, sorted(wanted))

    assert response.status_code == 302
    assert response.headers["Location"] == f"/clinic/people/{patient.id}"
    assert flashes(client.get(response.headers["Location"]).text) == [saved]
    assert care_team(app, patient.id) == wanted


@pytest.mark.parametrize(
    "intruder",
    ["therapist@other.test", "patient2@demo.test", "no-such-person"],
)
def test_care_team_only_takes_therapists_of_the_clinic(
    app, client, auth, people, patient, intruder
):
    """Another clinic's therapist, a non-therapist or an unknown id is refused; no change."""
    auth.login("admin@demo.test")
    intruder_id = people[intruder].id if intruder in people else 999_999
    team_before = care_team(app, patient.id)

    response = post_care_team(client, patient.id, [people["therapist2@demo.test"].id, intruder_id])

    assert response.headers["Location"] == f"/clinic/people/{patient.id}"
    assert flashes(client.get(response.headers["Location"]).text) == [
        "Choose therapists of this clinic."
    ]
    assert care_team(app, patient.id) == team_before


def test_only_patients_have_care_teams(client, auth, therapist, therapist2):
    """Posting a care team for a therapist answers 404."""
    auth.login("admin@demo.test")
    response = post_care_team(client, therapist.id, [therapist2.id])
    assert response.status_code == 404


def test_therapist_sees_exactly_their_care_team_patients(page_as, people):
    """The dashboard lists the therapist's patients; anyone else's page answers 404."""
    in_care = "patient@demo.test"
    browser = page_as("therapist@demo.test")

    dashboard = browser.get("/therapist/").text

    listed = {int(i) for i in re.findall(r'href="/therapist/patients/(\d+)"', dashboard)}
    assert listed == {people[in_care].id}
    assert browser.get(f"/therapist/patients/{people[in_care].id}").status_code == 200
    for other in {"patient@demo.test", "patient2@demo.test", "patient@other.test"} - {in_care}:
        assert browser.get(f"/therapist/patients/{people[other].id}").status_code == 404, other


def test_care_team_change_reaches_the_therapists_views(page_as, app, client, auth, people, patient):
    """Moving a patient to another therapist moves them between the two dashboards."""
    auth.login("admin@demo.test")
    response = post_care_team(client, patient.id, [people["therapist2@demo.test"].id])
    assert flashes(client.get(response.headers["Location"]).text) == [
        "Care team saved: Dr. Sam Okafor."
    ]
    assert care_team(app, patient.id) == {people["therapist2@demo.test"].id}

    before = page_as("therapist@demo.test")
    after = page_as("therapist2@demo.test")

    assert "Pat Jordan" not in before.get("/therapist/").text
    assert before.get(f"/therapist/patients/{patient.id}").status_code == 404
    assert "Pat Jordan" in after.get("/therapist/").text
    assert after.get(f"/therapist/patients/{patient.id}").status_code == 200
