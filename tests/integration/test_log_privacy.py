"""No journal text, password or token reaches the application log or the audit log (issue 7).

Every logger is turned up while people sign in, write, fail and get errors in each way the app
offers: the root and the app's loggers at DEBUG, werkzeug's request log, and SQLAlchemy's SQL
echo at INFO (as if someone switched it on to debug). Then every captured record (message,
arguments, exception text), everything printed, and every audit row is searched for each
secret that passed through: unique marker texts, passwords, session cookies, CSRF tokens, an
invitation token, a TOTP secret, its codes and recovery codes. Each test also checks that the
capture works (the records it expects are there), so a silent logger cannot pass it.
"""

from __future__ import annotations

import logging
import re
import threading
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from werkzeug.serving import make_server

from kap.demo.seed import DEMO_PASSWORD
from kap.extensions import db
from kap.models import AuditEvent, User
from kap.services.people.invitations import invite_person
from tests.helpers import Auth, csrf_from

LOUD_LOGGERS = ("kap", "werkzeug", "flask", "flask_wtf", "flask_login", "flask_limiter")


@pytest.fixture(autouse=True)
def loud_logs(caplog):
    """Everything at DEBUG, SQL echo (statements and parameters) at INFO; before the app exists."""
    caplog.set_level(logging.DEBUG)
    for name in LOUD_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    return caplog


class Secrets:
    """Every secret value a test sees pass by, to be looked for afterwards."""

    def __init__(self) -> None:
        self.values: set[str] = set()

    def marker(self, what: str) -> str:
        """A unique text nobody else writes (as a patient or clinician would type it)."""
        value = f"{what} marker {uuid.uuid4().hex}"
        self.values.add(value)
        self.values.add(value.rsplit(" ", 1)[1])  # the unique part alone, e.g. after escaping
        return value

    def add(self, *values: str | None) -> None:
        self.values.update(v for v in values if v)

    def from_client(self, client) -> None:
        """The client's current session cookie."""
        cookie = client.get_cookie("kap_session")
        if cookie is not None:
            self.add(cookie.value)

    def csrf_of(self, html: str) -> str:
        token = csrf_from(html)
        self.add(token)
        return token


def _record_texts(caplog) -> list[str]:
    """Each captured record as text: the message, its raw arguments and any exception."""
    formatter = logging.Formatter()
    texts = []
    for when in ("setup", "call"):
        for record in caplog.get_records(when):
            parts = [record.name, str(record.msg), record.getMessage(), repr(record.args)]
            if record.exc_info:
                parts.append(formatter.formatException(record.exc_info))
            parts += [record.exc_text or "", record.stack_info or ""]
            texts.append("\n".join(parts))
    return texts


def _audit_text(app) -> str:
    with app.app_context():
        rows = db.session.scalars(db.select(AuditEvent)).all()
        return "\n".join(
            " ".join(str(value) for value in vars(row).values() if not str(value).startswith("<"))
            for row in rows
        )


def _found(secret: str, text: str) -> bool:
    if secret.isdigit():  # a six-digit code: only as a number of its own
        return re.search(rf"(?<!\d){secret}(?!\d)", text) is not None
    return secret in text


def assert_nowhere(secrets: Secrets, caplog, capfd, app) -> tuple[str, str]:
    """No secret in any log record, anything printed, or the audit log; (logs, audit) as text."""
    records = _record_texts(caplog)
    printed = "\n".join(capfd.readouterr())
    audit = _audit_text(app)
    for secret in sorted(secrets.values):
        for where, text in (("audit log", audit), ("printed output", printed)):
            assert not _found(secret, text), f"{secret!r} reached the {where}"
        leaks = [text for text in records if _found(secret, text)]
        assert not leaks, f"{secret!r} reached the application log:\n{leaks[0][:2000]}"
    return "\n".join(records), audit


def _patient_session_id(client) -> int:
    sessions = client.get("/api/v1/sessions").json["sessions"]
    return next(s["id"] for s in sessions if s["status"] == "scheduled")


