"""The backup file's encryption: AES-256-GCM over fixed-size chunks, streamed both ways.

A backup holds every journal entry of every patient, so it is encrypted as it is written and
never held in memory whole. The construction is the usual "STREAM" one (as in age and Tink),
built from ``cryptography``'s AES-GCM rather than anything home-made:

- line 1, ASCII, so ``head -1`` tells an operator what a file is and which key opens it:
  ``KAP-BACKUP 1 AES-256-GCM-STREAM key=<key id> chunk=<bytes>``
- 32 random bytes of salt, then an 8-byte random nonce prefix;
- the chunks: each ``chunk`` bytes of plaintext (the last one shorter, maybe empty) sealed
  with AES-256-GCM under a file key derived from KAP_BACKUP_KEY and the salt (HKDF-SHA256),
  nonce = prefix + 4-byte chunk counter, associated data = the whole header + a final flag.

The counter in the nonce detects reordered or repeated chunks, the final flag a file cut at
a chunk boundary (the new last chunk was sealed as "not final") or with bytes appended, and
the header in every chunk's associated data any edit to the header. The key id is a
fingerprint of the key, never the key, so a wrong key is named before anything is decrypted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from collections.abc import Sequence
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

FORMAT = b"KAP-BACKUP"
VERSION = 1
CIPHER = b"AES-256-GCM-STREAM"
#: Plaintext bytes per chunk: large enough to be cheap, small enough to stream.
CHUNK = 1024 * 1024
#: The largest chunk a reader accepts from a header (it is authenticated, but only once the
#: first chunk is read: a forged header must not make the reader allocate gigabytes).
MAX_CHUNK = 16 * 1024 * 1024
TAG = 16
SALT = 32
PREFIX = 8
#: How to make a key, for the error messages and the README.
MAKE_KEY = (
    "python3 -c 'import base64, secrets; print(base64.b64encode(secrets.token_bytes(32)).decode())'"
)
_HEADER_LINE = re.compile(rb"KAP-BACKUP (\d+) ([A-Z0-9-]+) key=([0-9a-f]{16}) chunk=(\d+)\n")


class BackupError(Exception):
    """A backup or restore cannot go on; the message says why and what to do."""


def parse_key(text: str | None) -> bytes:
    """KAP_BACKUP_KEY (base64 of 32 random bytes) as bytes, or a BackupError naming the fault."""
    if not text or not text.strip():
        raise BackupError(f"KAP_BACKUP_KEY is not set. Make one with: {MAKE_KEY}")
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise BackupError(
            f"KAP_BACKUP_KEY is not base64. It must be 32 random bytes in base64: {MAKE_KEY}"
        ) from None
    if len(key) != 32:
        raise BackupError(
            f"KAP_BACKUP_KEY decodes to {len(key)} bytes; it must be 32 random bytes in "
            f"base64: {MAKE_KEY}"
        )
    return key


def parse_keys(text: str | None) -> list[bytes]:
    """KAP_BACKUP_KEY: one key, or several separated by commas to rotate it. The first
    encrypts new backups; the others only open backups made with them."""
    parts = [part for part in (text or "").split(",") if part.strip()]
    return [parse_key(part) for part in parts] if parts else [parse_key(None)]  # "not set"


def key_id(key: bytes) -> str:
    """A fingerprint of ``key`` for the file header: names the key without revealing it."""
    return hmac.new(key, b"kap-backup key id", hashlib.sha256).hexdigest()[:16]


def _file_key(key: bytes, salt: bytes) -> AESGCM:
    """This file's own AES-256 key, so no two files ever share a (key, nonce) pair."""
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=salt, info=b"kap-backup file key v1"
    ).derive(key)
    return AESGCM(derived)


def _nonce(prefix: bytes, counter: int) -> bytes:
    if counter >= 2**32:
        raise BackupError("The backup is too large for one file (2^32 chunks).")
    return prefix + counter.to_bytes(4, "big")


