"""Metrics and logs as production serves them (issue 18, item 5): a real gunicorn with two
worker processes and the repository's gunicorn.conf.py. A scrape answered by either worker
adds up both workers' counters (prometheus_client's multiprocess mode), and every request
writes one JSON line with the id the response echoes."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.multiprocess import MultiProcessCollector

from tests.integration.test_metrics import requests_counted
from tests.servers import Server, free_port, server_env, start_gunicorn, stop, wait_for

TOKEN = "gunicorn-metrics-token-0123456789"


class Served(Server):
    """The gunicorn under test, its metrics folder and its stderr."""

    metrics_dir: Path
    log_file: Path

    def get(self, path: str, headers: dict[str, str] | None = None):
        """(status, headers, body) of GET ``path``, redirects not followed."""

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        opener = urllib.request.build_opener(NoRedirect)
        request = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with opener.open(request, timeout=10) as response:
                return response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read().decode()

    def scrape(self) -> str:
        status, _, body = self.get("/metrics", {"Authorization": f"Bearer {TOKEN}"})
        assert status == 200
        return body

    def log_lines(self) -> list[str]:
        return [line for line in self.log_file.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    """gunicorn, two workers, JSON logs, one trusted proxy, a metrics token, its own folder."""
    instance = tmp_path_factory.mktemp("metrics-instance")
    metrics_dir = instance / "prometheus"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"")  # an earlier run's file: emptied at start
    env = server_env(
        instance,
        f"sqlite:///{instance / 'kap.db'}",
        KAP_METRICS_TOKEN=TOKEN,
        KAP_LOG_FORMAT="json",
        KAP_TRUSTED_PROXIES="1",
        KAP_JOBS_URL=f"sqlite:///{instance / 'jobs.sqlite3'}",
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
    )
    port = free_port()
    served = Served(f"http://127.0.0.1:{port}", env)
    served.metrics_dir, served.log_file = metrics_dir, instance / "stderr.log"
    served.flask("db", "upgrade", check=True)
    with served.log_file.open("wb") as stderr:
        process = start_gunicorn(env, port, "--workers", "2", stderr=stderr)
        try:
            wait_for(f"{served.url}/healthz", process=process)
            yield served
        finally:
            stop(process)


def _favicon_count_per_worker(metrics_dir: Path) -> dict[str, float]:
    """Each worker's own count of /favicon.ico requests, read from its file alone."""
    counts = {}
    for file in sorted(metrics_dir.glob("histogram_*.db")):
        text_samples = [
            sample
            for metric in MultiProcessCollector.merge([str(file)])
            for sample in metric.samples
            if sample.name == "kap_http_request_duration_seconds_count"
            and sample.labels == {"endpoint": "main.favicon", "status": "301"}
        ]
        counts[file.stem] = sum(sample.value for sample in text_samples)
    return counts


def test_a_scrape_adds_up_every_workers_counters(served):
    """Requests spread over both workers; whichever worker answers a scrape counts them all."""
    assert not (served.metrics_dir / "counter_1.db").exists()
    sent = 0
    lock = threading.Lock()

    def fetch(times: int) -> None:
        nonlocal sent
        for _ in range(times):
            assert served.get("/favicon.ico")[0] == 301
            with lock:
                sent += 1

    for _ in range(30):  # until both workers have served some (usually the first batch)
        threads = [threading.Thread(target=fetch, args=(5,)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        per_worker = _favicon_count_per_worker(served.metrics_dir)
        if len([count for count in per_worker.values() if count > 0]) >= 2:
            break
    assert len([count for count in per_worker.values() if count > 0]) == 2, per_worker
    assert sum(per_worker.values()) == sent
    for _ in range(6):  # scrapes land on either worker: each sees the same total
        assert requests_counted(served.scrape(), "main.favicon", "301") == sent


def test_metrics_through_gunicorn_need_the_token(served):
    """The token is checked under gunicorn too: no header, a wrong one → 404."""
    assert served.get("/metrics")[0] == 404
    assert served.get("/metrics", {"Authorization": "Bearer not-it-0123456789abcd"})[0] == 404


def test_each_request_is_one_json_line_with_the_echoed_id(served):
    """A trusted proxy's id is echoed and logged; a forged one with junk is replaced by a new
    id, which is the one logged; no line has the path; every line is a JSON object."""
    status, headers, _ = served.get("/favicon.ico", {"X-Request-ID": "edge-7f3a.19_b"})
    assert status == 301
    assert headers["X-Request-ID"] == "edge-7f3a.19_b"
    _, junk_headers, _ = served.get("/healthz", {"X-Request-ID": "../../etc/passwd"})
    replaced = junk_headers["X-Request-ID"]
    assert replaced != "../../etc/passwd"
    lines = served.log_lines()
    records = [json.loads(line) for line in lines]  # every line is JSON
    by_id = {record.get("request_id"): record for record in records if "endpoint" in record}
    kept = by_id["edge-7f3a.19_b"]
    assert (kept["method"], kept["endpoint"], kept["status"]) == ("GET", "main.favicon", 301)
    assert kept["duration_ms"] >= 0 and kept["level"] == "INFO"
    assert by_id[replaced]["endpoint"] == "main.healthz"
    text = "\n".join(lines)
    assert "etc/passwd" not in text
    assert "favicon.ico" not in text
