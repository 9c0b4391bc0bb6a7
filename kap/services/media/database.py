"""The database store: media as chunked rows (``media_blobs``, ``media_chunks``).

Why rows of chunks and not PostgreSQL large objects: rows go into ``pg_dump`` and come back
with ``pg_restore`` like any table (large objects need ``--blobs`` and their own permissions),
a Range request reads just the chunks it spans with one indexed query each, deleting a blob
is an ordinary cascading delete (an orphaned large object would need ``vacuumlo``), and the
same code runs on SQLite, so the store is tested on both databases.

The store uses its own connections from the app's engine, not the request's session: a put
is committed at once, whether or not the use case around it commits (a prompt track rendered
in a GET must stay made), and a response streams its chunks after the request's session has
ended. Like the folder store, a put whose use case then fails leaves an unreferenced file.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, BinaryIO, cast

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from kap.models import MediaBlob, MediaChunk
from kap.services.media.store import MediaMissing, Stored, check_name, limited_chunks

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

#: 512 KiB: a seek reads at most this much it does not need, and a 50 MB file is 100 rows.
CHUNK_BYTES = 512 * 1024


class DatabaseStore:
    """Named files as rows of the app's database (PostgreSQL in production, SQLite too)."""

    def __init__(self, engine: Engine, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.engine = engine
        self.chunk_bytes = chunk_bytes

    def put(self, name: str, stream: IO[bytes], limit: int | None = None) -> Stored:
        """One transaction: the blob's row (unique name), its chunks, its size and checksum.

        Two servers putting one name at once: the second's insert waits for the first's
        transaction and then does nothing, so the name keeps one whole content. Past ``limit``
        the transaction rolls back and nothing is kept.
        """
        check_name(name)
        insert_blob = (
            postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        )
        with self.engine.begin() as connection:
            blob_id = connection.scalar(
                insert_blob(MediaBlob)
                .values(name=name, size_bytes=0, sha256="", chunk_bytes=self.chunk_bytes)
                .on_conflict_do_nothing(index_elements=["name"])
                .returning(MediaBlob.id)
            )
            if blob_id is not None:
                size, digest = 0, hashlib.sha256()
                for seq, chunk in enumerate(limited_chunks(stream, limit, self.chunk_bytes)):
                    connection.execute(
                        insert(MediaChunk).values(blob_id=blob_id, seq=seq, data=chunk)
                    )
                    size += len(chunk)
                    digest.update(chunk)
                connection.execute(
                    update(MediaBlob)
                    .where(MediaBlob.id == blob_id)
                    .values(size_bytes=size, sha256=digest.hexdigest())
                )
                return Stored(size, digest.hexdigest())
        return self._describe(name)

    def _describe(self, name: str) -> Stored:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(MediaBlob.size_bytes, MediaBlob.sha256).where(MediaBlob.name == name)
            ).one_or_none()
        if row is None:
            raise MediaMissing(name)
        return Stored(row.size_bytes, row.sha256)

    def open(self, name: str) -> BinaryIO:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(MediaBlob.id, MediaBlob.size_bytes, MediaBlob.chunk_bytes).where(
                    MediaBlob.name == check_name(name)
                )
            ).one_or_none()
        if row is None:
            raise MediaMissing(name)
        reader = ChunkReader(self.engine, row.id, row.size_bytes, row.chunk_bytes)
        # Buffered like an open() file; the buffer's size is one chunk, read in one query.
        return cast(BinaryIO, io.BufferedReader(reader, buffer_size=row.chunk_bytes))

    def size(self, name: str) -> int:
        return self._describe(check_name(name)).size

    def exists(self, name: str) -> bool:
        with self.engine.connect() as connection:
            found = connection.scalar(
                select(MediaBlob.id).where(MediaBlob.name == check_name(name))
            )
        return found is not None

    def delete(self, name: str) -> None:
        """Chunks first, then the blob (SQLite enforces no cascade without its pragma)."""
        with self.engine.begin() as connection:
            blob = select(MediaBlob.id).where(MediaBlob.name == check_name(name))
            connection.execute(delete(MediaChunk).where(MediaChunk.blob_id.in_(blob)))
            connection.execute(delete(MediaBlob).where(MediaBlob.name == name))

    def names(self) -> list[str]:
        with self.engine.connect() as connection:
            return list(connection.scalars(select(MediaBlob.name).order_by(MediaBlob.name)))

    @contextmanager
    def materialised(self, name: str) -> Iterator[Path]:
        """A temporary file with the bytes, removed after the ``with`` block."""
        with self.open(name) as source, tempfile.TemporaryDirectory(prefix="kap-media-") as folder:
            path = Path(folder) / Path(name).name
            with path.open("wb") as target:
                shutil.copyfileobj(source, target)
            yield path


class ChunkReader(io.RawIOBase):
    """A blob's bytes as a seekable raw file: each read fetches the one chunk it falls in.

    It keeps no connection between reads, so it may outlive the request (a streaming
    response), and holds one chunk in memory at most.
    """

    def __init__(self, engine: Engine, blob_id: int, size: int, chunk_bytes: int) -> None:
        super().__init__()
        self._engine = engine
        self._blob_id = blob_id
        self._size = size
        self._chunk_bytes = chunk_bytes
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._position = base + offset
        return self._position

    def readinto(self, buffer: WriteableBuffer) -> int:
        if self._position >= self._size:
            return 0
        seq, offset = divmod(self._position, self._chunk_bytes)
        with self._engine.connect() as connection:
            data = connection.scalar(
                select(MediaChunk.data).where(
                    MediaChunk.blob_id == self._blob_id, MediaChunk.seq == seq
                )
            )
        if data is None:
            raise OSError(f"media chunk {seq} of blob {self._blob_id} is missing")
        target = memoryview(buffer).cast("B")
        piece = bytes(data)[offset : offset + len(target)]
        target[: len(piece)] = piece
        self._position += len(piece)
        return len(piece)
