"""Run a DAG with ``dag.test()`` and see what it left behind: the run's state, each task's state and
tries, and every XCom.

In pytest, the ``infakt_dag_runner`` fixture gives :func:`run_dag` on a fresh metadata database for the
test (see :mod:`airflow_provider_infakt.testing.pytest_plugin`)::

    def test_billing(infakt_connection, infakt_dag_runner):
        result = infakt_dag_runner("dags/billing.py", conf={"invoice_id": 1})
        assert result.state == "success"
        assert result.task_states["deliver"] == "success"
        assert result.xcom("wait", key="invoice_status") == "sent"

Importing this module does not import Airflow; the functions do. Airflow 2.10 to 3.3 are supported.
"""

from __future__ import annotations

import datetime
import hashlib
import importlib.util
import inspect
import os
import pathlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from . import _dagtest_fixes
from ._airflow_home import isolate_airflow_home, show_to_airflow

__all__ = ["DagRunResult", "TaskOutcome", "isolate_airflow_home", "load_dag", "load_dags", "run_dag"]


class TaskOutcome(NamedTuple):
    """How one task instance (one map index of a mapped task) ended.

    It compares equal to the plain tuple ``(state, try_number)``.
    """

    #: ``success``, ``failed``, ``skipped``, ``upstream_failed``, ...; ``none`` for one that never ran.
    state: str
    #: its last try (1 for a task that succeeded at once; 0 for one that never ran).
    try_number: int


@dataclass(frozen=True)
class DagRunResult:
    """What one DAG run left behind in the metadata database.

    :param dag_id: the DAG's id.
    :param run_id: the run's id.
    :param state: the run's state: ``success``, ``failed``, ...
    :param tasks: each task instance's outcome, by ``(task_id, map_index)``; ``map_index`` is ``-1`` for
        a task that is not mapped.
    :param xcoms: every XCom the run's tasks pushed, deserialized, by ``(task_id, map_index, key)``.
    """

    dag_id: str
    run_id: str
    state: str
    tasks: Mapping[tuple[str, int], TaskOutcome] = field(repr=False)
    xcoms: Mapping[tuple[str, int, str], Any] = field(repr=False)

    @property
    def task_states(self) -> dict[str, str | dict[int, str]]:
        """Each task's state by task id; a mapped task's is a dict of states by map index, e.g.
        ``{"find": "success", "deliver": {0: "success", 1: "failed"}}``."""
        states: dict[str, str | dict[int, str]] = {}
        for (task_id, map_index), outcome in sorted(self.tasks.items()):
            if map_index < 0:
                states[task_id] = outcome.state
            else:
                mapped = states.setdefault(task_id, {})
                if isinstance(mapped, dict):
                    mapped[map_index] = outcome.state
        return states

    def task_state(self, task_id: str, map_index: int = -1) -> str:
        """One task instance's state.

        :param task_id: the task's id.
        :param map_index: the map index of a mapped task's instance; ``-1`` for a task that is not mapped.
        :raises KeyError: when the run has no such task instance (the message lists those it has).
        """
        try:
            return self.tasks[(task_id, map_index)].state
        except KeyError:
            raise KeyError(
                f"no task instance {task_id!r} (map index {map_index}) in run {self.run_id!r}; it has "
                f"{', '.join(f'{t}[{i}]' if i >= 0 else t for t, i in sorted(self.tasks)) or 'none'}"
            ) from None

    def xcom(self, task_id: str, key: str = "return_value", map_index: int | None = None) -> Any:
        """An XCom a task pushed (``return_value`` is what it returned).

        :param task_id: the task's id.
        :param key: the XCom's key.
        :param map_index: one instance of a mapped task; ``None`` for a task that is not mapped, or for the
            values of every instance of a mapped task that pushed ``key``, as a list in map-index order
            (what ``xcom_pull`` of a mapped task gives).
        :raises KeyError: when no such XCom was pushed (the message lists the keys the task pushed).
        """
        if map_index is None and (task_id, -1, key) not in self.xcoms:
            mapped = sorted((i, v) for (t, i, k), v in self.xcoms.items() if t == task_id and k == key and i >= 0)
            if mapped:
                return [value for _, value in mapped]
        index = -1 if map_index is None else map_index
        try:
            return self.xcoms[(task_id, index, key)]
        except KeyError:
            pushed = sorted({k for (t, i, k) in self.xcoms if t == task_id and (map_index is None or i == index)})
            raise KeyError(
                f"task {task_id!r}{'' if map_index is None else f' (map index {map_index})'} pushed no XCom "
                f"{key!r} in run {self.run_id!r}; it pushed: {', '.join(pushed) or 'nothing'}"
            ) from None


