"""Flask commands: ``flask --app wsgi seed-demo`` and friends."""

from __future__ import annotations

import click
from flask import Flask

from kap import audit_anchor
from kap.demo import seed as demo
from kap.services import audit, key_rotation
from kap.services.auth.signin import prune_expired_sessions


def init_app(app: Flask) -> None:
    """Register the commands."""
    from kap.jobs import cli as jobs_cli

    jobs_cli.init_app(app)

    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Only seed when the database has no clinic.")
    def seed_demo_command(if_empty: bool) -> None:
        """Create the demo clinics and accounts (idempotent)."""
        if if_empty and not demo.database_is_empty():
            click.echo("Database already has data; demo not re-seeded.")
            accounts = demo.DEMO_ACCOUNTS
        else:
            accounts = demo.seed_demo()
            click.echo("Demo data is in place.")
        click.echo(f"Demo logins (password for all: {demo.DEMO_PASSWORD}):")
        for account in accounts:
            click.echo(f"  {account.email:<24} {account.role.value:<13} {account.clinic_slug}")

    @app.cli.command("audit-verify")
    @click.option(
        "--anchor",
        default="",
        help="A head written earlier ('flask audit-anchor', or the log): ID:HMAC.",
    )
    def audit_verify_command(anchor: str) -> None:
        """Check the audit log's HMAC chain (and that it still reaches an earlier head);
        exit 1 naming the first broken rows."""
        problems = [f"row {p.event_id}: {p.reason}" for p in audit.verify_chain()]
        if anchor and (problem := audit.anchor_problem(anchor)):
            problems.append(f"anchor: {problem}")
        if problems:
            for problem in problems[:20]:
                click.echo(problem, err=True)
            raise SystemExit(1)
        click.echo("Audit log intact." + (" It reaches the anchor." if anchor else ""))

    @app.cli.command("audit-anchor")
    def audit_anchor_command() -> None:
        """Print the audit chain's head (ID:HMAC) and write it to the log, for keeping outside
        the database; give it to audit-verify --anchor later."""
        click.echo(audit_anchor.log_head() or "The audit log is empty.")

    @app.cli.command("rotate-keys")
    def rotate_keys_command() -> None:
        """Re-encrypt journal text, intentions, comments, notes and TOTP secrets with the
        newest key in KAP_DATA_KEYS (older keys can be removed afterwards)."""
        report = key_rotation.rotate_keys()
        click.echo(
            f"Re-encrypted {report.rewritten} values; {report.already_current} already used "
            "the newest key."
        )

    @app.cli.command("prune-sessions")
    def prune_sessions_command() -> None:
        """Delete expired and revoked sign-in sessions."""
        click.echo(f"Removed {prune_expired_sessions(batch=None)} sessions.")
