"""deploy/ agrees with the app: every production setting has a line in kap.env.example, the
units may write where the settings put files, and nginx's body limit is the app's."""

from __future__ import annotations

import re

from kap.config import ROOT, Config

DEPLOY = ROOT / "deploy"
#: Settings that no production process reads (tests, `make run`, or set by the units).
NOT_FOR_PRODUCTION = {"TEST_DATABASE_URL", "DEV_MAIL_PORT", "ENV"}


def _env_example() -> dict[str, str]:
    pairs = re.findall(r"^#?\s*(KAP_[A-Z_]+)=(.*)$", (DEPLOY / "kap.env.example").read_text(), re.M)
    return dict(pairs)


def test_every_production_setting_is_in_the_example_environment():
    """A KAP_* setting read by kap/config.py (or the instance path) is listed in kap.env.example."""
    source = (ROOT / "kap" / "config.py").read_text()
    read = {f"KAP_{name}" for name in re.findall(r'_env\(\s*"([A-Z_]+)"', source)}
    read |= {f"KAP_{name}" for name in re.findall(r'environ\.get\("KAP_([A-Z_]+)"', source)}
    expected = {name for name in read if name.removeprefix("KAP_") not in NOT_FOR_PRODUCTION}
    assert "KAP_SECRET_KEY" in expected
    assert expected - set(_env_example()) == set()


def test_the_units_may_write_where_the_example_keeps_files():
    """ProtectSystem=strict leaves only ReadWritePaths writable: the instance folder and the
    media folder of kap.env.example must be inside it, in every unit that reads the file."""
    settings = _env_example()
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        text = unit.read_text()
        assert "EnvironmentFile=/etc/kap/kap.env" in text, unit.name
        assert "ProtectSystem=strict" in text and "NoNewPrivileges=yes" in text, unit.name
        [writable] = re.findall(r"^ReadWritePaths=(.+)$", text, re.M)
        for name in ("KAP_INSTANCE_PATH", "KAP_MEDIA_DIR"):
            assert settings[name].startswith(writable.rstrip("/") + "/") or (
                settings[name] == writable
            ), (unit.name, name)


def test_nginx_accepts_exactly_the_apps_largest_request():
    """client_max_body_size is the app's MAX_CONTENT_LENGTH (the upload plus 1 MiB of form)."""
    site = (DEPLOY / "nginx" / "kap.conf").read_text()
    [size] = re.findall(r"^\s*client_max_body_size (\d+)m;", site, re.M)
    expected = Config.MAX_UPLOAD_BYTES + 1024 * 1024
    assert int(size) * 1024 * 1024 == expected
    assert int(_env_example()["KAP_MAX_UPLOAD_MB"]) + 1 == int(size)
