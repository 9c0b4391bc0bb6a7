"""Shared fixtures: the app on a clean database, clients, demo people, signed-in clients.

Only fixtures live here; the helpers they use are in tests/helpers.py (people, CSRF, signing
in) and tests/database.py (this worker's database, the schema, the demo data).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event
from sqlalchemy.orm import Session

# First: importing tests.database points KAP_TEST_DATABASE_URL at this worker's own database,
# which kap.config reads when it is imported.
from tests.database import drop_worker_database, reset_database, seed_demo_database

# isort: split
from kap import create_app
from kap.config import TestConfig
from kap.demo.seed import DEMO_PASSWORD
from kap.extensions import db, limiter
from kap.services.auth.attempt_limits import STORAGE_ERRORS
from tests.helpers import ApiClient, Auth, Person, page_client


def pytest_sessionfinish(session):
    """Drop this worker's database (the main one is the caller's to drop)."""
    drop_worker_database()


@pytest.fixture
def app(tmp_path):
    """The application with TestConfig (CSRF on), an empty database, its own media folder and
    job queue."""
    app = create_app(TestConfig())
    app.config["MEDIA_DIR"] = str(tmp_path / "media")
    app.config["JOBS_URL"] = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"  # /readyz reads it
    with app.app_context():
        reset_database(app)
        # A test of an unreachable counter storage has nothing to reset there.
        with contextlib.suppress(STORAGE_ERRORS):
            limiter.reset()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()  # every app has its own engine; free its connections


@pytest.fixture
def client(app):
    """A browser of the test's own, not signed in."""
    return app.test_client()


@pytest.fixture
def ctx(app):
    """An application context for tests that call services directly."""
    with app.app_context():
        yield app


@pytest.fixture
def people(app) -> dict[str, Person]:
    """The demo clinics and accounts, keyed by email."""
    from kap.models import User

    with app.app_context():
        seed_demo_database()
        return {
            u.email: Person(u.id, u.email, u.role, u.clinic_id)
            for u in db.session.scalars(db.select(User))
        }


@pytest.fixture
def demo_people_only(monkeypatch) -> None:
    """Seed the demo clinics and people without their sample templates, sessions and journals
    (for modules that read none of those: each test is markedly faster)."""
    from kap.demo import seed as demo

    monkeypatch.setattr(demo, "seed_demo_content", lambda users: None)


@pytest.fixture
def session_id(app, people) -> int:
    """The demo patient's Walkthrough session today (5 minutes of observation), not started.

    Found by its template, not by a window around the clock: the seed puts it at the start
    of the hour it ran in, which may be more than an hour ago a moment later.
    Modules with a session of their own define their own ``session_id``, which wins.
    """
    from kap.demo.content import WALKTHROUGH
    from kap.models import SessionStatus, SessionTemplate, TemplateVersion, TreatmentSession

    with app.app_context():
        return db.session.scalar(
            db.select(TreatmentSession.id)
            .join(TemplateVersion, TreatmentSession.template_version_id == TemplateVersion.id)
            .join(SessionTemplate, TemplateVersion.template_id == SessionTemplate.id)
            .where(
                TreatmentSession.patient_id == people["patient@demo.test"].id,
                TreatmentSession.status == SessionStatus.SCHEDULED,
                SessionTemplate.name == WALKTHROUGH,
            )
        )


@pytest.fixture
def patient(people):
    return people["patient@demo.test"]


@pytest.fixture
def patient2(people):
    return people["patient2@demo.test"]


@pytest.fixture
def therapist(people):
    return people["therapist@demo.test"]


@pytest.fixture
def therapist2(people):
    return people["therapist2@demo.test"]


@pytest.fixture
def admin(people):
    return people["admin@demo.test"]


@pytest.fixture
def other_patient(people):
    return people["patient@other.test"]


@pytest.fixture
def other_therapist(people):
    return people["therapist@other.test"]


@pytest.fixture
def other_admin(people):
    return people["admin@other.test"]


@pytest.fixture
def auth(client):
    """Signs ``client`` in and out through the real pages and API."""
    return Auth(client)


@pytest.fixture
def api_as(app) -> Callable[..., ApiClient]:
    """``api_as(email)``: a client of its own, signed in as that person through the API; its
    writes carry the CSRF header. The person must exist (``people`` seeds the demo ones)."""

    def signed_in(email: str, password: str = DEMO_PASSWORD) -> ApiClient:
        return ApiClient.signed_in(app, email, password)

    return signed_in


@pytest.fixture
def page_as(app) -> Callable[..., FlaskClient]:
    """``page_as(email)``: a browser of its own, signed in as that person through the form."""

    def signed_in(email: str, password: str = DEMO_PASSWORD) -> FlaskClient:
        return page_client(app, email, password)

    return signed_in


@pytest.fixture
def commits(ctx) -> Iterator[list[int]]:
    """One entry per COMMIT the ORM session makes while the test runs."""
    seen: list[int] = []

    def count(session: Session) -> None:
        seen.append(1)

    event.listen(Session, "after_commit", count)
    try:
        yield seen
    finally:
        event.remove(Session, "after_commit", count)
