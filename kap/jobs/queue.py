"""The Huey instance KAP_JOBS_URL names: a SQLite file for `make run`, Redis or PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from huey import Huey, PostgresHuey, RedisHuey, SqliteHuey

#: The queue's name: every worker sharing a store must use the same one.
QUEUE_NAME = "kap"


def make_huey(url: str, *, name: str = QUEUE_NAME) -> Huey:
    """A Huey on the store ``url`` names; a clear error for any other scheme.

    ``sqlite:///path`` - a file (its folder is made); ``redis://`` / ``rediss://`` - Redis;
    ``postgresql://`` (or SQLAlchemy's ``postgresql+psycopg://``) - PostgreSQL through
    psycopg 3, in tables prefixed ``huey_`` beside the app's own.
    """
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        if not url.startswith("sqlite:///") or not path.name:
            raise RuntimeError(
                f"KAP_JOBS_URL must name a SQLite file (sqlite:///path), not {url!r}."
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(name, filename=str(path), utc=True)
    if scheme in ("redis", "rediss"):
        return RedisHuey(name, url=url, utc=True)
    if scheme in ("postgresql", "postgresql+psycopg", "postgres"):
        dsn = "postgresql" + url[len(scheme) :]
        return PostgresHuey(name, dsn=dsn, utc=True)
    raise RuntimeError(
        "KAP_JOBS_URL must start with sqlite:///, redis://, rediss:// or postgresql://, "
        f"not {scheme or url!r}."
    )
