"""Commands: `flask jobs worker` (production) and `flask run-with-jobs` (what `make run` runs)."""

from __future__ import annotations

import os

import click
from flask import Flask
from flask.cli import AppGroup
from werkzeug.serving import run_simple

from kap.jobs.consumers import start_embedded
from kap.jobs.tasks import jobs_for

jobs_cli = AppGroup("jobs", help="Background jobs (reminders).")


def init_app(app: Flask) -> None:
    """Register the commands."""

    @jobs_cli.command("worker")
    @click.option("--workers", default=2, show_default=True, help="Tasks run at once.")
    @click.option("--processes", is_flag=True, help="Run tasks in processes rather than threads.")
    @click.option(
        "--periodic/--no-periodic",
        default=True,
        show_default=True,
        help="Also enqueue the every-minute tick (one process doing it is enough).",
    )
    @click.option(
        "--metrics-port",
        default=0,
        show_default=True,
        help="Serve this worker's Prometheus metrics on 127.0.0.1:PORT (0: not at all).",
    )
    def worker_command(workers: int, processes: bool, periodic: bool, metrics_port: int) -> None:
        """Run a job worker on KAP_JOBS_URL until SIGINT/SIGTERM (production: Redis or
        PostgreSQL, as many worker processes as you like)."""
        from kap.jobs.consumers import run_worker
        from kap.metrics import serve_metrics

        tasks = jobs_for(app)
        kind = "process" if processes else "thread"
        if metrics_port:
            serve_metrics(metrics_port)
        run_worker(
            tasks.huey,
            workers=workers,
            worker_type=kind,
            periodic=periodic,
            heartbeat_seconds=app.config["WORKER_HEARTBEAT_SECONDS"],
        )

    app.cli.add_command(jobs_cli)

    @app.cli.command("run-with-jobs")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=5000, show_default=True)
    def run_with_jobs_command(host: str, port: int) -> None:
        """Serve the app for development with the job runner in this process, and without
        KAP_SMTP_HOST a local mail sink (messages printed here and at /dev/mail).

        No reloader: it would start a second process, and with it a second job runner.
        """
        from kap.dev.mail_sink import use_dev_mail_sink
        from kap.dev.views import SINK_EXTENSION

        if "KAP_BASE_URL" not in os.environ:  # links in reminder e-mails lead here
            app.config["BASE_URL"] = f"http://{host}:{port}"
        if not app.config.get("SMTP_HOST"):
            sink = use_dev_mail_sink(app.config, app.config["DEV_MAIL_PORT"])
            app.extensions[SINK_EXTENSION] = sink
            click.echo(f"Mail goes to a local sink on 127.0.0.1:{sink.port} (see /dev/mail).")
        consumer = start_embedded(
            jobs_for(app).huey, heartbeat_seconds=app.config["WORKER_HEARTBEAT_SECONDS"]
        )
        click.echo(f"Background jobs run in this process ({app.config['JOBS_URL']}).")
        try:
            # werkzeug directly: Flask's app.run() refuses to run inside a `flask` command.
            run_simple(host, port, app, use_reloader=False, threaded=True)
        finally:
            consumer.stop(graceful=True)
