"""Media storage: one home for where uploaded audio, recordings and prompt tracks are kept.

``media_store()`` is the app's configured store (KAP_MEDIA_STORE, kap/config.py): ``folder``
(files under MEDIA_DIR, the embedded default) or ``database`` (chunked rows in the app's own
database, the default on PostgreSQL: every app server reads the same media, and one
``pg_dump`` holds it). Every reader and writer of media goes through it.
"""

from __future__ import annotations

from pathlib import Path

from flask import current_app

from kap.extensions import db
from kap.services.media.database import DatabaseStore
from kap.services.media.folder import FolderStore
from kap.services.media.store import MediaMissing, MediaStore, Stored, copy_limited, megabytes

__all__ = [
    "DatabaseStore",
    "FolderStore",
    "MediaMissing",
    "MediaStore",
    "Stored",
    "copy_limited",
    "media_dir",
    "media_store",
    "megabytes",
]


def media_dir() -> Path:
    """The folder store's root (KAP_MEDIA_DIR, default instance/media), made if missing."""
    path = Path(current_app.config["MEDIA_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def media_store() -> MediaStore:
    """The store the app is configured with (cheap: made per call from the settings)."""
    if current_app.config["MEDIA_STORE"] == "database":
        return DatabaseStore(db.engine)
    return FolderStore(media_dir())
