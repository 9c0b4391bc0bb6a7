"""Settings read from KAP_* environment variables, in one place."""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = Path(os.environ.get("KAP_INSTANCE_PATH", ROOT / "instance"))

#: Values that must never reach production as a secret key.
INSECURE_SECRET_KEYS = frozenset({"", "dev", "change-me", "secret", "development"})


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"KAP_{name}", default)


def _instance_value(name: str, make: Callable[[], str]) -> str:
    """A per-checkout value kept in instance/``name`` (development only), made on first use
    by ``make`` and readable by its owner alone.

    Written aside and linked into place, which fails if the name exists: processes starting
    at once (an app server and a `flask` command) all end up with the one value that won,
    never each with its own (data encrypted under a key the server does not hold) or with a
    half-written file."""
    INSTANCE.mkdir(parents=True, exist_ok=True)
    key_file = INSTANCE / name
    if not key_file.exists():
        handle, temporary = tempfile.mkstemp(dir=INSTANCE, prefix=f".{name}.")  # mode 0600
        try:
            with os.fdopen(handle, "w") as aside:
                aside.write(make())
            with contextlib.suppress(FileExistsError):  # another process won: its value holds
                os.link(temporary, key_file)
        finally:
            os.unlink(temporary)
    return key_file.read_text().strip()


def _instance_secret(name: str) -> str:
    """A per-checkout random value kept in instance/ (development only)."""
    return _instance_value(name, lambda: secrets.token_urlsafe(48))


def _instance_data_key() -> str:
    """A development field-encryption key kept in instance/ (production must set its own)."""
    return _instance_value(
        "data_key", lambda: f"dev1:{base64.b64encode(secrets.token_bytes(32)).decode()}"
    )


