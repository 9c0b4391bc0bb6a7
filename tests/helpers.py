"""Helpers tests share: demo people, CSRF tokens from pages, and signing in as a person would.

Two ways in, both through the real front doors (CSRF included):

- ``ApiClient``: a test client of its own, signed in through ``POST /api/v1/session``; its
  writes carry the ``X-CSRFToken`` header (the ``api_as`` fixture hands these out);
- ``page_client``: a test client of its own, signed in through the ``/signin`` form (the
  ``page_as`` fixture).

``Auth`` signs in and out on a client a test already holds, for tests of signing in itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from kap.demo.seed import DEMO_PASSWORD
from kap.extensions import db
from kap.models import SessionTemplate, User


@dataclass(frozen=True)
class Person:
    """A demo account as tests see it."""

    id: int
    email: str
    role: str
    clinic_id: int
    password: str = DEMO_PASSWORD


def user_by_email(email: str) -> User:
    """The account with ``email`` (inside an app context)."""
    return db.session.scalar(select(User).where(User.email == email))


def demo_template(name: str, clinic_of: str = "admin@demo.test") -> SessionTemplate:
    """The template called ``name`` in ``clinic_of``'s clinic (inside an app context).

    Both demo clinics have an IV template of the same name; a lookup by name alone picks
    either, and PostgreSQL and SQLite pick differently.
    """
    return db.session.scalar(
        select(SessionTemplate).where(
            SessionTemplate.name == name,
            SessionTemplate.clinic_id == user_by_email(clinic_of).clinic_id,
        )
    )


CSRF_INPUT = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|'
    r'type="hidden" name="csrf_token" value="([^"]+)"|'
    r'name="csrf_token" value="([^"]+)"'
)


def page_text(html: str) -> str:
    """What a reader sees of ``html``: the tags (and so their attributes: tokens, ids, digests)
    removed, the whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace(" .", ".")


def csrf_from(html: str) -> str:
    """The CSRF token of the first form in ``html``."""
    match = CSRF_INPUT.search(html)
    assert match, "no CSRF token in page"
    return next(group for group in match.groups() if group)


class Auth:
    """Signs in through the real pages and API, CSRF included."""

    def __init__(self, client: FlaskClient):
        self.client = client
        self.csrf_token: str | None = None

    def login(self, email: str, password: str = DEMO_PASSWORD, next: str | None = None):
        """Post the sign-in form as ``email`` (``next``: where to go after)."""
        page = self.client.get("/signin")
        data = {"csrf_token": csrf_from(page.text), "email": email, "password": password}
        if next is not None:
            data["next"] = next
        return self.client.post("/signin", data=data)

    def logout(self):
        """Press Sign out on the home page."""
        page = self.client.get("/")
        page = self.client.get(page.headers["Location"]) if page.status_code == 302 else page
        return self.client.post("/signout", data={"csrf_token": csrf_from(page.text)})

    def api_login(self, email: str, password: str = DEMO_PASSWORD):
        """Sign in through the API; on success keep the CSRF token it answers."""
        response = self.client.post("/api/v1/session", json={"email": email, "password": password})
        if response.status_code == 200:
            self.csrf_token = response.json["csrf_token"]
        return response

    @property
    def headers(self) -> dict[str, str]:
        """Headers for API writes."""
        return {"X-CSRFToken": self.csrf_token or ""}


class ApiClient:
    """A test client signed in through the JSON API, as the PWA is.

    ``get`` and ``open`` send what they are given; ``post``, ``put``, ``patch`` and ``delete``
    add the CSRF header. ``client`` is the bare test client (for a write without the header).
    """

    def __init__(self, client: FlaskClient, csrf_token: str | None = None):
        self.client = client
        self.csrf_token = csrf_token

    @classmethod
    def signed_in(cls, app: Flask, email: str, password: str = DEMO_PASSWORD) -> ApiClient:
        """A client of its own, signed in as ``email`` (fails the test if sign-in fails)."""
        auth = Auth(app.test_client())
        response = auth.api_login(email, password)
        assert response.status_code == 200, (email, response.status_code, response.json)
        return cls(auth.client, auth.csrf_token)

    @property
    def headers(self) -> dict[str, str]:
        """Headers for API writes."""
        return {"X-CSRFToken": self.csrf_token or ""}

    def get(self, path: str, **kwargs) -> TestResponse:
        return self.client.get(path, **kwargs)

    def open(self, path: str, **kwargs) -> TestResponse:
        return self.client.open(path, **kwargs)

    def post(self, path: str, **kwargs) -> TestResponse:
        return self._write("POST", path, kwargs)

    def put(self, path: str, **kwargs) -> TestResponse:
        return self._write("PUT", path, kwargs)

    def patch(self, path: str, **kwargs) -> TestResponse:
        return self._write("PATCH", path, kwargs)

    def delete(self, path: str, **kwargs) -> TestResponse:
        return self._write("DELETE", path, kwargs)

    def _write(self, method: str, path: str, kwargs: dict) -> TestResponse:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.open(path, method=method, headers=headers, **kwargs)


def page_client(app: Flask, email: str, password: str = DEMO_PASSWORD) -> FlaskClient:
    """A browser of its own, signed in through the sign-in form (fails the test if refused)."""
    client = app.test_client()
    response = Auth(client).login(email, password)
    assert response.status_code == 302, (email, response.status_code)
    return client


#: The shipped intake's yes/no questions (kap/services/measures/definitions/intake.json).
INTAKE_CHOICES = (
    "macrolides",
    "grapefruit",
    "heart",
    "psychosis",
    "psychosis_family",
    "pregnancy",
    "seizures",
    "liver",
    "bladder",
    "glaucoma",
    "drugs",
)
