"""media store: media_blobs and media_chunks, so every app server reads the same media and one
pg_dump holds it; with the database store configured, the media folder's files are copied in

Revision ID: 0012_media_store
Revises: 0011_prompt_audio
Create Date: 2026-12-03 18:05:00.000000

The copy runs when KAP_MEDIA_STORE resolves to ``database`` (the default on PostgreSQL): every
file under KAP_MEDIA_DIR (uploads at the top, prompt tracks under prompts/) becomes a blob of
the same name. The files are left where they are (a second copy, harmless; remove the folder
once the app serves from the database). Names already in the table are skipped, so running it
on a database that already holds some is safe. The downgrade writes every blob back to the
folder (a file already there is kept) before dropping the tables, so no media is lost.
Self-contained on purpose: a migration must not change when application code does.
"""

from datetime import UTC, datetime
import hashlib
from pathlib import Path

from alembic import op
from flask import current_app
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0012_media_store"
down_revision = "0011_prompt_audio"
branch_labels = None
depends_on = None

#: As kap/services/media/database.py writes them today; each blob records its own.
CHUNK_BYTES = 512 * 1024

blobs = sa.table(
    "media_blobs",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("size_bytes", sa.BigInteger),
    sa.column("sha256", sa.String),
    sa.column("chunk_bytes", sa.Integer),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
chunks = sa.table(
    "media_chunks",
    sa.column("blob_id", sa.Integer),
    sa.column("seq", sa.Integer),
    sa.column("data", sa.LargeBinary),
)


def upgrade():
    op.create_table(
        "media_blobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("chunk_bytes", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_blobs")),
        sa.UniqueConstraint("name", name=op.f("uq_media_blobs_name")),
    )
    op.create_table(
        "media_chunks",
        sa.Column("blob_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["blob_id"],
            ["media_blobs.id"],
            name=op.f("fk_media_chunks_blob_id_media_blobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("blob_id", "seq", name=op.f("pk_media_chunks")),
    )
    if _database_store_configured():
        _copy_folder_in(op.get_bind(), Path(current_app.config["MEDIA_DIR"]))


def downgrade():
    _write_blobs_out(op.get_bind(), Path(current_app.config["MEDIA_DIR"]))
    op.drop_table("media_chunks")
    op.drop_table("media_blobs")


def _database_store_configured():
    return current_app.config.get("MEDIA_STORE") == "database"


def _media_files(folder):
    """(name, path) of every finished file: temporary ones start with a dot."""
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if path.is_file() and not any(part.startswith(".") for part in name.split("/")):
            found.append((name, path))
    return found


def _copy_folder_in(connection, folder):
    kept = set(connection.scalars(sa.select(blobs.c.name)))
    for name, path in _media_files(folder):
        if name in kept or len(name) > 200:
            continue
        blob_id = connection.execute(
            blobs.insert()
            .values(
                name=name,
                size_bytes=0,
                sha256="",
                chunk_bytes=CHUNK_BYTES,
                created_at=datetime.now(UTC),
            )
            .returning(blobs.c.id)
        ).scalar_one()
        size, digest = 0, hashlib.sha256()
        with path.open("rb") as source:
            seq = 0
            while data := source.read(CHUNK_BYTES):
                connection.execute(chunks.insert().values(blob_id=blob_id, seq=seq, data=data))
                size += len(data)
                digest.update(data)
                seq += 1
        connection.execute(
            blobs.update()
            .where(blobs.c.id == blob_id)
            .values(size_bytes=size, sha256=digest.hexdigest())
        )


def _write_blobs_out(connection, folder):
    for blob_id, name in connection.execute(
        sa.select(blobs.c.id, blobs.c.name).order_by(blobs.c.id)
    ).all():
        target = folder / name
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.parent / f".downgrade-{blob_id}"
        with temporary.open("wb") as out:
            for (data,) in connection.execute(
                sa.select(chunks.c.data).where(chunks.c.blob_id == blob_id).order_by(chunks.c.seq)
            ):
                out.write(bytes(data))
        temporary.replace(target)