def _new_vapid_key() -> str:
    """A new P-256 private key as PEM: Web Push's VAPID signing key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    return (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


def _instance_vapid_key() -> str:
    """A development VAPID key kept in instance/ (production sets KAP_VAPID_PRIVATE_KEY)."""
    return _instance_value("vapid_private.pem", _new_vapid_key)


#: Where media is kept (kap/services/media): files under MEDIA_DIR, or rows of the database.
MEDIA_STORES = ("folder", "database")


def _media_store(value: str | None, database_url: str) -> str:
    """KAP_MEDIA_STORE, or by default ``database`` on PostgreSQL (several app servers share
    it) and ``folder`` otherwise (the embedded default); a clear error for anything else."""
    if not value:
        return "database" if database_url.startswith("postgresql") else "folder"
    if value not in MEDIA_STORES:
        raise RuntimeError(
            f"KAP_MEDIA_STORE must be one of {', '.join(MEDIA_STORES)}, not {value!r}."
        )
    return value


def _proxy_count(value: str | None) -> int:
    """KAP_TRUSTED_PROXIES as a count of proxy hops (a clear error for anything else)."""
    text = (value or "0").strip()
    if not text.isdigit() or int(text) > 10:
        raise RuntimeError(
            f"KAP_TRUSTED_PROXIES must be a whole number from 0 to 10, not {text!r}."
        )
    return int(text)


def _log_format(value: str | None) -> str:
    """KAP_LOG_FORMAT: text or json (a clear error for anything else)."""
    text = (value or "").strip().lower()
    if text not in ("text", "json"):
        raise RuntimeError(f"KAP_LOG_FORMAT must be text or json, not {value!r}.")
    return text


def _metrics_token(value: str | None) -> str | None:
    """KAP_METRICS_TOKEN: unset (no /metrics at all) or a secret long enough not to guess."""
    if not value:
        return None
    if len(value) < 16:
        raise RuntimeError("KAP_METRICS_TOKEN must be at least 16 random characters.")
    return value


class Config:
    """Development defaults: SQLite under instance/, memory rate limits, a generated key."""

    ENV_NAME = "development"
    SECRET_KEY = _env("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL", f"sqlite:///{INSTANCE / 'kap.db'}")
    #: hide_parameters: SQL parameters (session data, ciphertexts, emails) never reach a log
    #: line or an error message, even with SQL echo on (SECURITY.md; kap/web/logs.py).
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}

    #: How many reverse proxies in front of the app append to X-Forwarded-For (and set
    #: X-Forwarded-Proto). 0 (the default) trusts none, so a client can never forge its
    #: address; behind the nginx of deploy/ it is 1. Every address the app reads (rate
    #: limits, audit rows, session records) is then the client's, not the proxy's.
    TRUSTED_PROXIES = _proxy_count(_env("TRUSTED_PROXIES", "0"))

    RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI", "memory://")
    #: Prefixes every counter key in the limits storage (several deployments, or test runs,
    #: may share one Redis).
    RATELIMIT_KEY_PREFIX = _env("RATELIMIT_KEY_PREFIX", "kap")
    RATELIMIT_STRATEGY = "moving-window"
    RATELIMIT_HEADERS_ENABLED = False
    #: Failed sign-ins allowed per account and per client address (SECURITY.md).
    SIGNIN_ACCOUNT_FAILURE_LIMIT = "5 per 15 minutes"
    SIGNIN_CLIENT_FAILURE_LIMIT = "50 per 15 minutes"

    SESSION_COOKIE_NAME = "kap_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    #: Absolute lifetime of a signed-in session, and idle sign-out by role (SECURITY.md).
    SESSION_ABSOLUTE_HOURS = 12
    IDLE_MINUTES_CLINICIAN = 15
    IDLE_MINUTES_PATIENT = 30
    #: Wrong second-factor codes allowed per account, and how long a password step waits.
    SECOND_FACTOR_FAILURE_LIMIT = "5 per 15 minutes"
    SECOND_FACTOR_PENDING_MINUTES = 10
    #: Anonymous sessions only carry a CSRF token; they are short-lived.
    ANONYMOUS_SESSION_HOURS = 2

    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the server-side session

    #: Media (uploads, recordings, prompt tracks): which store keeps it (None: chosen by the
    #: database, see _media_store), the folder store's root, and how large one upload may be.
    MEDIA_STORE = _env("MEDIA_STORE")
    MEDIA_DIR = _env("MEDIA_DIR", str(INSTANCE / "media"))
    MAX_UPLOAD_BYTES = int(_env("MAX_UPLOAD_MB", "50")) * 1024 * 1024
    #: A new value makes every phone fetch the app shell anew, files unchanged (kap/pwa).
    SW_REVISION = _env("SW_REVISION", "")
    #: SMTP for invitation e-mails; without a host, links are only shown to the admin.
    SMTP_HOST = _env("SMTP_HOST")
    SMTP_PORT = int(_env("SMTP_PORT", "587"))
    SMTP_USERNAME = _env("SMTP_USERNAME")
    SMTP_PASSWORD = _env("SMTP_PASSWORD")
    SMTP_STARTTLS = _env("SMTP_STARTTLS", "1") == "1"
    MAIL_FROM = _env("MAIL_FROM", "KAP Companion <no-reply@localhost>")
    #: Web Push (VAPID): the P-256 signing key as PEM, and the contact push services may use.
    #: Without a key in production the app offers no push (e-mail and calendar remain).
    VAPID_PRIVATE_KEY = _env("VAPID_PRIVATE_KEY")
    VAPID_SUBJECT = _env("VAPID_SUBJECT", "mailto:admin@localhost")
    #: Push services a patient's subscription may point at (comma-separated host names,
    #: ``*.`` for any subdomain, https only; ``http://host`` allows plain http for that host,
    #: which only tests do). Anything else is refused: a patient-supplied endpoint must never
    #: make the server call an address of its own network (SSRF).
    PUSH_ALLOWED_HOSTS = _env(
        "PUSH_ALLOWED_HOSTS",
        "fcm.googleapis.com,updates.push.services.mozilla.com,*.push.apple.com,"
        "*.notify.windows.com",
    )
    #: Where the app is reached from outside: the links in reminder e-mails are built on it.
    BASE_URL = _env("BASE_URL", "http://127.0.0.1:5000")
    #: The background jobs' queue (kap/jobs): a SQLite file for `make run`, redis:// or
    #: postgresql:// for separate worker processes in production.
    JOBS_URL = _env("JOBS_URL", f"sqlite:///{INSTANCE / 'jobs.sqlite3'}")
    #: A job worker writes a heartbeat into the jobs store this often (kap/jobs/heartbeat.py);
    #: /readyz calls it stale once it is older than WORKER_STALE_SECONDS.
    WORKER_HEARTBEAT_SECONDS = 15
    WORKER_STALE_SECONDS = 60
    #: Whether /readyz fails (503) while no worker beats: in production, where reminders stop
    #: without one; elsewhere it only reports it.
    READY_NEEDS_WORKER = False
    #: Log lines: plain text for people at a terminal, or one JSON object per line.
    LOG_FORMAT = _log_format(_env("LOG_FORMAT", "text"))
    #: The bearer token Prometheus sends to GET /metrics; unset, /metrics answers 404.
    METRICS_TOKEN = _metrics_token(_env("METRICS_TOKEN"))
    #: `make run`'s local mail sink (kap/dev/mail_sink.py) listens here when KAP_SMTP_HOST is unset.
    DEV_MAIL_PORT = int(_env("DEV_MAIL_PORT", "8025"))

    #: argon2id parameters: OWASP Password Storage Cheat Sheet's first argon2id row, "m=19456
    #: (19 MiB), t=2, p=1" (https://cheatsheetseries.owasp.org/cheatsheets/
    #: Password_Storage_Cheat_Sheet.html#argon2id). Measured with ``python -m
    #: bench.signin_rush``: one hash took 134 ms here on a busy 2-core machine, against 980 ms
    #: for the earlier m=64 MiB, t=3, p=4 (RFC 9106's low-memory profile), whose fifty
    #: simultaneous sign-ins waited 45 s at p95 (docs/benchmarks.md). One lane (p=1): the
    #: workers already hash side by side, and more lanes per hash only contend for the cores.
    #: Hashes made with other parameters are redone on the next sign-in (check_password).
    ARGON2_TIME_COST = 2
    ARGON2_MEMORY_COST = 19456
    ARGON2_PARALLELISM = 1

    #: Write the audit chain's head to the log when the process exits (kap/audit_anchor.py).
    AUDIT_ANCHOR_AT_EXIT = True
    #: Keys the audit log's HMAC chain; kept outside the database (KAP_AUDIT_KEY).
    AUDIT_KEY = _env("AUDIT_KEY")
    #: Field-encryption keys, newest first: "id:base64key,id:base64key" (KAP_DATA_KEYS).
    DATA_KEYS = _env("DATA_KEYS")
    #: Encrypts `flask backup` files: base64 of 32 random bytes (KAP_BACKUP_KEY), or several
    #: separated by commas, newest first, to rotate it. Only the backup and restore commands
    #: read it; production has no default (README, "Backups").
    BACKUP_KEY = _env("BACKUP_KEY")

    def __init__(self) -> None:
        if not self.SECRET_KEY:
            self.SECRET_KEY = _instance_secret("secret_key")
        if not self.AUDIT_KEY:
            self.AUDIT_KEY = _instance_secret("audit_key")
        if not self.DATA_KEYS:
            self.DATA_KEYS = _instance_data_key()
        if not self.VAPID_PRIVATE_KEY:
            self.VAPID_PRIVATE_KEY = _instance_vapid_key()
        if not self.BACKUP_KEY:
            self.BACKUP_KEY = _instance_value(
                "backup_key", lambda: base64.b64encode(secrets.token_bytes(32)).decode()
            )
        self._derive()

    def _derive(self) -> None:
        """Settings that follow from others (every configuration's __init__ calls this)."""
        # Room for one upload plus the form around it; the file's own limit is checked apart.
        self.MAX_CONTENT_LENGTH = self.MAX_UPLOAD_BYTES + 1024 * 1024
        self.MEDIA_STORE = _media_store(self.MEDIA_STORE, self.SQLALCHEMY_DATABASE_URI or "")
        if (self.SQLALCHEMY_DATABASE_URI or "").startswith("postgresql"):
            # Sessions in UTC whatever the server's default: psycopg then returns times with
            # datetime.UTC itself, which UTCDateTime passes through (with a named zone it
            # converted every one: over 2,000 per dashboard).
            self.SQLALCHEMY_ENGINE_OPTIONS = {
                **self.SQLALCHEMY_ENGINE_OPTIONS,
                "connect_args": {"options": "-c timezone=UTC"},
            }


class TestConfig(Config):
    """Tests: in-memory SQLite unless KAP_TEST_DATABASE_URL names another database."""

    __test__ = False  # not a pytest test class
    ENV_NAME = "test"
    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"  # noqa: S105 - tests only
    AUDIT_KEY = "test-audit-key-not-for-production"
    DATA_KEYS = "test1:" + "dGVzdC1rZXktMzItYnl0ZXMtbG9uZy0wMTIzNDU2Nzg="  # 32 bytes, tests only
    BACKUP_KEY = "dGVzdC1iYWNrdXAta2V5LTMyLWJ5dGVzLWxvbmctMDE="  # 32 bytes, tests only
    SQLALCHEMY_DATABASE_URI = _env("TEST_DATABASE_URL", "sqlite://")
    RATELIMIT_STORAGE_URI = "memory://"
    VAPID_PRIVATE_KEY = _new_vapid_key()  # one per test process, never written to disk
    # Cheap hashes keep the suite fast; the algorithm (argon2id) stays the same.
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 1024
    ARGON2_PARALLELISM = 1

    def __init__(self) -> None:
        super().__init__()
        uri = self.SQLALCHEMY_DATABASE_URI
        if uri in ("sqlite://", "sqlite:///:memory:"):
            # One shared connection, so every session sees the same in-memory database.
            from sqlalchemy.pool import StaticPool

            self.SQLALCHEMY_ENGINE_OPTIONS = {
                "poolclass": StaticPool,
                "connect_args": {"check_same_thread": False},
                "hide_parameters": True,
            }


class ProductionConfig(Config):
    """Production: a real secret is required; cookies are Secure."""

    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    #: The __Host- prefix: browsers accept the cookie only if Secure, for "/", from this exact
    #: host (no Domain), so a sibling subdomain cannot plant or overwrite it.
    SESSION_COOKIE_NAME = "__Host-kap_session"
    READY_NEEDS_WORKER = True
    LOG_FORMAT = _log_format(_env("LOG_FORMAT", "json"))

    def __init__(self) -> None:
        self._derive()
        if (self.SECRET_KEY or "") in INSECURE_SECRET_KEYS or len(self.SECRET_KEY or "") < 32:
            raise RuntimeError(
                "KAP_SECRET_KEY must be set to a random value of at least 32 characters "
                "in production (e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')."
            )
        if len(self.AUDIT_KEY or "") < 32:
            raise RuntimeError("KAP_AUDIT_KEY must be set (32+ random characters) in production.")
        if not self.DATA_KEYS:
            raise RuntimeError(
                "KAP_DATA_KEYS must be set in production: 'id:base64-of-32-random-bytes', "
                "newest first (see README, 'Keys')."
            )
        from kap.crypto import parse_keys

        try:
            parse_keys(self.DATA_KEYS)
        except ValueError as error:
            raise RuntimeError(f"KAP_DATA_KEYS is not valid: {error}") from None


CONFIGS = {"development": Config, "test": TestConfig, "production": ProductionConfig}


def load_config(name: str | None = None) -> Config:
    """Build the configuration named by ``name`` or by KAP_ENV (default development)."""
    name = name or _env("ENV", "development")
    try:
        return CONFIGS[name]()
    except KeyError:
        raise RuntimeError(f"KAP_ENV must be one of {sorted(CONFIGS)}, not {name!r}") from None
