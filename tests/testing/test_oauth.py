"""v2 authentication for real: OAuth 1.0a HMAC-SHA1 signatures, freshness, nonces, and xAuth."""

from __future__ import annotations

import time
import urllib.parse

import pytest
import requests

from airflow_provider_infakt.testing import credentials

from .helpers import oauth_headers, v2_get

DELIVER = "/invoices/deliver.json?type=mail&doc_type=org&id=1"


@pytest.fixture
def conn(infakt_emulator):
    return infakt_emulator.connection(api_version="v2", format="json")


def _assert_rejected(infakt_emulator, response, reason):
    assert response.status_code == 401
    assert reason in response.json()["message"]
    assert infakt_emulator.deliveries == []


def test_unsigned_request_is_401(infakt_emulator, conn):
    response = requests.get(conn["host"] + DELIVER, timeout=10)
    _assert_rejected(infakt_emulator, response, "OAuth 1.0a signature required")


def test_wrong_consumer_secret_is_401(infakt_emulator, conn):
    _assert_rejected(infakt_emulator, v2_get(conn, DELIVER, client_secret="wrong"), "Invalid OAuth signature")


def test_wrong_token_secret_is_401(infakt_emulator, conn):
    response = v2_get(conn, DELIVER, resource_owner_secret="wrong")
    _assert_rejected(infakt_emulator, response, "Invalid OAuth signature")


def test_unknown_consumer_and_token_are_401(infakt_emulator, conn):
    _assert_rejected(infakt_emulator, v2_get({**conn, "login": "who"}, DELIVER), "Unknown oauth_consumer_key")
    _assert_rejected(infakt_emulator, v2_get(conn, DELIVER, resource_owner_key="t"), "Unknown or missing")


def test_tampered_query_is_401(infakt_emulator, conn):
    url = conn["host"] + DELIVER
    headers = oauth_headers(conn, url)
    response = requests.get(url.replace("id=1", "id=2"), headers=headers, timeout=10)
    _assert_rejected(infakt_emulator, response, "Invalid OAuth signature")


def test_stale_timestamp_is_401(infakt_emulator, conn):
    response = v2_get(conn, DELIVER, timestamp=str(int(time.time()) - 3600))
    _assert_rejected(infakt_emulator, response, "Stale oauth_timestamp")


def test_reused_nonce_is_401(infakt_emulator, conn):
    stamp = str(int(time.time()))
    assert v2_get(conn, DELIVER, nonce="once", timestamp=stamp).status_code == 200
    response = v2_get(conn, DELIVER, nonce="once", timestamp=stamp)
    assert response.status_code == 401
    assert "oauth_nonce already used" in response.json()["message"]
    assert len(infakt_emulator.deliveries) == 1


def test_signature_in_query_is_accepted_too(infakt_emulator, conn):
    from oauthlib.oauth1 import SIGNATURE_TYPE_QUERY, Client

    extra = conn["extra"]
    client = Client(
        conn["login"],
        client_secret=conn["password"],
        resource_owner_key=extra["oauth_token"],
        resource_owner_secret=extra["oauth_token_secret"],
        signature_type=SIGNATURE_TYPE_QUERY,
    )
    url, _, _ = client.sign(conn["host"] + DELIVER)
    assert requests.get(url, timeout=10).status_code == 200
    assert len(infakt_emulator.deliveries) == 1


def _xauth(conn, root, username, password, *, mode="client_auth", sign=True, secret=None):
    url = root + "/oauth/access_token"
    body = urllib.parse.urlencode({"x_auth_username": username, "x_auth_password": password, "x_auth_mode": mode})
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if sign:
        options = {"client_secret": secret} if secret else {}
        headers = oauth_headers(conn, url, method="POST", body=body, headers=headers, token=False, **options)
    return requests.post(url, data=body, headers=headers, timeout=10)


def test_xauth_exchange_gives_a_working_token_pair(infakt_emulator):
    conn = infakt_emulator.connection(api_version="v2", auth="xauth")
    assert conn["extra"]["xauth_password"] == credentials.XAUTH_PASSWORD
    response = _xauth(conn, infakt_emulator.url, credentials.XAUTH_USERNAME, credentials.XAUTH_PASSWORD)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    pair = dict(urllib.parse.parse_qsl(response.text))
    assert set(pair) == {"oauth_token", "oauth_token_secret"}
    signed = {**conn, "extra": {**conn["extra"], **pair}}
    assert v2_get(signed, DELIVER).status_code == 200
    assert [d.api_version for d in infakt_emulator.deliveries] == ["v2"]


@pytest.mark.parametrize(
    ("username", "password", "mode", "sign", "secret", "reason"),
    [
        (
            credentials.XAUTH_USERNAME,
            "wrong",
            "client_auth",
            True,
            None,
            "Invalid xAuth username or password",
        ),
        ("nobody@x.example", credentials.XAUTH_PASSWORD, "client_auth", True, None, "Invalid xAuth"),
        (credentials.XAUTH_USERNAME, credentials.XAUTH_PASSWORD, "reverse_auth", True, None, "x_auth_mode"),
        (
            credentials.XAUTH_USERNAME,
            credentials.XAUTH_PASSWORD,
            "client_auth",
            False,
            None,
            "signature required",
        ),
        (credentials.XAUTH_USERNAME, credentials.XAUTH_PASSWORD, "client_auth", True, "bad", "Invalid OAuth"),
    ],
)
def test_xauth_rejections(infakt_emulator, username, password, mode, sign, secret, reason):
    conn = infakt_emulator.connection(api_version="v2", auth="xauth")
    response = _xauth(conn, infakt_emulator.url, username, password, mode=mode, sign=sign, secret=secret)
    assert response.status_code == 401
    assert reason in response.text
    assert credentials.XAUTH_PASSWORD not in response.text
