"""The backup file's encryption: what goes in comes out, and every kind of tampering with a
multi-chunk file (cut, reordered, repeated, appended, edited header) is detected."""

from __future__ import annotations

import base64
import hashlib
import io

import pytest

from kap.config import ProductionConfig
from kap.services.backup.sealed import (
    TAG,
    BackupError,
    SealedReader,
    SealedWriter,
    key_id,
    parse_key,
    parse_keys,
)

KEY = bytes(range(32))
CHUNK = 64  # small chunks, so a short payload spans many of them
PAYLOAD = hashlib.shake_256(b"payload").digest(CHUNK * 5 + 17)  # the same in every worker


def _seal(payload: bytes = PAYLOAD, key: bytes = KEY) -> bytes:
    out = io.BytesIO()
    writer = SealedWriter(out, key, chunk=CHUNK)
    for start in range(0, len(payload), 50):  # writes that do not line up with chunks
        writer.write(payload[start : start + 50])
    writer.finish()
    return out.getvalue()


def _open(data: bytes, key: bytes = KEY) -> bytes:
    return SealedReader(io.BytesIO(data), [key]).read()


def _split(data: bytes) -> tuple[bytes, list[bytes]]:
    """The header and the sealed chunks of a file made by _seal."""
    header_end = data.index(b"\n") + 1 + 32 + 8
    body = data[header_end:]
    size = CHUNK + TAG
    return data[:header_end], [body[i : i + size] for i in range(0, len(body), size)]


@pytest.mark.parametrize("length", [0, 1, CHUNK, CHUNK * 2, len(PAYLOAD)])
def test_what_is_sealed_opens_unchanged(length: int) -> None:
    """Any length, including empty and exact multiples of the chunk size, round-trips."""
    assert _open(_seal(PAYLOAD[:length])) == PAYLOAD[:length]


def test_reads_of_any_size_return_the_same_bytes() -> None:
    """tarfile reads in its own sizes; the stream must not care."""
    reader = SealedReader(io.BytesIO(_seal()), [KEY])
    parts = []
    while part := reader.read(7):
        parts.append(part)
    assert b"".join(parts) == PAYLOAD


def test_two_files_of_the_same_payload_differ() -> None:
    """A fresh salt and nonce prefix per file: equal backups do not look equal."""
    assert _seal() != _seal()


def _tampered(how: str) -> bytes:
    header, chunks = _split(_seal())
    assert len(chunks) == 6
    if how == "cut at a chunk boundary":
        chunks = chunks[:-1]
    elif how == "cut inside a chunk":
        chunks[-1] = chunks[-1][:-1]
    elif how == "chunks reordered":
        chunks[1], chunks[2] = chunks[2], chunks[1]
    elif how == "a chunk repeated":
        chunks.insert(2, chunks[1])
    elif how == "a chunk dropped":
        del chunks[2]
    elif how == "bytes appended":
        chunks.append(b"\0" * (CHUNK + TAG))
    elif how == "a byte flipped":
        chunks[3] = bytes([chunks[3][0] ^ 1]) + chunks[3][1:]
    elif how == "the salt edited":
        header = header[:-40] + bytes([header[-40] ^ 1]) + header[-39:]
    elif how == "no chunks at all":
        chunks = []
    return header + b"".join(chunks)


@pytest.mark.parametrize(
    "how",
    [
        "cut at a chunk boundary",
        "cut inside a chunk",
        "chunks reordered",
        "a chunk repeated",
        "a chunk dropped",
        "bytes appended",
        "a byte flipped",
        "the salt edited",
        "no chunks at all",
    ],
)
def test_tampering_is_detected(how: str) -> None:
    """Reading a tampered file to its end always raises, never returns short data."""
    with pytest.raises(BackupError, match="damaged, truncated or altered"):
        _open(_tampered(how))


def test_a_wrong_key_is_named_before_decrypting() -> None:
    """The header's key id differs from the configured key's: both ids in the message."""
    other = bytes(reversed(range(32)))
    with pytest.raises(BackupError) as error:
        _open(_seal(), other)
    assert key_id(KEY) in str(error.value) and key_id(other) in str(error.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PK\x03\x04 a zip file", "not a KAP Companion backup"),
        (b"KAP-BACKUP 2 AES-256-GCM-STREAM key=0123456789abcdef chunk=64\n", "format 2"),
        (b"KAP-BACKUP 1 AES-256-GCM-STREAM key=0123456789abcdef chunk=999999999\n", "chunk"),
        (b"KAP-BACKUP 1 AES-256-GCM-STREAM key=0123456789abcdef chunk=64\nshort", "truncated"),
    ],
)
def test_a_file_that_is_not_a_backup_is_named(data: bytes, message: str) -> None:
    """Foreign files, future formats and forged chunk sizes are refused by the header."""
    with pytest.raises(BackupError, match=message):
        _open(data)


def test_the_key_id_does_not_reveal_the_key() -> None:
    """The header carries a 16-hex fingerprint, neither the key nor its base64."""
    data = _seal()
    assert KEY not in data and base64.b64encode(KEY) not in data
    assert f"key={key_id(KEY)}".encode() in data.split(b"\n")[0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "is not set"),
        ("   ", "is not set"),
        ("not*base64", "is not base64"),
        (base64.b64encode(b"16 bytes exactly").decode(), "decodes to 16 bytes"),
    ],
)
def test_a_malformed_backup_key_is_a_clear_error(text: str | None, message: str) -> None:
    """Each fault is named, with the command that makes a good key."""
    with pytest.raises(BackupError, match=message) as error:
        parse_key(text)
    assert "secrets.token_bytes(32)" in str(error.value)


def test_a_rotated_key_still_opens_the_backups_made_before() -> None:
    """KAP_BACKUP_KEY="NEW,OLD": a file sealed with the old key opens; the new one is first
    (it seals new backups); a file of neither key names every key id it tried."""
    new = bytes(reversed(range(32)))
    setting = f"{base64.b64encode(new).decode()}, {base64.b64encode(KEY).decode()}\n"
    keys = parse_keys(setting)
    assert keys == [new, KEY]
    assert SealedReader(io.BytesIO(_seal()), keys).read() == PAYLOAD
    third = hashlib.sha256(b"a third key").digest()
    with pytest.raises(BackupError) as error:
        SealedReader(io.BytesIO(_seal(key=third)), keys)
    assert f"key {key_id(new)}, {key_id(KEY)}" in str(error.value)
    assert "Add the key the backup was made with" in str(error.value)


def test_a_malformed_key_among_several_is_named() -> None:
    with pytest.raises(BackupError, match="decodes to 5 bytes"):
        parse_keys(base64.b64encode(KEY).decode() + "," + base64.b64encode(b"short").decode())
    with pytest.raises(BackupError, match="is not set"):
        parse_keys(" , ")


def test_a_good_key_parses_with_surrounding_whitespace() -> None:
    """A key pasted into an environment file with a trailing newline still works."""
    assert parse_key(base64.b64encode(KEY).decode() + "\n") == KEY


def test_production_has_no_default_backup_key() -> None:
    """Development makes a key in instance/; production leaves it unset, so the commands stop."""

    class Production(ProductionConfig):
        SECRET_KEY = "x" * 40
        AUDIT_KEY = "y" * 40
        DATA_KEYS = "k1:" + base64.b64encode(KEY).decode()
        BACKUP_KEY = None

    assert Production().BACKUP_KEY is None
    with pytest.raises(BackupError, match="KAP_BACKUP_KEY is not set"):
        parse_key(Production().BACKUP_KEY)
