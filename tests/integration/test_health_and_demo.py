"""Health check and the demo seed command."""

from sqlalchemy import select

from kap.demo.seed import DEMO_ACCOUNTS
from kap.extensions import db
from kap.models import CareTeamMember, Clinic, User
from tests.helpers import Auth


def test_healthz_ok_when_database_answers(client):
    """GET /healthz answers 200 {"status": "ok"} with a working database."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_healthz_503_when_database_is_down(tmp_path):
    """With an unreachable database, /healthz answers 503 (never a stack trace)."""
    from kap import create_app
    from kap.config import TestConfig

    class Unreachable(TestConfig):
        SQLALCHEMY_DATABASE_URI = "postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=1"
        SQLALCHEMY_ENGINE_OPTIONS = {}

    app = create_app(Unreachable())
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable"}


def test_pages_answer_503_with_a_plain_message_when_database_is_down():
    """A page that needs the database shows a friendly 503, not a stack trace."""
    from kap import create_app
    from kap.config import TestConfig

    class Unreachable(TestConfig):
        SQLALCHEMY_DATABASE_URI = "postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=1"
        SQLALCHEMY_ENGINE_OPTIONS = {}

    client = create_app(Unreachable()).test_client()
    response = client.post("/api/v1/session", json={"email": "a@b.c", "password": "x"})
    assert response.status_code == 503
    assert response.json["error"]["code"] == "unavailable"
    assert "Traceback" not in response.text


def test_seed_demo_is_idempotent(app):
    """Running seed-demo twice leaves one copy of each clinic, account and care team."""
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    second = runner.invoke(args=["seed-demo"])
    assert first.exit_code == second.exit_code == 0
    assert "patient@demo.test" in second.output
    assert "demo-password" in second.output
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(Clinic)) == 2
        assert db.session.scalar(select(db.func.count()).select_from(User)) == len(DEMO_ACCOUNTS)
        assert db.session.scalar(select(db.func.count()).select_from(CareTeamMember)) == 3


def test_seed_demo_if_empty_leaves_existing_data_alone(app, people):
    """`seed-demo --if-empty` on a database with data changes nothing."""
    result = app.test_cli_runner().invoke(args=["seed-demo", "--if-empty"])
    assert result.exit_code == 0
    assert "not re-seeded" in result.output


def test_every_demo_account_signs_in(app, people):
    """Each demo account of DESIGN §4 signs in with demo-password."""
    for account in DEMO_ACCOUNTS:
        client = app.test_client()
        assert Auth(client).api_login(account.email).status_code == 200, account.email


def test_demo_patient_has_reminders_due_as_soon_as_the_app_runs(app, people):
    """make run sends the demo patient's next reminders into the dev mail sink at once: they
    chose e-mail, and the session booked this hour has reminders due within the late grace."""
    from datetime import UTC, datetime, timedelta

    from kap.models import ReminderPreference
    from kap.services.reminders.plan import planned_between
    from kap.services.reminders.timing import LATE_GRACE

    now = datetime.now(UTC)
    with app.app_context():
        db.session.rollback()  # what seed-demo left uncommitted is not what make run sees
        patient = db.session.scalar(select(User).where(User.email == "patient@demo.test"))
        choices = db.session.get(ReminderPreference, patient.id)
        assert choices is not None and choices.email and not choices.push
        due = planned_between(patient, now - LATE_GRACE, now + timedelta(minutes=1), now=now)
        assert due, "nothing would be sent when make run starts"
        others = db.session.scalars(select(User).where(User.email != "patient@demo.test"))
        assert all(db.session.get(ReminderPreference, u.id) is None for u in others)
