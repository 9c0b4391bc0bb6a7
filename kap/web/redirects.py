"""Safe post-sign-in redirects: only paths on this site."""

from __future__ import annotations

from urllib.parse import urlsplit


def safe_next_path(target: str | None) -> str | None:
    """``target`` if it is a path on this host, else None.

    Refuses absolute URLs, scheme-relative ``//host`` forms and backslash tricks that some
    browsers read as ``//``.
    """
    if not target or len(target) > 2000:
        return None
    target = target.strip()
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    if any(ord(ch) < 32 for ch in target):
        return None
    return target
