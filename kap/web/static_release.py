"""Publish static/ under its digest folder for nginx (deploy/nginx/kap.conf serves it).

Digest URLs (``/static/v-<digest>/...``, kap/web/static_files.py) are cached for a year, so
the files behind one digest must never change. A release copies static/ into
``PUBLIC/static/v-<digest>/`` beside the folders of earlier releases: a page rendered before
the deploy still finds its own files, and nginx serves them all without the app.

Beside each compressible file it writes ``.br`` (brotli 11) and ``.gz`` (gzip -9), which
nginx sends as they are (``brotli_static``, ``gzip_static``): the bytes the app itself would
send, computed once per release instead of gzip -5 on every request.

    python -m kap.web.static_release /var/lib/kap/public
"""

from __future__ import annotations

import mimetypes
import shutil
import sys
from pathlib import Path

from kap.config import ROOT
from kap.web.static_files import (
    COMPRESS_MIN_SIZE,
    COMPRESSIBLE_TYPES,
    STATIC_ENCODERS,
    StaticDigest,
)

#: The file name suffix nginx looks for, per encoding.
SUFFIXES = {"br": ".br", "gzip": ".gz"}


def publish_static(public: Path, static: Path = ROOT / "static") -> Path:
    """Copy ``static`` to ``public``/static/v-<digest>/ (unchanged if already there), with
    its precompressed files; the folder."""
    target = Path(public) / "static" / f"v-{StaticDigest(str(static)).value()}"
    if not target.exists():
        # Built beside, then renamed: nginx never sees a half-written release.
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(static, partial)
        precompress(partial)
        partial.rename(target)
    return target


def precompress(folder: Path) -> list[Path]:
    """Write each encoding beside every compressible file of ``folder`` where it is smaller
    than the file; the files written."""
    written = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if mimetypes.guess_type(path.name)[0] not in COMPRESSIBLE_TYPES:
            continue
        data = path.read_bytes()
        if len(data) < COMPRESS_MIN_SIZE:
            continue
        for encoding, encode in STATIC_ENCODERS.items():
            encoded = encode(data)
            if len(encoded) < len(data):
                out = path.with_name(path.name + SUFFIXES[encoding])
                out.write_bytes(encoded)
                written.append(out)
    return written


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m kap.web.static_release PUBLIC_FOLDER")
    print(publish_static(Path(sys.argv[1])))
