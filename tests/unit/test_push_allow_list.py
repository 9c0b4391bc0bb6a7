"""The push endpoints the sender will call (push_endpoints.endpoint_allowed, with the default
KAP_PUSH_ALLOWED_HOSTS): the real push services over https, nothing on the server's own
network. The sender's own test (test_reminder_delivery) proves it is asked before each send."""

from __future__ import annotations

import pytest
from flask import Flask

from kap.config import Config
from kap.services.reminders.push_endpoints import endpoint_allowed


@pytest.fixture
def allow_list():
    app = Flask(__name__)
    app.config.update(PUSH_ALLOWED_HOSTS=Config.PUSH_ALLOWED_HOSTS, ENV_NAME="production")
    with app.app_context():
        yield app.config


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://fcm.googleapis.com/fcm/send/abc",
        "https://updates.push.services.mozilla.com/wpush/v2/abc",
        "https://web.push.apple.com/QGx",
        "https://db5p.notify.windows.com/w/?token=abc",
    ],
)
def test_the_real_push_services_are_allowed(allow_list, endpoint):
    assert endpoint_allowed(endpoint)


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://fcm.googleapis.com/fcm/send/abc",  # not https
        "https://127.0.0.1/push",
        "https://localhost/push",
        "https://169.254.169.254/latest/meta-data",
        "https://fcm.googleapis.com.evil.test/x",
        "https://evilpush.apple.com/x",  # not a subdomain of push.apple.com
        "https://push.apple.com/x",  # the wildcard names subdomains only
        "https://user:pw@fcm.googleapis.com/x",
        "https://fcm.googleapis.com@10.0.0.1/x",
        "https://[::1]/x",
        "ftp://fcm.googleapis.com/x",
        "https://fcm.googleapis.com:99999/x",  # an impossible port
        "",
        "fcm.googleapis.com/x",
    ],
)
def test_anything_else_is_refused(allow_list, endpoint):
    assert not endpoint_allowed(endpoint)


def test_a_plain_http_entry_allows_that_host_only_over_http_and_never_in_production(allow_list):
    allow_list["PUSH_ALLOWED_HOSTS"] += ",http://127.0.0.1"
    assert not endpoint_allowed("http://127.0.0.1:8123/push/a")  # production
    allow_list["ENV_NAME"] = "test"
    assert endpoint_allowed("http://127.0.0.1:8123/push/a")
    assert not endpoint_allowed("http://127.0.0.2:8123/push/a")
    assert not endpoint_allowed("http://localhost:8123/push/a")
