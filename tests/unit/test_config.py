"""Configuration rules."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kap.config import Config, ProductionConfig, load_config


@pytest.mark.parametrize("secret", ["", "dev", "change-me", "short-key"])
def test_production_refuses_default_or_weak_secret(monkeypatch, secret):
    """Production will not start with a missing, default or short KAP_SECRET_KEY."""
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", secret)
    with pytest.raises(RuntimeError, match="KAP_SECRET_KEY"):
        ProductionConfig()


def test_production_refuses_a_missing_audit_key(monkeypatch):
    """Production needs KAP_AUDIT_KEY, which keys the audit log outside the database."""
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", "x" * 48)
    monkeypatch.setattr(ProductionConfig, "AUDIT_KEY", None)
    with pytest.raises(RuntimeError, match="KAP_AUDIT_KEY"):
        ProductionConfig()


@pytest.mark.parametrize("keys", [None, "k1:not-base64!", "k1:c2hvcnQ=", ":" + "A" * 44])
def test_production_refuses_missing_or_bad_data_keys(monkeypatch, keys):
    """Production needs valid field-encryption keys (id:base64 of 32 bytes)."""
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", "x" * 48)
    monkeypatch.setattr(ProductionConfig, "AUDIT_KEY", "y" * 48)
    monkeypatch.setattr(ProductionConfig, "DATA_KEYS", keys)
    with pytest.raises(RuntimeError, match="KAP_DATA_KEYS"):
        ProductionConfig()


def test_production_accepts_a_real_secret(monkeypatch):
    """A long random secret is accepted and cookies become Secure."""
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", "x" * 48)
    monkeypatch.setattr(ProductionConfig, "AUDIT_KEY", "y" * 48)
    monkeypatch.setattr(ProductionConfig, "DATA_KEYS", "k1:" + "A" * 43 + "=")
    config = ProductionConfig()
    assert config.SESSION_COOKIE_SECURE is True


def test_production_postgresql_sessions_are_in_utc(monkeypatch):
    """Production's PostgreSQL connections ask for UTC (times then need no conversion);
    the rest of its engine options stay."""
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", "x" * 48)
    monkeypatch.setattr(ProductionConfig, "AUDIT_KEY", "y" * 48)
    monkeypatch.setattr(ProductionConfig, "DATA_KEYS", "k1:" + "A" * 43 + "=")
    monkeypatch.setattr(
        ProductionConfig, "SQLALCHEMY_DATABASE_URI", "postgresql+psycopg://kap@db/kap"
    )
    options = ProductionConfig().SQLALCHEMY_ENGINE_OPTIONS
    assert options["connect_args"] == {"options": "-c timezone=UTC"}
    assert options["hide_parameters"] is True and options["pool_pre_ping"] is True


def test_unknown_environment_name_is_an_error():
    """A typo in KAP_ENV fails loudly instead of running with development settings."""
    with pytest.raises(RuntimeError, match="KAP_ENV"):
        load_config("prod")


def test_service_worker_revision_is_read_from_the_environment():
    """KAP_SW_REVISION reaches Config.SW_REVISION (kap/pwa reads it from app.config)."""
    env = {**os.environ, "KAP_SW_REVISION": "2026-11-22"}
    code = "from kap.config import Config; print(Config.SW_REVISION)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "2026-11-22"


@pytest.mark.parametrize(
    ("database_url", "chosen", "expected"),
    [
        ("postgresql+psycopg://kap@db/kap", None, "database"),
        ("sqlite:///instance/kap.db", None, "folder"),
        ("postgresql+psycopg://kap@db/kap", "folder", "folder"),
        ("sqlite:///instance/kap.db", "database", "database"),
    ],
)
def test_media_store_follows_the_database_unless_chosen(
    monkeypatch, database_url, chosen, expected
):
    """KAP_MEDIA_STORE defaults to the database on PostgreSQL (several app servers) and to
    the folder otherwise; a choice is kept."""
    monkeypatch.setattr(Config, "SQLALCHEMY_DATABASE_URI", database_url)
    monkeypatch.setattr(Config, "MEDIA_STORE", chosen)
    chosen_store = Config().MEDIA_STORE
    assert chosen_store == expected


def test_an_unknown_media_store_is_an_error(monkeypatch):
    """A typo in KAP_MEDIA_STORE fails at start, naming the choices."""
    monkeypatch.setattr(Config, "MEDIA_STORE", "s3")
    with pytest.raises(RuntimeError, match="KAP_MEDIA_STORE must be one of folder, database"):
        Config()


def test_processes_starting_at_once_agree_on_one_development_key(monkeypatch, tmp_path):
    """An app server and a `flask` command started together on a fresh instance folder each
    make a key on first use: they must all end up with the same one (the demo seeded under
    one data key and served under another could not be read). Thirty makers, released at
    once, each slow to make its value."""
    import secrets
    import threading
    import time

    import kap.config

    monkeypatch.setattr(kap.config, "INSTANCE", tmp_path)
    start = threading.Barrier(30)

    def make() -> str:
        time.sleep(0.01)  # a key takes time to make: the window another process could use
        return secrets.token_urlsafe(16)

    found: list[str] = []

    def first_use() -> None:
        start.wait()
        found.append(kap.config._instance_value("data_key", make))

    threads = [threading.Thread(target=first_use) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 30 and len(set(found)) == 1
    assert (tmp_path / "data_key").read_text() == found[0]
    assert (tmp_path / "data_key").stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["data_key"]  # no leftovers