def test_signing_in_and_writing_leave_no_text_password_or_token_in_the_logs(
    app, client, people, patient, therapist, capfd, monkeypatch, loud_logs
):
    """Sign-ins (good and bad), entries, intentions, comments, notes, 400s, CSRF failures and a
    500 — by form and by API — put none of what was typed or any token in a log or audit row."""
    secrets = Secrets()
    secrets.add(DEMO_PASSWORD)
    auth = Auth(client)

    # Failed sign-ins, by form and by API.
    wrong = f"wrong-password-{uuid.uuid4().hex}"
    secrets.add(wrong)
    page = client.get("/signin")
    bad = client.post(
        "/signin",
        data={"csrf_token": secrets.csrf_of(page.text), "email": patient.email, "password": wrong},
    )
    assert bad.status_code == 401
    api_wrong = f"wrong-api-password-{uuid.uuid4().hex}"
    secrets.add(api_wrong)
    bad = client.post("/api/v1/session", json={"email": patient.email, "password": api_wrong})
    assert bad.status_code == 401

    # The patient signs in with the form and writes an entry; then a form with a bad token
    # and one with a bad mood, each carrying text.
    assert auth.login(patient.email).status_code == 302
    secrets.from_client(client)
    page = client.get("/patient/journal/new")
    client_id = re.search(r'name="client_id" type="hidden" value="([^"]+)"', page.text)
    client_id = client_id.group(1) if client_id else str(uuid.uuid4())
    form_entry = secrets.marker("form entry")
    saved = client.post(
        "/patient/journal/new",
        data={"csrf_token": secrets.csrf_of(page.text), "body": form_entry, "client_id": client_id},
    )
    assert saved.status_code == 302
    forged = client.post(
        "/patient/journal/new",
        data={
            "csrf_token": f"forged-{uuid.uuid4().hex}",
            "body": secrets.marker("csrf failure"),
            "client_id": str(uuid.uuid4()),
        },
    )
    assert forged.status_code == 400
    invalid = client.post(
        "/patient/journal/new",
        data={
            "csrf_token": secrets.csrf_of(client.get("/patient/journal/new").text),
            "body": secrets.marker("invalid form"),
            "mood": "42",
            "client_id": str(uuid.uuid4()),
        },
    )
    assert invalid.status_code == 400

    # The intention, by form.
    session_id = _patient_session_id(client)
    page = client.get(f"/patient/sessions/{session_id}")
    saved = client.post(
        f"/patient/sessions/{session_id}/intention",
        data={"csrf_token": secrets.csrf_of(page.text), "text": secrets.marker("form intention")},
    )
    assert saved.status_code == 302

    # The API: sign in, an entry (shared), a bad one, one without the CSRF header, an
    # intention, and a reply under the form entry.
    assert auth.api_login(patient.email).status_code == 200
    secrets.add(auth.csrf_token)
    secrets.from_client(client)
    created = client.post(
        "/api/v1/journal",
        json={"client_id": str(uuid.uuid4()), "body": secrets.marker("api entry"), "shared": True},
        headers=auth.headers,
    )
    assert created.status_code == 201
    shared_id = created.json["id"]
    invalid = client.post(
        "/api/v1/journal",
        json={"client_id": str(uuid.uuid4()), "body": secrets.marker("api invalid"), "mood": "x"},
        headers=auth.headers,
    )
    assert invalid.status_code == 400
    no_csrf = client.post(
        "/api/v1/journal",
        json={"client_id": str(uuid.uuid4()), "body": secrets.marker("api no csrf")},
        headers={"X-CSRFToken": f"forged-{uuid.uuid4().hex}"},
    )
    assert no_csrf.status_code == 400
    assert no_csrf.json["error"]["code"] == "csrf_failed"
    put = client.put(
        f"/api/v1/sessions/{session_id}/intention",
        json={"text": secrets.marker("api intention")},
        headers=auth.headers,
    )
    assert put.status_code == 200
    entries = client.get("/api/v1/journal").json["entries"]
    form_entry_id = next(e["id"] for e in entries if e["body"] == form_entry)
    page = client.get("/patient/journal")
    replied = client.post(
        f"/patient/journal/{form_entry_id}/comments",
        data={"csrf_token": secrets.csrf_of(page.text), "body": secrets.marker("patient reply")},
    )
    assert replied.status_code == 302

    # An unexpected error whose message quotes what was sent (as int("...") would): a 500.
    from kap.services.journal import entries as journal

    def broken_parse(data, *, creating):
        return int(data["body"])  # ValueError: invalid literal for int() ... '<the text>'

    monkeypatch.setattr(journal, "parse_entry_fields", broken_parse)
    crashed = client.post(
        "/api/v1/journal",
        json={"client_id": str(uuid.uuid4()), "body": secrets.marker("server error")},
        headers=auth.headers,
    )
    assert crashed.status_code == 500
    assert crashed.json["error"]["code"] == "server_error"
    monkeypatch.undo()
    assert client.delete("/api/v1/session", headers=auth.headers).status_code == 200

    # The therapist: reads the shared entry, comments by API, writes a clinical note by form.
    clinician = app.test_client()
    clinician_auth = Auth(clinician)
    assert clinician_auth.api_login(therapist.email).status_code == 200
    secrets.add(clinician_auth.csrf_token)
    secrets.from_client(clinician)
    assert clinician.get(f"/api/v1/patients/{patient.id}/journal").status_code == 200
    commented = clinician.post(
        f"/api/v1/journal/{shared_id}/comments",
        json={"body": secrets.marker("therapist comment")},
        headers=clinician_auth.headers,
    )
    assert commented.status_code == 201
    assert clinician.delete("/api/v1/session", headers=clinician_auth.headers).status_code == 200
    assert clinician_auth.login(therapist.email).status_code == 302
    secrets.from_client(clinician)
    page = clinician.get(f"/therapist/patients/{patient.id}")
    assert page.status_code == 200
    noted = clinician.post(
        f"/therapist/patients/{patient.id}/notes",
        data={"csrf_token": secrets.csrf_of(page.text), "body": secrets.marker("clinical note")},
    )
    assert noted.status_code == 302
    assert clinician_auth.logout().status_code == 302

    logs, audit = assert_nowhere(secrets, loud_logs, capfd, app)
    # The capture saw the flow: SQL echo, the unhandled error (where it happened), audit rows.
    assert "INSERT INTO journal_entries" in logs and "INSERT INTO clinical_notes" in logs
    assert "unhandled error ValueError" in logs and "broken_parse" in logs
    for action in ("journal.create", "intention.update", "comment.create", "note.create"):
        assert action in audit, action


