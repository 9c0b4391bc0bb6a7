"""The mixed load of ``make bench``: patients and therapists going about their day.

Run by bench/load.py with locust's own virtualenv (.bench-tools/venv). Each simulated person
signs in once with an account of the bench data set (BENCH_LOCUST_USERS names a JSON file:
patients, therapists, password, totp_secret), then, with a short pause between steps:
patients open their home, journal, next session and its detail, and write entries (the
outbox way: a client_id, sometimes sent twice); therapists open their dashboard, a
patient's timeline and shared entries. Any answer but the expected one is an error.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
import uuid
from pathlib import Path

from locust import FastHttpUser, between, events, task

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.textgen import journal_body
from bench.totp import seconds_to_next_step, totp

ACCOUNTS = json.loads(Path(os.environ["BENCH_LOCUST_USERS"]).read_text())
_free = {"patient": list(ACCOUNTS["patients"]), "therapist": list(ACCOUNTS["therapists"])}
_rng = random.Random(8)  # noqa: S311 - load generation, not security
#: Sign-ins that failed. In a capacity step the statistics are reset once everyone has signed
#: in, so they are written out apart at the end (BENCH_LOCUST_SIGN_INS names the file) and
#: counted as errors by bench/load.py.
SIGN_IN_FAILURES: list[str] = []
#: People who have finished signing in and getting ready (whether it worked or not).
READY = [0]
#: Seconds of steady load a capacity step measures (BENCH_LOCUST_STEADY_SECONDS), else None.
STEADY_SECONDS = float(os.environ.get("BENCH_LOCUST_STEADY_SECONDS") or 0) or None
#: How long a capacity step waits for everyone to sign in before it measures anyway.
READY_TIMEOUT_SECONDS = 90.0


@events.quitting.add_listener
def _report_sign_in_failures(environment, **_kwargs) -> None:
    if os.environ.get("BENCH_LOCUST_SIGN_INS"):
        Path(os.environ["BENCH_LOCUST_SIGN_INS"]).write_text(json.dumps(SIGN_IN_FAILURES))


@events.init.add_listener
def _steady_load(environment, **_kwargs) -> None:
    """In a capacity step: once every user is spawned *and* has signed in, reset the statistics
    and measure ``STEADY_SECONDS`` of steady load, then stop.

    Locust's own --reset-stats resets when the last user is spawned, before the sign-ins it
    started have answered: at a few users, their sign-ins (argon2id, hundreds of ms by design)
    were over 5 % of a step's requests and set its p95 (a step of 5 users behind nginx failed
    on sign-ins alone). The sign-in rush is measured on its own (bench/signin_rush.py).
    """
    if STEADY_SECONDS is None:
        return
    import gevent

    def measure(user_count: int) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while READY[0] < user_count and time.monotonic() < deadline:
            gevent.sleep(0.05)
        environment.runner.stats.reset_all()
        gevent.sleep(STEADY_SECONDS)
        environment.runner.quit()

    environment.events.spawning_complete.add_listener(
        lambda user_count, **_: gevent.spawn(measure, user_count)
    )


class Person(FastHttpUser):
    """Shared sign-in and checks."""

    abstract = True
    wait_time = between(0.5, 2.0)
    role = ""

    def on_start(self) -> None:
        try:
            self.sign_in()
            self.get_ready()
        finally:
            READY[0] += 1

    def get_ready(self) -> None:
        """What the person reads once signed in (their sessions, their patients)."""

    def sign_in(self) -> None:
        email = _free[self.role].pop()
        self.csrf = ""
        self.signed_in = False
        body = {"email": email, "password": ACCOUNTS["password"]}
        for attempt in range(2):
            if self.role == "therapist":
                body["otp"] = totp(ACCOUNTS["totp_secret"])
            with self.client.post(
                "/api/v1/session", json=body, name="sign in", catch_response=True
            ) as response:
                if response.status_code == 200:
                    break
                if attempt == 0 and self.role == "therapist":
                    response.success()  # the code of this step was used: take the next one
                    import gevent

                    gevent.sleep(seconds_to_next_step())
                    continue
                response.failure(f"sign-in {response.status_code}")
                SIGN_IN_FAILURES.append(f"sign-in {response.status_code}")
                return
        self.csrf = response.json()["csrf_token"]
        self.signed_in = True

    def page(self, path: str, name: str) -> None:
        with self.client.get(path, name=name, catch_response=True) as response:
            if response.status_code != 200 or "/signin" in (response.url or ""):
                response.failure(f"{response.status_code} at {response.url}")


class Patient(Person):
    """A patient between sessions: reads, prepares, writes."""

    weight = 7
    role = "patient"

    def get_ready(self) -> None:
        self.session_ids, self.last_client_id = [0], None
        if not self.signed_in:
            return  # every request of this person fails, and counts
        sessions = self.client.get("/api/v1/sessions", name="/api/v1/sessions").json()
        self.session_ids = [s["id"] for s in sessions["sessions"]] or [0]

    @task(3)
    def home(self) -> None:
        self.page("/patient/", "patient home")

    @task(3)
    def journal(self) -> None:
        self.page("/patient/journal", "journal")

    @task(2)
    def session_detail(self) -> None:
        self.page(f"/api/v1/sessions/{_rng.choice(self.session_ids)}", "session detail (API)")

    @task(1)
    def prepare(self) -> None:
        self.page(f"/patient/sessions/{_rng.choice(self.session_ids)}", "session page")

    @task(1)
    def write_entry(self) -> None:
        resend = self.last_client_id is not None and _rng.random() < 0.3
        client_id = self.last_client_id if resend else str(uuid.uuid4())
        body = {"client_id": client_id, "body": journal_body(_rng), "shared": _rng.random() < 0.4}
        with self.client.post(
            "/api/v1/journal",
            json=body,
            # As a browser's outbox sends it: over HTTPS (behind nginx) Flask-WTF requires a
            # same-origin Referer on writes, and the app's Referrer-Policy is same-origin.
            headers={"X-CSRFToken": self.csrf, "Referer": f"{self.host}/"},
            name="write entry (resent)" if resend else "write entry",
            catch_response=True,
        ) as response:
            if response.status_code != (200 if resend else 201):
                response.failure(f"{response.status_code}: {response.text[:200]}")
        self.last_client_id = client_id


class Therapist(Person):
    """A therapist working through their list."""

    weight = 3
    role = "therapist"

    def get_ready(self) -> None:
        self.patient_ids, self.entry_ids = [], []
        if not self.signed_in:
            return
        patients = self.client.get("/api/v1/patients", name="/api/v1/patients").json()
        self.patient_ids = [p["id"] for p in patients["patients"]]
        for patient_id in self.patient_ids[:3]:
            shared = self.client.get(
                f"/api/v1/patients/{patient_id}/journal", name="/api/v1/patients/[id]/journal"
            ).json()
            self.entry_ids += [entry["id"] for entry in shared["entries"][:5]]

    @task(3)
    def dashboard(self) -> None:
        self.page("/therapist/", "therapist dashboard")

    @task(2)
    def timeline(self) -> None:
        if self.patient_ids:
            self.page(f"/therapist/patients/{_rng.choice(self.patient_ids)}", "patient timeline")

    @task(1)
    def shared_entry(self) -> None:
        if self.entry_ids:
            self.page(f"/therapist/entries/{_rng.choice(self.entry_ids)}", "shared entry")
