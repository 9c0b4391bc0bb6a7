"""What the auth views share about throttled attempts: who is asking, and the 429 answer."""

from __future__ import annotations

from flask import request

from kap.services.errors import RateLimited


def client_address() -> str:
    """The address failure limits count against (empty when unknown)."""
    return request.remote_addr or ""


def too_many_attempts(page: tuple, error: RateLimited) -> tuple:
    """``page`` (body, status[, headers]) answered as 429 with Retry-After."""
    headers = {**(page[2] if len(page) > 2 else {}), "Retry-After": str(error.retry_after)}
    return page[0], 429, headers
