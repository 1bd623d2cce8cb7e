"""Shared settings factories for the API tests."""

from __future__ import annotations

import pytest

from airflow_provider_infakt.api import ApiKeyAuth, ClientSettings, OAuth1Auth

CONSUMER = ("test-consumer-key", "test-consumer-secret")
TOKEN = ("test-token", "test-token-secret")


def v2_settings(fmt: str = "json", base: str = "https://www.infakt.pl/api/v2", **kwargs: object) -> ClientSettings:
    return ClientSettings(base, "v2", OAuth1Auth(*CONSUMER, *TOKEN), format=fmt, **kwargs)  # type: ignore[arg-type]


def v3_settings(base: str = "https://api.infakt.pl/api/v3", **kwargs: object) -> ClientSettings:
    return ClientSettings(base, "v3", ApiKeyAuth("test-api-key"), **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def v2json() -> ClientSettings:
    return v2_settings("json")


@pytest.fixture
def v2xml() -> ClientSettings:
    return v2_settings("xml")


@pytest.fixture
def v3() -> ClientSettings:
    return v3_settings()