def _enrol(client, secrets: Secrets) -> tuple[str, list[str]]:
    """Set up an authenticator through the real pages; its key and the recovery codes."""
    page = client.get("/account/security/setup")
    assert page.status_code == 200
    key = re.search(r'id="setup-key">([A-Z2-7 ]+)</code>', page.text).group(1).replace(" ", "")
    code = pyotp.TOTP(key).now()
    secrets.add(key, code)
    response = client.post(
        "/account/security/setup", data={"csrf_token": secrets.csrf_of(page.text), "code": code}
    )
    assert response.status_code == 302
    shown = client.get("/account/security/recovery-codes")
    codes = re.findall(r"<li><code>([0-9a-z]{5}-[0-9a-z]{5})</code></li>", shown.text)
    assert codes
    secrets.add(*codes)
    return key, codes


def test_invitations_and_second_factor_leave_no_token_or_code_in_the_logs(
    app, client, people, patient, admin, capfd, loud_logs
):
    """An invitation link used to set a password, an authenticator set up and used by page,
    and a recovery code used by API: no token, password, key or code in a log or audit row."""
    secrets = Secrets()
    secrets.add(DEMO_PASSWORD)

    # The admin adds a person; the newcomer opens the link and sets a password.
    admin_auth = Auth(client)
    assert admin_auth.login(admin.email).status_code == 302
    secrets.from_client(client)
    page = client.get("/clinic/people/new")
    added = client.post(
        "/clinic/people/new",
        data={
            "csrf_token": secrets.csrf_of(page.text),
            "name": "Ada Lovelace",
            "email": "ada@demo.test",
            "role": "patient",
        },
    )
    assert added.status_code == 302
    person_page = client.get(added.headers["Location"]).text
    token = re.search(r"/invite/([A-Za-z0-9_-]+)", person_page).group(1)
    secrets.add(token)
    assert admin_auth.logout().status_code == 302

    newcomer = app.test_client()
    page = newcomer.get(f"/invite/{token}")
    assert page.status_code == 200
    new_password = f"violet kettle {uuid.uuid4().hex}"
    secrets.add(new_password)
    accepted = newcomer.post(
        f"/invite/{token}",
        data={
            "csrf_token": secrets.csrf_of(page.text),
            "password": new_password,
            "confirm": new_password,
        },
    )
    assert accepted.status_code == 302
    secrets.from_client(newcomer)

    # The patient sets up an authenticator, signs out, signs in with a wrong and a right code.
    auth = Auth(client)
    assert auth.login(patient.email).status_code == 302
    secrets.from_client(client)
    key, recovery_codes = _enrol(client, secrets)
    secrets.from_client(client)
    assert auth.logout().status_code == 302
    assert auth.login(patient.email).headers["Location"] == "/signin/code"
    page = client.get("/signin/code")
    wrong = client.post(
        "/signin/code", data={"csrf_token": secrets.csrf_of(page.text), "code": "0"}
    )
    assert wrong.status_code in (400, 401)
    next_code = pyotp.TOTP(key).at(datetime.now(UTC) + timedelta(seconds=30))
    secrets.add(next_code)
    page = client.get("/signin/code")
    right = client.post(
        "/signin/code", data={"csrf_token": secrets.csrf_of(page.text), "code": next_code}
    )
    assert right.status_code == 302
    secrets.from_client(client)
    assert auth.logout().status_code == 302

    # By API: a recovery code in place of the app.
    signed_in = client.post(
        "/api/v1/session",
        json={
            "email": patient.email,
            "password": DEMO_PASSWORD,
            "recovery_code": recovery_codes[0],
        },
    )
    assert signed_in.status_code == 200
    secrets.add(signed_in.json["csrf_token"])
    secrets.from_client(client)
    with app.app_context():
        assert db.session.get(User, patient.id).totp_enabled_at is not None

    logs, audit = assert_nowhere(secrets, loud_logs, capfd, app)
    assert "UPDATE invitations" in logs and "signin.second_factor.success" in audit


def test_development_server_request_log_hides_invitation_tokens(
    app, people, admin, capfd, loud_logs
):
    """`make run` serves with werkzeug, which logs each request line: an invitation link's
    token is shown as [redacted] there (and in anything printed), the rest of the line kept."""
    with app.app_context():
        actor = db.session.get(User, admin.id)
        issued = invite_person(
            actor, name="Grace Hopper", email="grace@demo.test", role="therapist", link_for=str
        )
        token = issued.token
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        with urllib.request.urlopen(f"{base}/invite/{token}", timeout=10) as response:
            assert response.status == 200
        with urllib.request.urlopen(f"{base}/invite/{token}?from=mail", timeout=10) as response:
            assert response.status == 200
    finally:
        server.shutdown()
        thread.join(timeout=10)
    request_lines = [r.getMessage() for r in loud_logs.records if r.name == "werkzeug"]
    assert any("GET /invite/[redacted] HTTP/1.1" in line for line in request_lines), request_lines
    secrets = Secrets()
    secrets.add(token)
    assert_nowhere(secrets, loud_logs, capfd, app)
