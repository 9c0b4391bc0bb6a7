"""RFC 6238 codes (SHA-1, 30 s, 6 digits), as an authenticator app shows them; stdlib only.

Used to sign the bench therapists in, whose accounts have the second factor on; kept free of
the app's imports so the load generator (its own virtualenv) can use it too.
"""

import base64
import hmac
import struct
import time


def totp(secret: str, at: float | None = None) -> str:
    """The code of base32 ``secret`` at time ``at`` (now by default)."""
    counter = int((time.time() if at is None else at) // 30)
    mac = hmac.new(base64.b32decode(secret), struct.pack(">Q", counter), "sha1").digest()
    offset = mac[-1] & 0x0F
    return f"{(int.from_bytes(mac[offset : offset + 4], 'big') & 0x7FFFFFFF) % 1_000_000:06d}"


def seconds_to_next_step() -> float:
    """How long until the next code: a code is accepted once, so a second sign-in waits."""
    return 30 - time.time() % 30 + 0.5
