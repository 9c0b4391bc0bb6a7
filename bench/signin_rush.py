"""The sign-in rush: fifty people signing in at the same moment (a group session day).

``rush`` releases ``count`` threads together (a barrier) against POST /api/v1/session on a
running server and reports the latency of each sign-in (p50, p95, max). Every sign-in runs
argon2id once, so the figure says how the server's workers queue behind password hashing.

``python -m bench.signin_rush`` prints what one argon2id hash costs on this machine for the
configured parameters and for the rows of OWASP's Password Storage Cheat Sheet, which is how
kap/config.py's ARGON2_* were chosen (docs/benchmarks.md).
"""

from __future__ import annotations

import statistics
import threading
import time

from bench.httpclient import Client

#: OWASP Password Storage Cheat Sheet, argon2id rows (memory KiB, iterations, parallelism),
#: equally strong by its reckoning; the first is the row kap/config.py uses.
OWASP_ROWS = [(19456, 2, 1), (47104, 1, 1), (12288, 3, 1), (9216, 4, 1), (7168, 5, 1)]
#: The parameters before issue 18 (argon2-cffi's RFC 9106 low-memory profile), for comparison.
EARLIER = (65536, 3, 4)


def rush(base: str, emails: list[str], password: str) -> dict:
    """Sign ``emails`` in all at once (threads released by a barrier); latency in ms."""
    barrier = threading.Barrier(len(emails))
    timings: list[float | None] = [None] * len(emails)

    def sign_in(index: int) -> None:
        client = Client(base)
        barrier.wait()
        started = time.perf_counter()
        status, _, _ = client.request(
            "POST", "/api/v1/session", {"email": emails[index], "password": password}, timeout=60
        )
        if status == 200:
            timings[index] = (time.perf_counter() - started) * 1000

    threads = [threading.Thread(target=sign_in, args=(i,)) for i in range(len(emails))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done = sorted(t for t in timings if t is not None)
    if not done:
        return {"count": len(emails), "errors": len(emails)}
    return {
        "count": len(emails),
        "errors": len(emails) - len(done),
        "p50_ms": round(statistics.median(done), 1),
        "p95_ms": round(done[min(len(done) - 1, int(0.95 * len(done)))], 1),
        "max_ms": round(done[-1], 1),
    }


def hash_cost_ms(memory_kib: int, iterations: int, parallelism: int, repeat: int = 7) -> float:
    """The median time of one argon2id hash with these parameters on this machine."""
    from argon2 import PasswordHasher, Type

    hasher = PasswordHasher(
        time_cost=iterations, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
    )
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        hasher.hash("bench-password")
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


def main() -> None:
    """Print the cost of one hash for each parameter set (the machine's load beside it)."""
    from bench.load import load_average
    from kap.config import Config

    configured = (Config.ARGON2_MEMORY_COST, Config.ARGON2_TIME_COST, Config.ARGON2_PARALLELISM)
    print(f"load average {load_average()}; argon2id, one hash, median of 7:")
    for row in [configured, *[r for r in OWASP_ROWS if r != configured], EARLIER]:
        label = "configured" if row == configured else "earlier" if row == EARLIER else "OWASP"
        memory, iterations, parallelism = row
        cost = hash_cost_ms(memory, iterations, parallelism)
        print(f"  m={memory} KiB t={iterations} p={parallelism}: {cost} ms ({label})")


if __name__ == "__main__":
    main()
