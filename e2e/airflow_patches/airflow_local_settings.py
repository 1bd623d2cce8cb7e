"""A backport of apache/airflow#73298 for the e2e api-server on Airflow 3.3.1 and 3.3.2 only.

Airflow 3.3.1 and 3.3.2 break the "Test Connection" button of the connection list for every connection
without a port (ours has none: the form hides it). The UI sends ``port: Number(null)``, which is ``0``;
the api-server's ``_same_endpoint`` check, added in 3.3.1, sees ``0 != None``, takes it for a test of
another host, and refuses it with 400 "The host or port to test differs from the stored connection"
because the UI sends the stored password masked. apache/airflow#73298 (merged after 3.3.2) makes the
check treat port ``0`` as blank; this file does the same on those two versions, and nothing on others.

Airflow imports ``airflow_local_settings`` at start-up when it is on ``sys.path``: the e2e run puts
this folder on the api-server's ``PYTHONPATH`` (nothing else needs it). The route module is patched
when it is first imported, not here: importing it while Airflow's settings are being set up would be
too early.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.metadata
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

__all__: list[str] = []  # no cluster policies here: Airflow registers the names listed as policies

_ROUTES = "airflow.api_fastapi.core_api.routes.public.connections"
_AFFECTED = ("3.3.1", "3.3.2")


def _patch(module: ModuleType) -> None:
    original = getattr(module, "_same_endpoint", None)
    if original is None:
        return

    def _same_endpoint(requested: Any, stored: Any) -> bool:
        """Port 0 (what the UI sends for no port) is as blank as ``""``, as apache/airflow#73298 has it."""
        return bool(original(None if requested == 0 else requested, None if stored == 0 else stored))

    module._same_endpoint = _same_endpoint  # type: ignore[attr-defined]


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Finds the connections route module with the normal finders, and patches it once it is loaded."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != _ROUTES:
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        load = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            load(module)
            _patch(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _install() -> None:
    try:
        version = importlib.metadata.version("apache-airflow-core")
    except importlib.metadata.PackageNotFoundError:
        return
    if version not in _AFFECTED:
        return
    if _ROUTES in sys.modules:
        _patch(sys.modules[_ROUTES])
    else:
        sys.meta_path.insert(0, _PatchOnImport())


_install()
