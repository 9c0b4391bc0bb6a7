"""What ``make bench`` needs beyond the app's own virtualenv, installed on first use.

Debian packages (wrk, chromium, nodejs/npm, nginx with brotli_static) through apt-get when
running as root; npm's ``lighthouse`` and ``axe-core`` into .bench-tools/node; locust into
.bench-tools/venv. All of .bench-tools/ stays outside the package and out of git.
"""

# ruff: noqa: S603, S607 - a benchmark tool: it runs the commands it is written to run

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / ".bench-tools"
NPM_PACKAGES = ("lighthouse@12.8.2", "axe-core@4.14.1")
LOCUST = "locust==2.47.0"
APT = {"wrk": "wrk", "chromium": "chromium", "node": "nodejs", "npm": "npm"}

_apt_updated = False


def _apt_install(package: str) -> None:
    global _apt_updated
    if os.geteuid() != 0:
        raise SystemExit(f"make bench needs the Debian package {package!r} (apt-get install it).")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if not _apt_updated:
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        _apt_updated = True
    print(f"--- installing {package} (Debian package)", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", package], check=True, env=env)


def ensure_debian_tools() -> None:
    """wrk, Chromium at /usr/bin/chromium, node and npm; nginx as deploy/'s site needs it."""
    from kap.dev.proxy import PACKAGES, nginx_missing

    for binary, package in APT.items():
        present = (
            Path("/usr/bin/chromium").exists() if binary == "chromium" else shutil.which(binary)
        )
        if not present:
            _apt_install(package)
    if nginx_missing():
        for package in PACKAGES.split():
            _apt_install(package)


def ensure_node_tools() -> tuple[Path, Path]:
    """Lighthouse's command and axe-core's script, pinned, under .bench-tools/node."""
    folder = TOOLS / "node"
    lighthouse = folder / "node_modules" / ".bin" / "lighthouse"
    axe = folder / "node_modules" / "axe-core" / "axe.min.js"
    stamp = folder / ".installed"
    wanted = " ".join(NPM_PACKAGES)
    if not (
        lighthouse.exists() and axe.exists() and stamp.exists() and stamp.read_text() == wanted
    ):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "package.json").write_text('{"private": true}\n')
        print(f"--- npm install {wanted} into {folder}", flush=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", *NPM_PACKAGES],
            cwd=folder,
            check=True,
        )
        stamp.write_text(wanted)
    return lighthouse, axe


def ensure_locust() -> Path:
    """locust's command, pinned, in its own virtualenv (.bench-tools/venv)."""
    venv = TOOLS / "venv"
    locust = venv / "bin" / "locust"
    stamp = venv / ".installed"
    if not (locust.exists() and stamp.exists() and stamp.read_text() == LOCUST):
        print(f"--- installing {LOCUST} into {venv}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", LOCUST], check=True)
        stamp.write_text(LOCUST)
    return locust


def versions(lighthouse: Path, locust: Path) -> dict:
    """Versions of the measuring tools, for the report."""

    def first_line(command: list[str]) -> str:
        run = subprocess.run(command, capture_output=True, text=True, check=False)
        return (
            (run.stdout or run.stderr).strip().splitlines()[0] if (run.stdout or run.stderr) else ""
        )

    return {
        "wrk": first_line(["wrk", "--version"]).split(" [")[0],
        "chromium": first_line(["/usr/bin/chromium", "--version"]),
        "lighthouse": first_line([str(lighthouse), "--version"]),
        "locust": first_line([str(locust), "--version"]).split(" from ")[0],
        "python": sys.version.split()[0],
    }
