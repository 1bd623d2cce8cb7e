"""ClientSettings refuses configurations that cannot work or would leak credentials."""

from __future__ import annotations

import pytest

from airflow_provider_infakt.api import ApiKeyAuth, ClientSettings, OAuth1Auth, XAuth
from airflow_provider_infakt.api.errors import InfaktConfigError
from airflow_provider_infakt.api.settings import is_loopback_host

KEY = ApiKeyAuth("k")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/api/v3",
        "http://127.5.5.5/api/v3",
        "http://localhost:1/api/v3",
        "http://[::1]:80/api/v3",
    ],
)
def test_plain_http_is_fine_on_loopback(url):
    assert ClientSettings(url, "v3", KEY).base_url == url


@pytest.mark.parametrize(
    "url", ["http://api.infakt.pl/api/v3", "http://10.0.0.1/api/v3", "http://localhost.evil.com/v3"]
)
def test_plain_http_elsewhere_needs_allow_http(url):
    with pytest.raises(InfaktConfigError, match="allow_http"):
        ClientSettings(url, "v3", KEY)
    assert ClientSettings(url, "v3", KEY, allow_http=True).base_url == url


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("", "empty"),
        ("ftp://api.infakt.pl/v3", "http(s)"),
        ("api.infakt.pl/api/v3", "http(s)"),
        ("https://user:s3cret@api.infakt.pl/api/v3", "credentials"),
        ("https://api.infakt.pl/api/v3?key=1", "query"),
    ],
)
def test_bad_urls(url, fragment):
    with pytest.raises(InfaktConfigError, match=fragment.replace("(", r"\(").replace(")", r"\)")) as caught:
        ClientSettings(url, "v3", KEY)
    assert "s3cret" not in str(caught.value)


def test_version_format_and_auth_must_agree():
    with pytest.raises(InfaktConfigError, match="JSON only"):
        ClientSettings("https://api.infakt.pl/api/v3", "v3", KEY, format="xml")
    with pytest.raises(InfaktConfigError, match="API key"):
        ClientSettings("https://api.infakt.pl/api/v3", "v3", OAuth1Auth("a", "b", "c", "d"))
    with pytest.raises(InfaktConfigError, match="OAuth"):
        ClientSettings("https://www.infakt.pl/api/v2", "v2", KEY)
    with pytest.raises(InfaktConfigError, match="api_version"):
        ClientSettings("https://www.infakt.pl/api/v2", "v5", KEY)  # type: ignore[arg-type]
    assert ClientSettings("https://www.infakt.pl/api/v2", "v2", XAuth("a", "b", "c", "d"), format="xml").format == "xml"


def test_numbers_are_checked():
    with pytest.raises(InfaktConfigError):
        ClientSettings("https://api.infakt.pl/api/v3", "v3", KEY, timeout=(0, 1))
    with pytest.raises(InfaktConfigError):
        ClientSettings("https://api.infakt.pl/api/v3", "v3", KEY, max_retries=-1)


def test_loopback():
    assert is_loopback_host("LOCALHOST") and is_loopback_host("127.0.0.2") and is_loopback_host("::1")
    assert not is_loopback_host("128.0.0.1") and not is_loopback_host("example.com") and not is_loopback_host(None)
