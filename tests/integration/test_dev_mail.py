"""/dev/mail: the local mail sink's messages, for a clinic admin, in development only."""

from __future__ import annotations

import pytest

from kap import create_app
from kap.config import TestConfig
from kap.dev.mail_sink import MailSink
from kap.dev.views import SINK_EXTENSION
from kap.extensions import db
from kap.services.mail import send_mail
from tests.database import reset_database

pytestmark = pytest.mark.usefixtures("demo_people_only")


class DevelopmentLike(TestConfig):
    """The test settings (database, keys, cheap hashes) with the development profile's name."""

    ENV_NAME = "development"


@pytest.fixture
def app(tmp_path):
    app = create_app(DevelopmentLike())
    with app.app_context():
        reset_database(app)
    with MailSink() as sink:
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=sink.port, SMTP_STARTTLS=False)
        app.extensions[SINK_EXTENSION] = sink
        yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_an_admin_reads_the_sunk_mail_newest_first(app, people, page_as):
    with app.app_context():
        assert send_mail("patient@demo.test", "First subject", "first body")
        assert send_mail("patient2@demo.test", "Second subject", "second body")
    page = page_as("admin@demo.test").get("/dev/mail")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.index("Second subject") < html.index("First subject")
    assert "To patient2@demo.test" in html and "second body" in html


@pytest.mark.parametrize("email", [None, "patient@demo.test", "therapist@demo.test"])
def test_anyone_else_finds_nothing_there(app, people, page_as, email):
    client = page_as(email) if email else app.test_client()
    assert client.get("/dev/mail").status_code == 404


def test_the_page_does_not_exist_outside_development():
    app = create_app(TestConfig())
    assert not [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/dev")]
