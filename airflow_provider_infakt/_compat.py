"""Where Airflow 2 (2.10+) and Airflow 3 keep things: the only module that knows.

Everything else imports Airflow's base classes, configuration, secret masking and exceptions from
here. Airflow 3 puts the authoring interface in ``airflow.sdk``; Airflow 2 in ``airflow.models`` and
friends.
"""

from __future__ import annotations

from typing import Any

try:  # Airflow 3
    from airflow.sdk import BaseHook, BaseOperator, BaseOperatorLink, BaseSensorOperator, PokeReturnValue
    from airflow.sdk.exceptions import (
        AirflowException,
        AirflowFailException,
        AirflowSensorTimeout,
        AirflowSkipException,
    )
    from airflow.sdk.log import mask_secret as _mask_secret

    AIRFLOW_V3 = True
except ImportError:  # Airflow 2.10+
    from airflow.exceptions import (  # type: ignore[no-redef,attr-defined]
        AirflowException,
        AirflowFailException,
        AirflowSensorTimeout,
        AirflowSkipException,
    )
    from airflow.hooks.base import BaseHook  # type: ignore[no-redef,attr-defined]
    from airflow.models import BaseOperator  # type: ignore[no-redef,attr-defined]
    from airflow.models.baseoperatorlink import BaseOperatorLink  # type: ignore[no-redef]
    from airflow.sensors.base import BaseSensorOperator, PokeReturnValue  # type: ignore[no-redef,attr-defined]
    from airflow.utils.log.secrets_masker import mask_secret as _mask_secret  # type: ignore[no-redef]

    AIRFLOW_V3 = False


def mask_secret(secret: str | None, name: str | None = None) -> None:
    """Register ``secret`` with Airflow's secrets masker so that logs show ``***`` instead."""
    if secret:
        _mask_secret(secret, name)


def get_conf_value(section: str, key: str, fallback: Any = None) -> Any:
    """A configuration value, read lazily (importing configuration at module level is not free)."""
    try:
        from airflow.sdk.configuration import conf
    except ImportError:  # Airflow 2
        from airflow.configuration import conf  # type: ignore[no-redef]
    return conf.get(section, key, fallback=fallback)


def ledger_asset() -> Any:
    """The asset whose state store holds the delivery ledger, or None where Airflow has no asset
    state store (before 3.3). Delivery tasks declare it as an inlet so that Airflow registers it."""
    try:  # Airflow 3.3+
        from airflow.sdk import Asset
        from airflow.sdk.execution_time.context import AssetStateStoreAccessor  # noqa: F401
    except ImportError:
        return None
    from airflow_provider_infakt.operators.ledger import LEDGER_ASSET_NAME

    return Asset(name=LEDGER_ASSET_NAME, uri=f"infakt://{LEDGER_ASSET_NAME}")


def ledger_store() -> Any:
    """The delivery ledger's store (the asset state store of :func:`ledger_asset`), or None before 3.3."""
    try:  # Airflow 3.3+
        from airflow.sdk.execution_time.context import AssetStateStoreAccessor
    except ImportError:
        return None
    from airflow_provider_infakt.operators.ledger import LEDGER_ASSET_NAME

    return AssetStateStoreAccessor(name=LEDGER_ASSET_NAME)


def xcom_value(ti_key: Any, key: str) -> Any:
    """The XCom value of ``key`` for the task instance ``ti_key`` (for operator links)."""
    try:
        from airflow.sdk.execution_time.xcom import XCom
    except ImportError:  # Airflow 2
        from airflow.models.xcom import XCom  # type: ignore[no-redef]
    return XCom.get_value(ti_key=ti_key, key=key)


__all__ = [
    "AIRFLOW_V3",
    "AirflowException",
    "AirflowFailException",
    "AirflowSensorTimeout",
    "AirflowSkipException",
    "BaseHook",
    "BaseOperator",
    "BaseOperatorLink",
    "BaseSensorOperator",
    "PokeReturnValue",
    "get_conf_value",
    "ledger_asset",
    "ledger_store",
    "mask_secret",
    "xcom_value",
]
