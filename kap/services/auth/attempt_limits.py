"""Failure limits that hold under concurrency: an attempt is reserved before it is checked.

Checking "under the limit?" and counting a failure afterwards lets thirty simultaneous guesses
all pass the check before the first failure is counted. Instead each attempt first takes a
place in every counter it touches with the storage's atomic increment (Redis INCRBY in a Lua
script; a per-key lock in memory), is refused at once when that makes a counter pass its
limit, and gives the place back when it turns out right: only failures stay counted, so staff
sharing an address never use up its allowance by signing in. A counter's window starts at its
first failure and lasts the limit's period.

When the storage cannot be reached (Redis down), attempts fail closed with Unavailable (503):
no guess is checked uncounted.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from flask import current_app
from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import Storage
from redis.exceptions import RedisError

from kap.extensions import limiter
from kap.services.errors import RateLimited, Unavailable

#: What a broken limits storage raises (wrapped or not).
STORAGE_ERRORS = (StorageError, RedisError, ConnectionError, TimeoutError)
UNAVAILABLE_MESSAGE = (
    "Signing in is unavailable for a moment (the attempt counter cannot be reached). "
    "Nothing was checked; please try again in a minute."
)


@dataclass(frozen=True)
class Counter:
    """One failure counter: a limit such as '5 per 15 minutes' for one scope and key."""

    limit: RateLimitItem
    scope: str
    key: str

    @classmethod
    def of(cls, limit: str, scope: str, key: str) -> Counter:
        return cls(parse(limit), scope, key or "-")

    @property
    def storage_key(self) -> str:
        prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or "kap"
        return f"{prefix}/failures/{self.scope}/{self.key}"


class Reservation:
    """Places taken in counters. A failed attempt leaves them taken (it counts); a right one
    gives them back with ``release``."""

    def __init__(self, counters: list[Counter]) -> None:
        self.counters = counters

    def release(self) -> None:
        """The attempt was right: it does not count as a failure."""
        _change(self.counters, -1)


def _storage() -> Storage:
    return limiter.storage


def _change(counters: list[Counter], amount: int) -> None:
    """Add ``amount`` (a refund: -1) to every counter, never leaving one below zero.

    A refund that lands after its counter expired would create it at -1 with a fresh expiry,
    one extra guess for the next attempt. Such a result is corrected back to 0 with a second
    atomic increment (adding exactly what went below zero, so places reserved in between by
    others stay counted). Residual window: between the two increments a concurrent attempt
    may see a count one lower than it is — only on a counter that had just expired, so far
    below any limit.
    """
    try:
        for counter in counters:
            expiry = counter.limit.get_expiry()
            count = _storage().incr(counter.storage_key, expiry, amount)
            if count < 0:
                _storage().incr(counter.storage_key, expiry, -count)
    except STORAGE_ERRORS:
        raise Unavailable(UNAVAILABLE_MESSAGE) from None


def reserve(counters: list[Counter], what: str) -> Reservation:
    """Take a place in every counter, or raise RateLimited (nothing taken) when one is full.

    ``what`` names the attempts in the message ("sign-in attempts", "code attempts").
    """
    taken: list[Counter] = []
    try:
        for counter in counters:
            count = _storage().incr(counter.storage_key, counter.limit.get_expiry(), 1)
            taken.append(counter)
            if count > counter.limit.amount:
                wait = max(1, math.ceil(_storage().get_expiry(counter.storage_key) - time.time()))
                _change(taken, -1)  # a refused attempt is not a failure either
                minutes = math.ceil(wait / 60)
                raise RateLimited(
                    f"Too many failed {what}. "
                    f"Please wait {minutes} minute{'s' if minutes != 1 else ''} and try again.",
                    retry_after=wait,
                )
    except STORAGE_ERRORS:
        raise Unavailable(UNAVAILABLE_MESSAGE) from None
    return Reservation(taken)


def failures(counter: Counter) -> int:
    """How many failures a counter holds now (for tests and the admin's eyes)."""
    try:
        return max(_storage().get(counter.storage_key), 0)
    except STORAGE_ERRORS:
        raise Unavailable(UNAVAILABLE_MESSAGE) from None