class SealedWriter:
    """A write-only stream that encrypts into ``target`` chunk by chunk; ``finish()`` seals
    the last chunk (without it the file is, correctly, unreadable)."""

    def __init__(self, target: BinaryIO, key: bytes, chunk: int = CHUNK) -> None:
        self._target = target
        self._chunk = chunk
        salt, self._prefix = os.urandom(SALT), os.urandom(PREFIX)
        line = b"%s %d %s key=%s chunk=%d\n" % (
            FORMAT,
            VERSION,
            CIPHER,
            key_id(key).encode(),
            chunk,
        )
        self._header = line + salt + self._prefix
        self._aead = _file_key(key, salt)
        self._buffer = bytearray()
        self._counter = 0
        target.write(self._header)

    def _seal(self, plaintext: bytes, final: bool) -> None:
        nonce = _nonce(self._prefix, self._counter)
        aad = self._header + (b"\x01" if final else b"\x00")
        self._target.write(self._aead.encrypt(nonce, plaintext, aad))
        self._counter += 1

    def write(self, data: bytes) -> int:
        """Buffer ``data``; seal every full chunk but the last (it may be the final one)."""
        self._buffer += data
        while len(self._buffer) > self._chunk:
            self._seal(bytes(self._buffer[: self._chunk]), final=False)
            del self._buffer[: self._chunk]
        return len(data)

    def finish(self) -> None:
        """Seal what is left as the final chunk."""
        self._seal(bytes(self._buffer), final=True)
        self._buffer.clear()


def _read_exactly(source: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes: fewer only at the end of the file."""
    parts = []
    while size > 0 and (part := source.read(size)):
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def read_key_id(source: BinaryIO) -> tuple[bytes, str, int]:
    """The header of a backup file: its bytes, the key id it names and its chunk size."""
    line = source.readline(200)
    found = _HEADER_LINE.fullmatch(line)
    if not line.startswith(FORMAT) or found is None:
        raise BackupError("This is not a KAP Companion backup file (its first line is wrong).")
    version, cipher, named_key, chunk = found.groups()
    if int(version) != VERSION or cipher != CIPHER:
        raise BackupError(
            f"This backup uses format {version.decode()} ({cipher.decode()}); this version of "
            f"KAP Companion reads format {VERSION}."
        )
    if not 0 < int(chunk) <= MAX_CHUNK:
        raise BackupError("The backup file's header is damaged (chunk size).")
    rest = _read_exactly(source, SALT + PREFIX)
    if len(rest) != SALT + PREFIX:
        raise BackupError("The backup file is truncated (it ends inside its header).")
    return line + rest, named_key.decode(), int(chunk)


class SealedReader:
    """A read-only stream of the plaintext of a backup file; every chunk is authenticated
    before a byte of it is returned, and a damaged, cut or reordered file raises
    BackupError."""

    def __init__(self, source: BinaryIO, keys: Sequence[bytes]) -> None:
        self._source = source
        self._header, named_key, self._chunk = read_key_id(source)
        key = next((key for key in keys if key_id(key) == named_key), None)
        if key is None:
            held = ", ".join(key_id(key) for key in keys)
            raise BackupError(
                f"This backup was encrypted with backup key {named_key}, but KAP_BACKUP_KEY "
                f"holds key {held}. Add the key the backup was made with to KAP_BACKUP_KEY "
                "(after a comma)."
            )
        salt = self._header[-(SALT + PREFIX) : -PREFIX]
        self._prefix = self._header[-PREFIX:]
        self._aead = _file_key(key, salt)
        self._counter = 0
        self._next = _read_exactly(source, self._chunk + TAG)
        self._plain = b""
        self._offset = 0
        self._done = False

    def _open_next(self) -> None:
        sealed = self._next
        self._next = _read_exactly(self._source, self._chunk + TAG)
        final = not self._next
        nonce = _nonce(self._prefix, self._counter)
        aad = self._header + (b"\x01" if final else b"\x00")
        try:
            self._plain, self._offset = self._aead.decrypt(nonce, sealed, aad), 0
        except InvalidTag:
            raise BackupError(
                f"The backup file is damaged, truncated or altered (chunk {self._counter} does "
                "not authenticate). Nothing was restored; use another copy of the backup."
            ) from None
        self._counter += 1
        self._done = final

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes of plaintext (all the rest for a negative size)."""
        parts: list[bytes] = []
        wanted = size if size >= 0 else None
        while wanted is None or wanted > 0:
            if self._offset == len(self._plain):
                if self._done:
                    break
                self._open_next()
                continue
            # An offset into the chunk, not a shorter copy of it: tarfile reads 10 KB at a
            # time, and re-slicing a 1 MiB chunk for each read would copy it a hundred times.
            end = (
                len(self._plain) if wanted is None else min(len(self._plain), self._offset + wanted)
            )
            parts.append(self._plain[self._offset : end])
            if wanted is not None:
                wanted -= end - self._offset
            self._offset = end
        return b"".join(parts)

    def drain(self) -> None:
        """Read (and so authenticate) everything left, up to the final chunk."""
        while self.read(self._chunk):
            pass
