"""Backups that restore: the database and the media in one encrypted file (README, "Backups")."""

from kap.services.backup.archive import BackupReport, RestoreReport, make_backup, restore_backup
from kap.services.backup.sealed import BackupError

__all__ = ["BackupError", "BackupReport", "RestoreReport", "make_backup", "restore_backup"]
