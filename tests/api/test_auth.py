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


# -- RFC 5849's own examples, checked with an implementation written here from the RFC's text ------
# (not with oauthlib, which makes our signatures: a bug shared by signer and checker would pass)
def _rfc_encode(text: str) -> str:
    """RFC 5849 3.6: percent-encode all but ALPHA, DIGIT, '-', '.', '_', '~', upper-case hex."""
    return urllib.parse.quote(text, safe="~")


def _rfc_base_string(method: str, base_uri: str, params: list[tuple[str, str]]) -> str:
    """RFC 5849 3.4.1: method, base string URI and the normalized parameters, each encoded."""
    pairs = sorted((_rfc_encode(name), _rfc_encode(value)) for name, value in params)
    normalized = "&".join(f"{name}={value}" for name, value in pairs)
    return "&".join((method.upper(), _rfc_encode(base_uri), _rfc_encode(normalized)))


def _rfc_hmac_sha1(base_string: str, client_secret: str, token_secret: str) -> str:
    """RFC 5849 3.4.2: HMAC-SHA1 keyed with the encoded secrets joined by '&', base64-encoded."""
    import base64
    import hashlib
    import hmac

    key = f"{_rfc_encode(client_secret)}&{_rfc_encode(token_secret)}".encode()
    return base64.b64encode(hmac.new(key, base_string.encode(), hashlib.sha1).digest()).decode()


# RFC 5849 section 1.2: the photo request, with its credentials and its signature.
RFC_1_2 = {
    "client": ("dpf43f3p2l4k3l03", "kd94hf93k423kf44"),
    "token": ("nnch734d00sl2jdk", "pfkkdhi9sl3r4s00"),
    "nonce": "chapoH",
    "timestamp": "137131202",
    "signature": "MdpQcU8iPSUjWoN/UDMsK2sui9I=",
}
RFC_1_2_PARAMS = [
    ("file", "vacation.jpg"),
    ("size", "original"),
    ("oauth_consumer_key", "dpf43f3p2l4k3l03"),
    ("oauth_token", "nnch734d00sl2jdk"),
    ("oauth_signature_method", "HMAC-SHA1"),
    ("oauth_timestamp", "137131202"),
    ("oauth_nonce", "chapoH"),
]
# RFC 5849 section 3.4.1.1: the example request and its signature base string, byte for byte.
RFC_3_4_1_1_BASE_STRING = (
    "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D"
    "%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1"
    "%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7"
)
RFC_3_4_1_1_PARAMS = [
    ("b5", "=%3D"),
    ("a3", "a"),
    ("c@", ""),
    ("a2", "r b"),
    ("c2", ""),
    ("a3", "2 q"),
    ("oauth_consumer_key", "9djdj82h48djs9d2"),
    ("oauth_token", "kkk9d7dh3k39sjv7"),
    ("oauth_signature_method", "HMAC-SHA1"),
    ("oauth_timestamp", "137131201"),
    ("oauth_nonce", "7d8f3e4a"),
]


def test_the_reference_implementation_reproduces_the_rfc_examples():
    base = _rfc_base_string("GET", "http://photos.example.net/photos", RFC_1_2_PARAMS)
    assert _rfc_hmac_sha1(base, RFC_1_2["client"][1], RFC_1_2["token"][1]) == RFC_1_2["signature"]
    assert _rfc_base_string("POST", "http://example.com/request", RFC_3_4_1_1_PARAMS) == RFC_3_4_1_1_BASE_STRING


def _signed_params(header: str) -> dict[str, str]:
    assert header.startswith("OAuth ")
    return {k: urllib.parse.unquote(v) for k, v in utils.parse_authorization_header(header)}


def test_our_signer_on_rfc_1_2_matches_the_rfc_byte_for_byte():
    """Our signer adds oauth_version="1.0" (optional in RFC 5849 3.1), so its signature is the RFC's
    computation over the RFC's parameters plus that one; everything else is the RFC's example."""
    auth = OAuth1Auth(
        *RFC_1_2["client"], *RFC_1_2["token"], nonce=lambda: RFC_1_2["nonce"], timestamp=lambda: RFC_1_2["timestamp"]
    )
    request = p.Request(
        "GET", "http://photos.example.net/photos", params=(("file", "vacation.jpg"), ("size", "original"))
    )
    header = auth.sign(request).header("Authorization") or ""
    signed = _signed_params(header)
    expected = _rfc_hmac_sha1(
        _rfc_base_string("GET", "http://photos.example.net/photos", [*RFC_1_2_PARAMS, ("oauth_version", "1.0")]),
        RFC_1_2["client"][1],
        RFC_1_2["token"][1],
    )
    assert signed.pop("oauth_signature") == expected
    assert signed == {**dict(RFC_1_2_PARAMS[2:]), "oauth_version": "1.0"}
    assert header == (
        'OAuth oauth_nonce="chapoH", oauth_timestamp="137131202", oauth_version="1.0", '
        'oauth_signature_method="HMAC-SHA1", oauth_consumer_key="dpf43f3p2l4k3l03", '
        'oauth_token="nnch734d00sl2jdk", oauth_signature="1IAE9RzK%2BDqSqVTdQ%2F0zWANXVzs%3D"'
    )


def test_our_signer_on_rfc_3_4_1_1_encodes_query_and_form_body_as_the_rfc_does():
    """The RFC's tricky request: an encoded '=' and '%', '@' in a name, a space in the query, a form
    body with an empty value and a '+'. The signature must be the RFC's base string (plus our
    oauth_version), signed; the RFC gives no secrets for this example, so any will do."""
    auth = OAuth1Auth(
        "9djdj82h48djs9d2",
        "j49sk3j29djd",
        "kkk9d7dh3k39sjv7",
        "dh893hdasih9",
        nonce=lambda: "7d8f3e4a",
        timestamp=lambda: "137131201",
    )
    request = p.Request(
        "POST",
        "http://example.com/request",
        params=(("b5", "=%3D"), ("a3", "a"), ("c@", ""), ("a2", "r b")),
        headers=(("Content-Type", "application/x-www-form-urlencoded"),),
        body=b"c2&a3=2+q",
    )
    assert request.full_url == "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b"  # the RFC's URL
    signed = _signed_params(auth.sign(request).header("Authorization") or "")
    base = _rfc_base_string("POST", "http://example.com/request", [*RFC_3_4_1_1_PARAMS, ("oauth_version", "1.0")])
    assert base.replace("%26oauth_version%3D1.0", "") == RFC_3_4_1_1_BASE_STRING
    assert signed["oauth_signature"] == _rfc_hmac_sha1(base, "j49sk3j29djd", "dh893hdasih9")
