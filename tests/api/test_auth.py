"""Credentials: headers put in the right place, OAuth signatures that verify, secrets never shown."""

from __future__ import annotations

import urllib.parse

import pytest
from oauthlib.common import Request as OAuthRequest
from oauthlib.oauth1.rfc5849 import signature, utils

from airflow_provider_infakt.api import ApiKeyAuth, ClientSettings, OAuth1Auth, XAuth
from airflow_provider_infakt.api import errors as e
from airflow_provider_infakt.api import protocol as p

from .conftest import v2_settings, v3_settings

SECRETS = ("test-consumer-secret", "test-token-secret", "test-api-key", "hunter2", "test-token")


def _verify(request: p.Request, consumer_secret: str, token_secret: str | None) -> bool:
    """Check a signed request the way an OAuth 1.0a server does, with oauthlib's own functions."""
    header = request.header("Authorization")
    assert header is not None and header.startswith("OAuth ")
    oauth_params = dict(utils.parse_authorization_header(header))
    body = request.body.decode() if request.body else None
    headers = {"Authorization": header}
    if request.header("Content-Type"):
        headers["Content-Type"] = request.header("Content-Type")
    checked = OAuthRequest(request.full_url, request.method, body, headers)
    checked.params = signature.collect_parameters(
        uri_query=urllib.parse.urlsplit(request.full_url).query, body=body, headers=headers
    )
    checked.signature = urllib.parse.unquote(oauth_params["oauth_signature"])
    assert oauth_params["oauth_signature_method"] == "HMAC-SHA1"
    return signature.verify_hmac_sha1(checked, consumer_secret, token_secret)


def test_api_key_goes_in_the_header_only():
    request = p.build_get_invoice(v3_settings(), 1)
    signed = ApiKeyAuth("test-api-key").sign(request)
    assert signed.header("X-inFakt-ApiKey") == "test-api-key"
    assert "test-api-key" not in signed.full_url
    assert request.header("X-inFakt-ApiKey") is None  # the original is untouched


def test_oauth_signature_verifies_and_binds_the_query():
    settings = v2_settings()
    request = p.build_deliver(settings, 1, "mail", "KOPIA", "jan.kowalski@example.com")
    signed = OAuth1Auth("test-consumer-key", "test-consumer-secret", "test-token", "test-token-secret").sign(request)
    assert _verify(signed, "test-consumer-secret", "test-token-secret")
    assert not _verify(signed, "wrong-secret", "test-token-secret")
    assert not _verify(signed, "test-consumer-secret", "wrong-token-secret")
    tampered = p.Request(**{**signed.__dict__, "params": (("type", "mail"), ("doc_type", "org"), ("id", "1"))})
    assert not _verify(tampered, "test-consumer-secret", "test-token-secret")
    header = signed.header("Authorization") or ""
    assert 'oauth_consumer_key="test-consumer-key"' in header and 'oauth_token="test-token"' in header
    assert "oauth_" not in signed.full_url
    assert "secret" not in header


def test_oauth_nonce_and_timestamp_are_injectable_and_fresh_by_default():
    request = p.build_get_invoice(v2_settings(), 1)
    fixed = OAuth1Auth("ck", "cs", "t", "ts", nonce=lambda: "abc123", timestamp=lambda: "1700000000")
    assert fixed.sign(request).header("Authorization") == fixed.sign(request).header("Authorization")
    fresh = OAuth1Auth("ck", "cs", "t", "ts")
    assert fresh.sign(request).header("Authorization") != fresh.sign(request).header("Authorization")


