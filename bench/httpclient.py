"""A small cookie-keeping HTTP client (stdlib) and the benchmark's sign-in over the JSON API."""

# ruff: noqa: S310 - a benchmark tool: it runs the commands it is written to run

from __future__ import annotations

import http.cookiejar
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from bench.totp import seconds_to_next_step, totp

COOKIE_NAME = "kap_session"


@dataclass(frozen=True)
class SignedIn:
    """A signed-in account: its session cookie and CSRF token, for tools that replay them."""

    email: str
    role: str
    user_id: int
    cookie: str
    csrf_token: str

    @property
    def cookie_header(self) -> str:
        return f"{COOKIE_NAME}={self.cookie}"


class Client:
    """urllib with a cookie jar; answers (status, headers, body) and never raises on a status."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.csrf_token = ""

    def request(self, method: str, path: str, body: dict | None = None, timeout: float = 30):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.csrf_token:
            request.add_header("X-CSRFToken", self.csrf_token)
        try:
            with self.opener.open(request, timeout=timeout) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()

    def json(self, method: str, path: str, body: dict | None = None) -> dict:
        status, _, raw = self.request(method, path, body)
        if status >= 400:
            raise RuntimeError(f"{method} {path}: {status} {raw[:300]!r}")
        return json.loads(raw)

    def cookie(self) -> str:
        for cookie in self.jar:
            if cookie.name == COOKIE_NAME:
                return cookie.value or ""
        return ""


def sign_in(base: str, email: str, password: str, totp_secret: str | None = None) -> SignedIn:
    """Sign in through POST /api/v1/session (with an authenticator code for clinicians)."""
    client = Client(base)
    for attempt in range(2):
        body = {"email": email, "password": password}
        if totp_secret:
            body["otp"] = totp(totp_secret)
        status, _, raw = client.request("POST", "/api/v1/session", body)
        if status == 200:
            break
        if attempt == 0 and totp_secret and status == 401:
            time.sleep(seconds_to_next_step())  # each code works once: wait for the next
            continue
        raise RuntimeError(f"sign-in of {email} failed: {status} {raw[:300]!r}")
    data = json.loads(raw)
    user = data["user"]
    return SignedIn(email, user["role"], user["id"], client.cookie(), data["csrf_token"])


def client_for(base: str, account: SignedIn) -> Client:
    """A client that carries ``account``'s session."""
    client = Client(base)
    cookie = http.cookiejar.Cookie(
        0, COOKIE_NAME, account.cookie, None, False, "127.0.0.1", False, False,
        "/", True, False, None, False, None, None, {},
    )  # fmt: skip
    client.jar.set_cookie(cookie)
    client.csrf_token = account.csrf_token
    return client
