"""Flask commands: ``flask --app wsgi seed-demo`` and friends."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask

from kap import audit_anchor
from kap.services import audit, backup, key_rotation
from kap.services.auth.signin import prune_expired_sessions


def init_app(app: Flask) -> None:
    """Register the commands."""
    from kap.jobs import cli as jobs_cli

    jobs_cli.init_app(app)

    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Only seed when the database has no clinic.")
    def seed_demo_command(if_empty: bool) -> None:
        """Create the demo clinics and accounts (idempotent)."""
        from kap.demo import seed as demo  # the demo's content loads only for this command

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

    @app.cli.command("backup")
    @click.option(
        "--output",
        type=click.Path(dir_okay=False, path_type=Path),
        help="The file to write (default: kap-backup-<UTC time>.kapbackup here); never "
        "overwritten.",
    )
    def backup_command(output: Path | None) -> None:
        """Write the database and the media folder to one file encrypted with KAP_BACKUP_KEY."""
        try:
            report = backup.make_backup(output)
        except backup.BackupError as error:
            raise click.ClickException(str(error)) from None
        manifest = report.manifest
        click.echo(
            f"Backup written to {report.path} ({report.size} bytes, key {report.key_id}): "
            f"{manifest.database_kind} database at {manifest.revision}, "
            f"{sum(manifest.row_counts.values())} rows in {len(manifest.row_counts)} tables, "
            f"{len(manifest.media)} media files."
        )

    @app.cli.command("restore")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    def restore_command(file: Path) -> None:
        """Restore a backup into the empty database of KAP_DATABASE_URL and the media folder."""
        try:
            report = backup.restore_backup(file)
        except backup.BackupError as error:
            raise click.ClickException(str(error)) from None
        manifest = report.manifest
        click.echo(
            f"Restored the backup of {manifest.created_at}: "
            f"{sum(manifest.row_counts.values())} rows in {len(manifest.row_counts)} tables, "
            f"{report.media_written} media files written "
            f"({report.media_already_there} were already in place)."
        )
        if report.needs_upgrade:
            click.echo("The backup predates this code: run `flask --app wsgi db upgrade` next.")
        click.echo("Check it with `flask --app wsgi audit-verify`.")
