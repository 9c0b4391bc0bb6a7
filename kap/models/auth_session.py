"""Server-side sign-in sessions: a random id in the cookie, this row in the database."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kap.models.base import Model, UTCDateTime, utcnow

if TYPE_CHECKING:
    from kap.models.people import User


class AuthSession(Model):
    """One browser's session. Deleting or revoking the row ends it, whatever the cookie says.

    The primary key is the SHA-256 of the cookie's token, so a database dump holds no
    usable session cookies.
    """

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))

    #: Loaded with the row when a request opens its session (one query for session, user and
    #: clinic), so Flask-Login's user loader finds the user already in the identity map.
    user: Mapped[User | None] = relationship(lazy="raise", viewonly=True)
