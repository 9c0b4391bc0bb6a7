"""Failure counters (kap.services.auth.attempt_limits) on the memory storage the tests use."""

from __future__ import annotations

import time

import pytest
from limits.storage import MemoryStorage

from kap.extensions import limiter
from kap.services.auth.attempt_limits import Counter, failures, reserve
from kap.services.errors import RateLimited


def _expire(counter: Counter) -> None:
    """Let the counter's window run out, as the memory storage does when its time comes."""
    storage = limiter.storage
    assert isinstance(storage, MemoryStorage)
    storage.expirations[counter.storage_key] = time.time() - 1


def test_refund_after_the_counter_expired_gives_no_extra_guess(ctx):
    """A right attempt whose refund lands after the window ran out leaves the counter at 0,
    not -1: the next window still refuses the attempt after the limit."""
    counter = Counter.of("2 per 15 minutes", "test", "someone@example.test")
    right_attempt = reserve([counter], "test attempts")
    _expire(counter)
    right_attempt.release()
    assert limiter.storage.get(counter.storage_key) == 0
    reserve([counter], "test attempts")  # two failures: the limit
    reserve([counter], "test attempts")
    with pytest.raises(RateLimited):
        reserve([counter], "test attempts")
    assert failures(counter) == 2


def test_refund_inside_the_window_gives_the_place_back(ctx):
    """The ordinary refund still frees its place: a right attempt does not count."""
    counter = Counter.of("1 per 15 minutes", "test", "staff@example.test")
    reserve([counter], "test attempts").release()
    assert failures(counter) == 0
    reserve([counter], "test attempts")
    with pytest.raises(RateLimited):
        reserve([counter], "test attempts")
