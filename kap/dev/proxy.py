"""deploy/nginx/kap.conf, run for real: a self-signed certificate, a temporary prefix, nginx in
the foreground (tests/deploy, and `make bench` for two app servers behind a proxy).

The site under test IS deploy/'s file: only its ports, host name, certificate and folder paths
and the upstream servers are substituted (each example value must be found, so an edit of the file
that drops one fails loudly instead of testing something else). Around it sits the http {}
context that Debian's /etc/nginx/nginx.conf gives every site (gzip already on, mime types).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kap.config import ROOT
from kap.web.static_release import publish_static

SITE = ROOT / "deploy" / "nginx" / "kap.conf"
#: The upstream lines of the shipped site, replaced by the test's app servers.
UPSTREAM_LINE = re.compile(r"^[ \t]*server 127\.0\.0\.1:\d+;[ \t]*\n", re.M)

#: The http {} context of Debian's nginx.conf that matters to the site, with this run's paths.
MAIN_CONF = """\
{user}load_module {brotli_static};
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 512; }}
http {{
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
    access_log {prefix}/access.log;
    gzip on;
    include {prefix}/kap.conf;
}}
"""


#: Debian's packages the site needs: nginx, and the module that sends precompressed brotli.
PACKAGES = "nginx libnginx-mod-http-brotli-static"
#: The module Debian's nginx.conf loads (modules-enabled/) once that package is installed.
BROTLI_STATIC = Path("/usr/lib/nginx/modules/ngx_http_brotli_static_module.so")


def nginx_binary() -> str | None:
    """The nginx executable (Debian installs it in /usr/sbin, often not on a user's PATH)."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def nginx_missing() -> str | None:
    """Why deploy/'s site cannot run here, or None."""
    if nginx_binary() is None or not BROTLI_STATIC.exists():
        return f"needs nginx with brotli_static (apt-get install {PACKAGES})"
    return None


def self_signed_certificate(folder: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A certificate for ``host`` (an IP address) and its key, as PEM files in ``folder``;
    clients trust it by using the certificate itself as their CA file."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(host)), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def _replace_once(text: str, old: str, new: str) -> str:
    if old not in text:
        raise RuntimeError(f"{SITE} no longer contains {old!r}: update kap/dev/proxy.py")
    return text.replace(old, new)


def render_site(
    upstreams: Sequence[str],
    *,
    https_port: int,
    http_port: int,
    cert: Path,
    key: Path,
    public: Path,
    static: Path = ROOT / "static",
) -> str:
    """deploy/nginx/kap.conf with this run's ports, paths and app servers (``host:port``)."""
    text = SITE.read_text()
    if not UPSTREAM_LINE.search(text):
        raise RuntimeError(f"{SITE} has no 'server 127.0.0.1:PORT;' upstream line")
    servers = "".join(f"    server {upstream};\n" for upstream in upstreams)
    text = UPSTREAM_LINE.sub("", text, count=0)
    text = _replace_once(text, "upstream kap_app {\n", "upstream kap_app {\n" + servers)
    for old, new in (
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
        ("listen 80 default_server;", f"listen 127.0.0.1:{http_port} default_server;"),
        (
            "listen 443 ssl http2 default_server;",
            f"listen 127.0.0.1:{https_port} ssl http2 default_server;",
        ),
        # The clients of the test and the bench address it by IP (no SNI, Host 127.0.0.1).
        ("server_name kap.example.org;", "server_name 127.0.0.1 localhost;"),
        ("/etc/ssl/kap/fullchain.pem", str(cert)),
        ("/etc/ssl/kap/privkey.pem", str(key)),
        ("/var/lib/kap/public", str(public)),
        ("/srv/kap/app/static/", f"{static}/"),
    ):
        text = _replace_once(text, old, new)
    return text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Nginx:
    """A running nginx: its URLs, its prefix (logs, rendered config) and certificate."""

    process: subprocess.Popen[bytes]
    prefix: Path
    https_url: str
    http_url: str
    cert: Path

    def error_log(self) -> str:
        """What nginx wrote to its error log (for a failing test's message)."""
        path = self.prefix / "error.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        """Graceful shutdown (SIGQUIT), by force after ten seconds."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGQUIT)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_nginx(prefix: Path, upstreams: Sequence[str], static: Path = ROOT / "static") -> Nginx:
    """nginx in the foreground with deploy/'s site in front of ``upstreams``, on free ports of
    127.0.0.1, static/ published into ``prefix``; raises with nginx's message if it fails."""
    missing = nginx_missing()
    if missing:
        raise RuntimeError(missing)
    binary = str(nginx_binary())
    prefix.mkdir(parents=True, exist_ok=True)
    cert, key = self_signed_certificate(prefix)
    public = prefix / "public"
    publish_static(public, static)
    https_port, http_port = _free_port(), _free_port()
    site = render_site(
        upstreams,
        https_port=https_port,
        http_port=http_port,
        cert=cert,
        key=key,
        public=public,
        static=static,
    )
    (prefix / "kap.conf").write_text(site)
    # As root, nginx's workers would switch to "nobody", which cannot read a private temp dir.
    user = "user root;\n" if os.geteuid() == 0 else ""
    (prefix / "nginx.conf").write_text(
        MAIN_CONF.format(prefix=prefix, user=user, brotli_static=BROTLI_STATIC)
    )
    # Our own nginx binary on files written just above: no untrusted input (S603).
    command = [binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf")]
    checked = subprocess.run([*command, "-t", "-q"], capture_output=True, text=True)  # noqa: S603
    if checked.returncode != 0:
        raise RuntimeError(f"nginx -t refused the site:\n{checked.stderr}")
    process = subprocess.Popen([*command, "-g", "daemon off;"], stderr=subprocess.DEVNULL)  # noqa: S603
    proxy = Nginx(
        process,
        prefix,
        f"https://127.0.0.1:{https_port}",
        f"http://127.0.0.1:{http_port}",
        cert,
    )
    _wait_listening(proxy, https_port)
    return proxy


def _wait_listening(proxy: Nginx, port: int, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proxy.process.poll() is not None:
            raise RuntimeError(f"nginx exited ({proxy.process.returncode}):\n{proxy.error_log()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    proxy.stop()
    raise RuntimeError(f"nginx did not listen on {port} within {seconds}s:\n{proxy.error_log()}")
