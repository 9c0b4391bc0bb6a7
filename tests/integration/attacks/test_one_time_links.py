"""An invitation link is used exactly once, even by simultaneous requests (issue 13,
finding 5). Before the fix, 4 of 8 parallel acceptances succeeded in production (6 of 6 on
dev) and as many browsers were signed in."""

from __future__ import annotations

import re

import requests

from tests.integration.attacks.helpers import race

ATTEMPTS = 12
NEW_PASSWORD = "a-long-new-password-for-the-race"

_INVITE = """
from sqlalchemy import select
from wsgi import app
from kap.extensions import db
from kap.models import User
from kap.services.people.invitations import invite_person
with app.app_context():
    admin = db.session.scalar(select(User).where(User.email == "admin@demo.test"))
    issued = invite_person(admin, name="Riley Race", email="{email}", role="patient",
                           link_for=lambda token: token)
    print(issued.token)
"""


def _accept_all_at_once(target, email: str) -> list[requests.Response]:
    """Open the link in twelve browsers, then submit all twelve forms at the same instant."""
    token = target.python(_INVITE.format(email=email)).strip().splitlines()[-1]
    url = f"{target.url}/invite/{token}"
    browsers = []
    for _ in range(ATTEMPTS):
        browser = requests.Session()
        page = browser.get(url, timeout=30)
        assert page.status_code == 200
        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
        browsers.append((browser, csrf.group(1)))

    def submit(index: int) -> requests.Response:
        browser, csrf = browsers[index]
        return browser.post(
            url,
            data={"csrf_token": csrf, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
            allow_redirects=False,
            timeout=60,
        )

    return race(ATTEMPTS, submit)


def _assert_exactly_one_signed_in(responses: list[requests.Response]) -> None:
    statuses = [response.status_code for response in responses]
    assert statuses.count(302) == 1, statuses
    assert statuses.count(404) == ATTEMPTS - 1, statuses
    signed_in = [r for r in responses if "kap_session" in r.cookies]
    assert len(signed_in) == 1


def test_parallel_acceptance_succeeds_once_in_process(dev_server):
    """The threaded dev server: one acceptance wins, eleven see 'already used'."""
    _assert_exactly_one_signed_in(_accept_all_at_once(dev_server, "riley.dev@demo.test"))


def test_parallel_acceptance_succeeds_once_on_four_workers(gunicorn_server):
    """Four gunicorn workers: one acceptance wins, eleven see 'already used'."""
    _assert_exactly_one_signed_in(_accept_all_at_once(gunicorn_server, "riley.prod@demo.test"))
