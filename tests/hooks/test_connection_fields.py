"""Connection -> client settings: defaults, the contract's fields, and clear refusals without secrets."""

from __future__ import annotations

import pytest

from airflow_provider_infakt.api import ApiKeyAuth, InfaktConfigError, OAuth1Auth, RateLimit, XAuth
from airflow_provider_infakt.hooks.connection import (
    PRODUCTION_V2,
    PRODUCTION_V3,
    SANDBOX_V3,
    ConnectionFields,
    secrets_of,
    settings_from_connection,
)

KEY = "live-key-0123456789"
SECRET = "consumer-secret-abcdef"
TOKEN_SECRET = "token-secret-987654"
PASSWORD = "xauth-password-555"


def fields(host=None, login=None, password=KEY, **extra):
    return ConnectionFields(conn_id="infakt_test", host=host, login=login, password=password, extra=extra)


def test_v3_defaults_to_production_with_documented_rate_limit():
    settings = settings_from_connection(fields())
    assert (settings.base_url, settings.api_version, settings.format) == (PRODUCTION_V3, "v3", "json")
    assert isinstance(settings.auth, ApiKeyAuth)
    assert settings.rate_limit == RateLimit(get_per_minute=300, other_per_minute=150)
    assert settings.verify is True


def test_v3_sandbox_and_explicit_host():
    assert settings_from_connection(fields(sandbox="true")).base_url == SANDBOX_V3
    assert settings_from_connection(fields(host="api.infakt.pl/v3/")).base_url == "https://api.infakt.pl/v3"


def test_v2_oauth_and_xauth():
    oauth = settings_from_connection(
        fields(
            login="ck",
            password=SECRET,
            api_version="v2",
            format="xml",
            oauth_token="t",
            oauth_token_secret="s",
        )
    )
    assert (oauth.base_url, oauth.format, type(oauth.auth)) == (PRODUCTION_V2, "xml", OAuth1Auth)
    xauth = settings_from_connection(
        fields(login="ck", password=SECRET, api_version="v2", xauth_username="u", xauth_password=PASSWORD)
    )
    assert type(xauth.auth) is XAuth


def test_airflow2_form_prefixes_and_empty_values_are_understood():
    settings = settings_from_connection(
        fields(
            login="ck",
            password=SECRET,
            **{
                "extra__infakt__api_version": "v2",
                "extra__infakt__oauth_token": "t",
                "extra__infakt__oauth_token_secret": "s",
                "extra__infakt__xauth_username": "",
                "extra__infakt__timeout": "12.5",
                "extra__infakt__sandbox": False,
            },
        )
    )
    assert settings.api_version == "v2"
    assert settings.timeout == (10.0, 12.5)


def test_options():
    settings = settings_from_connection(
        fields(timeout=5, verify="/etc/ssl/ca.pem", max_retries="0", allow_http=True, rate_limit=False)
    )
    assert (settings.timeout, settings.verify, settings.max_retries) == ((5.0, 5.0), "/etc/ssl/ca.pem", 0)
    assert settings.rate_limit is None
    custom = settings_from_connection(fields(rate_limit={"get_per_minute": 60, "other_per_minute": 30}))
    assert custom.rate_limit == RateLimit(60, 30)
    assert settings_from_connection(fields(verify="false")).verify is False


@pytest.mark.parametrize(
    ("conn", "message"),
    [
        (fields(api_version="v4"), "extra.api_version='v4' is not one of 'v3', 'v2'"),
        (fields(api_version="V2"), "did you mean 'v2'?"),
        (fields(format="xml"), "extra.format='xml': API v3 answers in JSON only"),
        (fields(password=None), "API v3 needs the API key in the connection's password field"),
        (fields(api_vesion="v2"), "unknown extra field(s) api_vesion"),
        (fields(timeout="soon"), "extra.timeout='soon' is not a number"),
        (fields(max_retries=-1), "extra.max_retries=-1 is not an integer >= 0"),
        (fields(sandbox="maybe"), "extra.sandbox='maybe' is not a boolean"),
        (fields(host="http://infakt.example/api/v3"), "refusing plain http://"),
        (fields(api_version="v2", login="ck"), "API v2 needs extra.oauth_token"),
        (fields(api_version="v2", password=SECRET), "consumer key in login"),
        (
            fields(api_version="v2", login="ck", password=SECRET, oauth_token="t"),
            "OAuth needs both extra.oauth_token and extra.oauth_token_secret",
        ),
        (
            fields(api_version="v2", login="ck", password=SECRET, xauth_password=PASSWORD),
            "xAuth needs both",
        ),
        (
            fields(api_version="v2", login="ck", password=SECRET, oauth_token="t", xauth_username="u"),
            "not both",
        ),
        (fields(api_version="v2", sandbox=True, login="ck", password=SECRET), "no sandbox for API v2"),
        (fields(rate_limit={"per_hour": 5}), "extra.rate_limit may hold"),
    ],
)
def test_refusals_name_the_field_and_hide_secrets(conn, message):
    with pytest.raises(InfaktConfigError) as raised:
        settings_from_connection(conn)
    text = str(raised.value)
    assert message in text
    assert "infakt_test" in text
    for secret in (KEY, SECRET, TOKEN_SECRET, PASSWORD):
        assert secret not in text


def test_secrets_of_lists_every_secret():
    conn = fields(
        login="ck",
        password=SECRET,
        api_version="v2",
        oauth_token="t",
        oauth_token_secret=TOKEN_SECRET,
        **{"extra__infakt__xauth_password": PASSWORD},
    )
    assert sorted(secrets_of(conn)) == sorted([SECRET, TOKEN_SECRET, PASSWORD])


def test_deadline_extra():
    from airflow_provider_infakt.hooks.connection import EXTRA_FIELDS
    from airflow_provider_infakt.hooks.form import FORM_FIELDS

    assert "deadline" in EXTRA_FIELDS and "deadline" in FORM_FIELDS
    assert settings_from_connection(fields(deadline="45")).request_deadline == 45.0
    assert settings_from_connection(fields(timeout=5)).request_deadline == 15.0  # 5 + 2 x 5
    assert settings_from_connection(fields()).request_deadline == 70.0
    for bad in ("soon", -1, 0):
        with pytest.raises(InfaktConfigError, match="deadline"):
            settings_from_connection(fields(deadline=bad))
