"""Publish static/ under its digest folder for nginx (deploy/nginx/kap.conf serves it).

Digest URLs (``/static/v-<digest>/...``, kap/web/static_files.py) are cached for a year, so
the files behind one digest must never change. A release copies static/ into
``PUBLIC/static/v-<digest>/`` beside the folders of earlier releases: a page rendered before
the deploy still finds its own files, and nginx serves them all without the app.

    python -m kap.web.static_release /var/lib/kap/public
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from kap.config import ROOT
from kap.web.static_files import StaticDigest


def publish_static(public: Path, static: Path = ROOT / "static") -> Path:
    """Copy ``static`` to ``public``/static/v-<digest>/ (unchanged if already there); the folder."""
    target = Path(public) / "static" / f"v-{StaticDigest(str(static)).value()}"
    if not target.exists():
        # Copied beside, then renamed: nginx never sees a half-copied release.
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(static, partial)
        partial.rename(target)
    return target


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m kap.web.static_release PUBLIC_FOLDER")
    print(publish_static(Path(sys.argv[1])))
