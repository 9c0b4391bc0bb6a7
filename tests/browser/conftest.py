"""Browser tests: Debian's Chromium driven by Playwright against a live gunicorn server.

The server runs the real commands (`db upgrade`, `seed-demo`) on a throwaway SQLite file.
Without /usr/bin/chromium these tests are skipped with a reason, unless
KAP_REQUIRE_BROWSER=1, when they fail.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS
from tests.servers import (
    ScriptRunner,
    Server,
    free_port,
    server_env,
    start_gunicorn,
    stop,
    wait_for,
)


def pytest_collection_modifyitems(config, items):
    """Mark everything here as a browser test; skip (or fail) when Chromium is missing."""
    browser_items = [
        item for item in items if Path(item.fspath).is_relative_to(Path(__file__).parent)
    ]
    for item in browser_items:
        item.add_marker(pytest.mark.browser)
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("KAP_REQUIRE_BROWSER") == "1":
        return  # the browser fixture fails loudly instead
    reason = f"Chromium not found at {CHROMIUM} (apt-get install chromium); browser tests skipped"
    for item in browser_items:
        item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Launch Debian's Chromium with the flags this sandbox needs."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"KAP_REQUIRE_BROWSER=1 but Chromium is missing at {CHROMIUM}")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="module")
def base_url(live_server) -> str:
    """Pages are opened relative to the live server."""
    return live_server.url


@pytest.fixture(scope="module")
def browser_context_args(playwright, base_url):
    """A Pixel 7 (412 px wide, touch) pointed at this module's live server."""
    return {
        **playwright.devices["Pixel 7"],
        "base_url": base_url,
        "service_workers": "allow",
    }


@dataclass
class LiveServer(Server):
    """A running gunicorn serving the app on a throwaway database."""

    process: subprocess.Popen | None = None
    port: int = 0
    #: Runs this server's scripts in one process that imports the app once.
    scripts: ScriptRunner = field(kw_only=True)

    def python(self, script: str, *args: str) -> str:
        return self.scripts.run(script, *args)

    def book_session_now(self, email: str, template: str, room: str) -> int:
        """A session of ``template`` for ``email``, booked through the service layer and then
        moved to this minute (inside its start window); its id.

        Booked far ahead first: a second booking for the same patient at the same minute
        would rightly be refused as a clash, and each test wants a session of its own.
        """
        output = self.python(_BOOK_SESSION_NOW, email, template, room)
        return int(output.strip().splitlines()[-1])

    def clear_to_start(self, email: str) -> None:
        """What stands before any session of the demo's: ``email``'s newest intake cleared by
        their care-team therapist and the clinic's current consent signed — through the
        services, as the therapist's and the patient's pages do (patient2's demo intake
        waits for review and their consent is unsigned)."""
        self.python(_CLEAR_TO_START, email)

    def launch(self) -> None:
        """Start serving on this server's port and database (without waiting).

        Threads keep idle connections open (gunicorn's default: 2 s). Playwright's request
        API reuses an idle connection without a browser's retry, so a request sent as the
        server closed it failed with ECONNRESET (a loaded CI machine, between a test's
        `page.request` calls a few seconds apart); held as long as nginx holds them (75 s),
        that moment comes far less often than once per test."""
        self.process = start_gunicorn(
            self.env, self.port, "--workers", "1", "--threads", "4", "--keep-alive", "75"
        )

    def start(self) -> None:
        """Serve on this server's port and database, and wait until it answers."""
        self.launch()
        self.wait_until_serving()

    def wait_until_serving(self) -> None:
        wait_for(f"{self.url}/healthz", seconds=30, process=self.process)

    def stop(self) -> None:
        """Stop serving (the database stays): the network "goes away" mid-request."""
        stop(self.process)

    def restart(self) -> None:
        """Stop, then serve again on the same port and database."""
        self.stop()
        self.start()


_CLEAR_TO_START = """
import sys
from sqlalchemy import select
from wsgi import app
from kap.extensions import db
from kap.models import User
from kap.services.people.care_teams import care_team_of
from kap.services.screening import consent, intake
with app.app_context():
    patient = db.session.scalar(select(User).where(User.email == sys.argv[1]))
    submission = intake.latest_intake(patient)
    if submission is not None and submission.status != "cleared":
        intake.decide(care_team_of(patient)[0], submission.id, "cleared", "")
    document = consent.current_document(patient)
    if not consent.has_signed_current(patient):
        consent.sign(patient, document.id, patient.name, True, document.sha256)
"""

_BOOK_SESSION_NOW = """
import sys
from datetime import UTC, date, datetime, time, timedelta
from sqlalchemy import select
from wsgi import app
from kap.extensions import db
from kap.models import SessionTemplate, User
from kap.services.sessions.scheduling import add_booster
email, template_name, room = sys.argv[1:4]
with app.app_context():
    admin = db.session.scalar(select(User).where(User.email == "admin@demo.test"))
    patient = db.session.scalar(select(User).where(User.email == email))
    template = db.session.scalar(select(SessionTemplate).where(
        SessionTemplate.clinic_id == admin.clinic_id, SessionTemplate.name == template_name,
    ))
    ahead = date.today() + timedelta(days=120)
    session = add_booster(admin, patient.id, template.id, ahead, time(15, 0), room)
    session.scheduled_at = datetime.now(UTC).replace(second=0, microsecond=0)
    db.session.commit()
    print(session.id)
"""


@pytest.fixture
def tablet(browser, playwright, base_url):
    """A Galaxy Tab S4 held landscape, as on a stand in the clinic corridor."""
    context = browser.new_context(
        **playwright.devices["Galaxy Tab S4 landscape"], base_url=base_url
    )
    yield context.new_page()
    context.close()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    """gunicorn on a free port of 127.0.0.1 with fresh demo data, stopped by its PID.

    One per test module, so a module that starts the demo session or writes entries never
    changes what another module sees.
    """
    yield from demo_server(tmp_path_factory, "browser-tests-secret-key-0123456789abcdef")


def demo_server(tmp_path_factory, secret_key: str) -> Iterator[LiveServer]:
    """A live server with freshly seeded demo data for one module (the browser lanes share it)."""
    instance = tmp_path_factory.mktemp("instance")
    port = free_port()
    env = server_env(instance, f"sqlite:///{instance / 'kap.db'}", KAP_SECRET_KEY=secret_key)
    scripts = ScriptRunner(env, instance / "scripts.log")
    server = LiveServer(f"http://127.0.0.1:{port}", env, port=port, scripts=scripts)
    # gunicorn imports the app (seconds) while the demo is seeded beside it: nothing reads
    # the database before the first request, which waits for both.
    server.launch()
    try:
        server.migrate_and_seed()
        server.wait_until_serving()
        yield server
    finally:
        server.scripts.close()
        server.stop()
