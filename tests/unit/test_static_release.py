"""A release's static files for nginx: the digest folder, and beside each script, stylesheet
and SVG its brotli and gzip forms, which must decode to the file itself."""

from __future__ import annotations

import gzip
import shutil

import brotli

from kap.config import ROOT
from kap.web.static_files import COMPRESS_MIN_SIZE, StaticDigest
from kap.web.static_release import publish_static


def test_a_release_carries_each_compressible_file_precompressed(tmp_path):
    static = tmp_path / "static"
    shutil.copytree(ROOT / "static", static)
    (static / "css" / "tiny.css").write_text("a{b:c}")
    target = publish_static(tmp_path / "public", static)

    assert target.name == f"v-{StaticDigest(str(static)).value()}"
    checked = 0
    for path in sorted(p for p in target.rglob("*") if p.suffix in {".js", ".css", ".svg"}):
        data = path.read_bytes()
        br, gz = path.with_name(path.name + ".br"), path.with_name(path.name + ".gz")
        if len(data) < COMPRESS_MIN_SIZE:
            assert not br.exists() and not gz.exists(), path
            continue
        assert brotli.decompress(br.read_bytes()) == data, path
        assert gzip.decompress(gz.read_bytes()) == data, path
        assert len(br.read_bytes()) < len(data), path
        checked += 1
    assert checked >= 40
    assert not (target / "css" / "tiny.css.br").exists()
    assert not list(target.rglob("*.png.*"))  # compressed already


def test_publishing_a_release_again_changes_nothing(tmp_path):
    """Files behind a digest are cached for a year: a second publish must not rewrite them."""
    target = publish_static(tmp_path)
    before = {p: p.stat().st_mtime_ns for p in target.rglob("*")}
    assert publish_static(tmp_path) == target
    assert {p: p.stat().st_mtime_ns for p in target.rglob("*")} == before
    assert not list(target.parent.glob("*.partial"))