def test_xauth_exchange_request_is_consumer_signed_form_post():
    xauth = XAuth("test-consumer-key", "test-consumer-secret", "jan.kowalski@example.com", "hunter2")
    request = xauth.exchange_request("https://www.infakt.pl/api/v2")
    assert request.method == "POST" and request.url == "https://www.infakt.pl/oauth/access_token"
    assert request.header("Authorization") is None  # signed per attempt, by the client
    assert urllib.parse.parse_qsl(request.body.decode()) == [
        ("x_auth_username", "jan.kowalski@example.com"),
        ("x_auth_password", "hunter2"),
        ("x_auth_mode", "client_auth"),
    ]
    signed = xauth.sign(request)
    assert _verify(signed, "test-consumer-secret", None)
    assert "oauth_token=" not in (signed.header("Authorization") or "")
    assert "hunter2" not in repr(signed) and "kowalski" not in repr(signed)


@pytest.mark.parametrize(
    ("base", "root"),
    [
        ("https://www.infakt.pl/api/v2", "https://www.infakt.pl"),
        ("http://127.0.0.1:8080/api/v2", "http://127.0.0.1:8080"),
        ("https://proxy.example/infakt/api/v2", "https://proxy.example/infakt"),
        ("https://proxy.example/v2", "https://proxy.example"),
    ],
)
def test_xauth_root(base, root):
    xauth = XAuth("ck", "cs", "u@example.com", "pw")
    assert xauth.exchange_request(base).url == root + "/oauth/access_token"


def test_xauth_parse_exchange():
    xauth = XAuth("test-consumer-key", "test-consumer-secret", "u@example.com", "hunter2")
    request = xauth.exchange_request("https://www.infakt.pl/api/v2")
    auth = xauth.parse_exchange(request, 200, {}, b"oauth_token=tok&oauth_token_secret=sec")
    assert auth.has_token
    signed = auth.sign(p.build_get_invoice(v2_settings(), 1))
    assert 'oauth_token="tok"' in (signed.header("Authorization") or "")
    assert _verify(signed, "test-consumer-secret", "sec")
    with pytest.raises(e.InfaktProtocolError, match="oauth_token"):
        xauth.parse_exchange(request, 200, {}, b"<html>login</html>")
    with pytest.raises(e.InfaktAuthError) as caught:
        xauth.parse_exchange(request, 401, {"Content-Type": "text/plain"}, b"Invalid xAuth login.")
    assert "Invalid xAuth login." in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_no_secret_in_repr_or_str():
    objects = [
        ApiKeyAuth("test-api-key"),
        OAuth1Auth("test-consumer-key", "test-consumer-secret", "test-token", "test-token-secret"),
        XAuth("test-consumer-key", "test-consumer-secret", "jan.kowalski@example.com", "hunter2"),
        v3_settings(),
        ClientSettings(
            "https://www.infakt.pl/api/v2",
            "v2",
            XAuth("ck", "test-consumer-secret", "jan.kowalski@example.com", "hunter2"),
        ),
    ]
    for thing in objects:
        for text in (repr(thing), str(thing)):
            for secret in (*SECRETS, "kowalski"):
                assert secret not in text, (secret, text)


@pytest.mark.parametrize("bad", ["", None, "key\r\nX-Evil: 1"])
def test_credentials_are_checked(bad):
    with pytest.raises(e.InfaktConfigError) as caught:
        ApiKeyAuth(bad)
    assert "X-Evil" not in str(caught.value)


def test_signing_logs_no_secret(caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    xauth = XAuth("test-consumer-key", "test-consumer-secret", "jan.kowalski@example.com", "hunter2")
    xauth.sign(xauth.exchange_request("https://www.infakt.pl/api/v2"))
    OAuth1Auth(*("ck", "test-consumer-secret", "test-token", "test-token-secret")).sign(
        p.build_deliver(v2_settings(), 1, "mail", "org", "jan.kowalski@example.com")
    )
    logged = caplog.text
    for secret in ("hunter2", "test-consumer-secret", "test-token-secret", "kowalski"):
        assert secret not in logged
    logging.getLogger("oauthlib.oauth1.rfc5849").warning("still heard")
    assert "still heard" in caplog.text
