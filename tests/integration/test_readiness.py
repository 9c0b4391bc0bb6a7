"""/readyz and the job worker's heartbeat (issue 18, item 5): ok, stale or missing, with its
age; in production a worker that does not beat makes the app server not ready."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
import urllib.request
from dataclasses import replace

import pytest
from huey import SqliteHuey

from kap.config import ProductionConfig
from kap.jobs.consumers import start_embedded
from kap.jobs.heartbeat import Heartbeat, beat, last_beat
from kap.jobs.observe import observe
from kap.jobs.queue import make_huey
from kap.jobs.tasks import JOBS_EXTENSION, jobs_for
from kap.metrics import JOB_EVENTS, serve_metrics
from kap.web.logs import JsonFormatter
from tests.servers import free_port


@pytest.fixture
def huey(app):
    """The app's own job queue (a SQLite file of the test's)."""
    return jobs_for(app).huey


def test_readyz_reports_a_fresh_heartbeat_as_ok(app, client, huey):
    """A worker that beat just now: worker ok, its age in seconds, 200."""
    app.config["READY_NEEDS_WORKER"] = True
    beat(huey, time.time() - 3)
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok", "rate_limit_storage": "ok", "worker": "ok"}
    assert 3 <= body["worker_age_seconds"] <= 30


def test_readyz_fails_on_a_stale_heartbeat_in_production(app, client, huey):
    """A heartbeat older than WORKER_STALE_SECONDS is stale: 503 where a worker is required."""
    app.config["READY_NEEDS_WORKER"] = True
    beat(huey, time.time() - app.config["WORKER_STALE_SECONDS"] - 240)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["checks"]["worker"] == "stale"
    assert body["checks"]["database"] == "ok"
    assert body["worker_age_seconds"] >= app.config["WORKER_STALE_SECONDS"] + 240


def test_readyz_fails_without_any_heartbeat_in_production(app, client):
    """No worker ever beat: missing, no age, 503 where a worker is required."""
    app.config["READY_NEEDS_WORKER"] = True
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["worker"] == "missing"
    assert response.get_json()["worker_age_seconds"] is None


def test_readyz_only_reports_the_worker_outside_production(app, client, huey):
    """In development and tests a stale or missing worker is reported, not a failure."""
    assert app.config["READY_NEEDS_WORKER"] is False
    assert client.get("/readyz").get_json()["checks"]["worker"] == "missing"
    beat(huey, time.time() - 3600)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"]["worker"] == "stale"


def test_production_requires_a_worker_and_logs_json():
    """The production profile fails /readyz without a worker and logs JSON lines."""
    assert ProductionConfig.READY_NEEDS_WORKER is True
    assert ProductionConfig.LOG_FORMAT == "json"


def test_an_unreadable_jobs_store_counts_as_missing(app, client):
    """A jobs store that cannot be reached (Redis on a closed port) or opened (a SQLite file in
    a folder that does not exist) answers missing, never a 500."""
    app.config["READY_NEEDS_WORKER"] = True
    app.extensions[JOBS_EXTENSION] = replace(jobs_for(app), huey=make_huey("redis://127.0.0.1:1/0"))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["worker"] == "missing"
    del app.extensions[JOBS_EXTENSION]
    app.config["JOBS_URL"] = "sqlite:////proc/no-such-folder/jobs.sqlite3"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["worker"] == "missing"


def test_the_heartbeat_thread_keeps_readyz_ok_until_stopped(app, client, huey):
    """A running Heartbeat writes at once and again every interval; after stop() it writes no
    more."""
    app.config["READY_NEEDS_WORKER"] = True
    heartbeat = Heartbeat(huey, interval=0.05).start()
    try:
        deadline = time.monotonic() + 10
        while last_beat(huey) is None and time.monotonic() < deadline:
            time.sleep(0.01)
        first = last_beat(huey)
        assert client.get("/readyz").status_code == 200
        while last_beat(huey) == first and time.monotonic() < deadline:
            time.sleep(0.01)
        assert last_beat(huey) > first
    finally:
        heartbeat.stop()
    stopped_at = last_beat(huey)
    time.sleep(0.2)
    assert last_beat(huey) == stopped_at


def test_a_worker_counts_its_jobs_beats_and_logs_the_job_id(tmp_path):
    """A consumer (as `make run` embeds it) beats, counts queued, succeeded and failed jobs by
    task, and every line a job logs carries that job's id."""
    queue = SqliteHuey("kap-observe", filename=str(tmp_path / "jobs.sqlite3"), utc=True)
    observe(queue)
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(JsonFormatter())
    job_log = logging.getLogger("tests.job")
    job_log.addHandler(handler)
    job_log.setLevel(logging.INFO)
    done = threading.Event()

    @queue.task(name="tests.greet")
    def greet() -> str:
        job_log.info("working on it")
        done.set()
        return "done"

    @queue.task(name="tests.fail")
    def fail() -> None:
        raise RuntimeError("a message that may quote input")

    def count(task: str, event: str) -> float:
        return JOB_EVENTS.labels(task, event)._value.get()

    before = {key: count(*key) for key in (("tests.greet", "queued"), ("tests.greet",
              "succeeded"), ("tests.fail", "queued"), ("tests.fail", "failed"))}  # fmt: skip
    consumer = start_embedded(queue, workers=1, heartbeat_seconds=0.05)
    try:
        ok = greet()
        failing = fail()
        assert ok.get(blocking=True, timeout=20) == "done"
        with pytest.raises(Exception, match="RuntimeError"):
            failing.get(blocking=True, timeout=20)
        assert last_beat(queue) is not None
    finally:
        consumer.stop(graceful=True)
        job_log.removeHandler(handler)
    assert count("tests.greet", "queued") - before[("tests.greet", "queued")] == 1
    assert count("tests.greet", "succeeded") - before[("tests.greet", "succeeded")] == 1
    assert count("tests.fail", "queued") - before[("tests.fail", "queued")] == 1
    assert count("tests.fail", "failed") - before[("tests.fail", "failed")] == 1
    (line,) = [json.loads(text) for text in lines.getvalue().splitlines()]
    assert line["job_id"] == ok.id
    assert line["message"] == "working on it"
    assert line["logger"] == "tests.job"
    assert line["level"] == "INFO"


def test_a_worker_serves_its_metrics_on_a_port_of_its_own():
    """`flask jobs worker --metrics-port` has no web app: its job counts are served apart."""
    JOB_EVENTS.labels("tests.served", "succeeded").inc()
    server = serve_metrics(free_port())
    try:
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
    finally:
        server.shutdown()
        server.server_close()
    assert 'kap_jobs_total{event="succeeded",task="tests.served"}' in text
