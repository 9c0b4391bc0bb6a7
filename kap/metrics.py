"""The app's Prometheus metrics: what is counted, under which labels, and the exposition.

Labels never carry patient data: requests are labelled by the Flask endpoint name (never the
URL, which holds ids and tokens), replays and sign-in failures by their kind, jobs by the
task's name, open Call staff alerts by clinic id at most.

Under gunicorn the counters live in per-process files in ``PROMETHEUS_MULTIPROC_DIR``
(prometheus_client's multiprocess mode, chosen when the variable is set before the first
metric is made: gunicorn.conf.py sets it); a scrape of any worker adds up every worker's
files. Without it (``make run``, tests, one process) the plain in-process registry is read.
Values read from the database (open alerts) are read at scrape time by a collector, never
kept in a process.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

#: The environment variable that switches prometheus_client to its multiprocess mode.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: The exposition's content type: the text format every Prometheus version reads.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

#: One observation per request (kap/web/request_log.py): its ``_count`` is the requests by
#: endpoint and status, its buckets the latency. One histogram rather than a histogram and a
#: counter keeps the per-request cost to a single observe.
REQUEST_SECONDS = Histogram(
    "kap_http_request_duration_seconds",
    "Time from the request reaching the app to its response, by Flask endpoint and status.",
    ["endpoint", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
#: An API write sent again with a client_id the server already has (a phone's outbox retrying
#: after a lost answer); the kinds are in REPLAY_KINDS.
OUTBOX_REPLAYS = Counter(
    "kap_outbox_replays",
    "API writes repeated with a client_id the server already had, by kind.",
    ["kind"],
)
REPLAY_KINDS = ("journal_entry", "measure", "call_staff", "phase")
#: Sign-in attempts refused: a wrong password or code (``failure``), or refused unchecked
#: because a failure limit is full (``limited``); ``step`` is password or second_factor.
SIGNIN_REFUSALS = Counter(
    "kap_signin_refusals",
    "Sign-in attempts refused, by step (password, second_factor) and reason (failure, limited).",
    ["step", "reason"],
)
#: Background jobs by task name and event (queued, succeeded, failed), from Huey's signals.
JOB_EVENTS = Counter(
    "kap_jobs",
    "Background job events by task and event (queued, succeeded, failed).",
    ["task", "event"],
)


def count_replay(kind: str) -> None:
    """Count one outbox replay of ``kind`` (one of REPLAY_KINDS)."""
    OUTBOX_REPLAYS.labels(kind).inc()


def count_signin_refusal(step: str, reason: str) -> None:
    """Count a refused sign-in step: ``step`` password|second_factor, ``reason``
    failure|limited."""
    SIGNIN_REFUSALS.labels(step, reason).inc()


def multiprocess_mode() -> bool:
    """Whether counters are kept in per-process files (several gunicorn workers)."""
    return bool(os.environ.get(MULTIPROC_ENV))


class ScrapeTimeGauge:
    """A gauge whose values are read when Prometheus scrapes (from the database), so no
    process keeps a copy that could go stale. ``read`` returns {label value: number}."""

    def __init__(
        self, name: str, documentation: str, label: str, read: Callable[[], Mapping[str, float]]
    ) -> None:
        self.name, self.documentation, self.label, self.read = name, documentation, label, read

    def collect(self) -> Iterator[Metric]:
        try:
            values = self.read()
        except Exception as error:  # the database is away: the other metrics still matter
            log.warning("metric %s not read: %s", self.name, type(error).__name__)
            return
        gauge = GaugeMetricFamily(self.name, self.documentation, labels=[self.label])
        for value, number in values.items():
            gauge.add_metric([value], number)
        yield gauge


class _Scrape:
    """The collectors of one scrape: the counters (every worker's, in multiprocess mode) and
    the scrape-time gauges."""

    def __init__(self, extra: Iterable[Collector]) -> None:
        if multiprocess_mode():
            # A fresh registry: the default one also holds this process's own collectors
            # (process, platform, gc), which would describe one worker as if it were all.
            base: Collector = CollectorRegistry()
            MultiProcessCollector(base)  # type: ignore[no-untyped-call]
        else:
            base = REGISTRY
        self.collectors = [base, *extra]

    def collect(self) -> Iterator[Metric]:
        for collector in self.collectors:
            yield from collector.collect()


def exposition(extra: Iterable[Collector] = ()) -> bytes:
    """Every metric in Prometheus' text format, with ``extra`` collectors read now."""
    return generate_latest(_Scrape(extra))


def serve_metrics(port: int) -> WSGIServer:
    """Serve the metrics on 127.0.0.1:``port`` from a daemon thread (a job worker, which has
    no web server of its own); the host's Prometheus reaches it there. Returns the server
    (``shutdown()`` stops it)."""
    from prometheus_client import start_http_server

    server, _thread = start_http_server(port, addr="127.0.0.1", registry=_Scrape(()))
    return server