def load_dags(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Import a DAG file, or every ``*.py`` file of a folder (not its subfolders), and return the DAGs
    defined at their module level, by DAG id. Each call imports the files afresh.

    :param path: a DAG file or a folder of them.
    :raises FileNotFoundError: when ``path`` does not exist.
    :raises ValueError: when two files define the same DAG id.
    """
    where = pathlib.Path(path).resolve()
    if not where.exists():
        raise FileNotFoundError(f"no DAG file or folder at {where}")
    files = sorted(where.glob("*.py")) if where.is_dir() else [where]
    found: dict[str, Any] = {}
    origin: dict[str, pathlib.Path] = {}
    for file in files:
        digest = hashlib.sha1(str(file).encode(), usedforsecurity=False).hexdigest()[:10]
        spec = importlib.util.spec_from_file_location(f"infakt_dagfile_{file.stem}_{digest}", file)
        if spec is None or spec.loader is None:  # pragma: no cover - a .py file always has a loader
            raise ValueError(f"{file} cannot be imported as a Python module")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for value in vars(module).values():
            if _is_dag(value) and value.dag_id not in found:
                found[value.dag_id] = value
                origin[value.dag_id] = file
            elif _is_dag(value) and found[value.dag_id] is not value:
                raise ValueError(f"DAG id {value.dag_id!r} is defined twice: in {origin[value.dag_id]} and {file}")
    return found


def load_dag(path: str | os.PathLike[str], dag_id: str | None = None) -> Any:
    """The DAG ``dag_id`` of a DAG file or folder (see :func:`load_dags`); without ``dag_id``, the only
    DAG there is.

    :param path: a DAG file or a folder of them.
    :param dag_id: which DAG, when there are several.
    :raises LookupError: when there is no such DAG, or several and no ``dag_id`` (the message lists them).
    """
    dags = load_dags(path)
    if dag_id is None and len(dags) == 1:
        return next(iter(dags.values()))
    if dag_id is not None and dag_id in dags:
        return dags[dag_id]
    listed = ", ".join(repr(d) for d in sorted(dags)) or "none"
    if dag_id is None:
        raise LookupError(f"{path} defines {len(dags)} DAGs ({listed}); say which with dag_id=")
    raise LookupError(f"{path} defines no DAG {dag_id!r}; it defines: {listed}")


def run_dag(
    dag: Any,
    *,
    conf: Mapping[str, Any] | None = None,
    logical_date: datetime.datetime | None = None,
    dag_id: str | None = None,
) -> DagRunResult:
    """Run a DAG with ``dag.test()`` (every task in this process, triggers inline) and collect what the
    run left: its state, each task instance's state and tries, and every XCom.

    Airflow must already point at a migrated metadata database: in pytest, use the ``infakt_dag_runner``
    fixture, which gives this function on a fresh one. The first call makes two corrections to Airflow
    3.0-3.2's ``dag.test()`` for the rest of the process (a task's in-process API closed under it; a
    rescheduled sensor's start date left a string); on other versions they change nothing.

    :param dag: a DAG object, or the path of a DAG file (then see ``dag_id``).
    :param conf: the run's ``dag_run.conf``.
    :param logical_date: the run's logical date (``None``: now). A run of that date that exists already is
        replaced by a new one with the same run id (on Airflow 2, one of that execution date).
    :param dag_id: with a path, which of the file's DAGs to run (needed when it defines several).
    :raises TypeError: for a ``conf`` that is not a mapping, a ``logical_date`` that is not a datetime, or a
        ``dag`` that is neither a DAG nor a path.
    """
    if isinstance(dag, str | os.PathLike):
        dag = load_dag(dag, dag_id)
    elif not _is_dag(dag):
        raise TypeError(f"dag={dag!r} is neither a DAG nor the path of a DAG file")
    elif dag_id is not None and dag_id != dag.dag_id:
        raise ValueError(f"dag_id={dag_id!r} is not the id of the DAG given ({dag.dag_id!r}); leave dag_id out")
    if conf is not None and not isinstance(conf, Mapping):
        raise TypeError(f"conf={conf!r} is not a mapping (a dict of the run's dag_run.conf)")
    if logical_date is not None and not isinstance(logical_date, datetime.datetime):
        raise TypeError(f"logical_date={logical_date!r} is not a datetime.datetime")
    _dagtest_fixes.apply_once()
    show_to_airflow(getattr(dag, "fileloc", None))
    dagrun = dag.test(run_conf=dict(conf or {}), **_date_arguments(dag, logical_date))
    return collect(dagrun)


def collect(dagrun: Any) -> DagRunResult:
    """What the DAG run ``dagrun`` (Airflow's ``DagRun``) left in the metadata database.

    :param dagrun: the ``DagRun`` ``dag.test()`` returned.
    """
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    query = select(TaskInstance).where(TaskInstance.dag_id == dagrun.dag_id, TaskInstance.run_id == dagrun.run_id)
    with create_session() as session:
        tasks = {
            (ti.task_id, ti.map_index): TaskOutcome(_state(ti.state), int(ti.try_number or 0))
            for ti in session.scalars(query)
        }
        xcoms = _xcoms(dagrun, session)
    return DagRunResult(str(dagrun.dag_id), str(dagrun.run_id), _state(dagrun.state), tasks, xcoms)


def _state(state: Any) -> str:
    return "none" if state is None else str(getattr(state, "value", state))


def _is_dag(value: Any) -> bool:
    return hasattr(value, "dag_id") and hasattr(value, "test") and hasattr(value, "task_dict")


def _date_arguments(dag: Any, logical_date: datetime.datetime | None) -> dict[str, Any]:
    if logical_date is None:
        return {}
    accepted = inspect.signature(dag.test).parameters
    if "logical_date" in accepted:  # Airflow 3
        return (
            {"logical_date": logical_date, "run_after": logical_date}
            if "run_after" in accepted
            else {"logical_date": logical_date}
        )
    return {"execution_date": logical_date}  # Airflow 2.10, 2.11


def _xcoms(dagrun: Any, session: Any) -> dict[tuple[str, int, str], Any]:
    try:  # Airflow 3
        from airflow.models.xcom import XComModel
    except ImportError:  # Airflow 2: the ORM object deserializes its value on load
        from airflow.models.xcom import XCom

        rows = session.scalars(XCom.get_many(run_id=dagrun.run_id, dag_ids=dagrun.dag_id, session=session))
        return {(r.task_id, r.map_index, r.key): r.value for r in rows}
    rows = session.scalars(XComModel.get_many(run_id=dagrun.run_id, dag_ids=dagrun.dag_id))
    return {(r.task_id, r.map_index, r.key): XComModel.deserialize_value(r) for r in rows}
