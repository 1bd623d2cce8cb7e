"""A throw-away Airflow home for tests: made before Airflow is imported, its SQLite metadata database
migrated once per test run and copied fresh for each test.

Airflow reads ``AIRFLOW_HOME`` and opens its metadata database when it is first imported, so the home
must be chosen before that; everything else (examples off, the JWT secret) Airflow reads when it needs
it, and the fixtures set it for one test only. A home is throw-away when :func:`isolate_airflow_home`
made it so in this very process: a pytest-xdist worker inherits its parent's ``AIRFLOW_HOME`` and must
not share its database, so it makes its own.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import subprocess
import sys
import tempfile

#: ``<pid>:<path>`` of the throw-away home :func:`isolate_airflow_home` made in process ``<pid>``.
MARKER = "AIRFLOW_PROVIDER_INFAKT_TEST_HOME"


def isolate_airflow_home(path: str | os.PathLike[str] | None = None) -> pathlib.Path:
    """Point Airflow at a throw-away home for this process: set ``AIRFLOW_HOME`` and mark the home as
    one whose metadata database the ``infakt_airflow`` fixture may replace.

    The pytest plugin calls it when ``AIRFLOW_HOME`` is not set (see the ``infakt_airflow_home`` ini
    option); call it yourself at the top of a ``conftest.py`` to choose the directory.

    :param path: the directory (made if missing); a new temporary directory when ``None``.
    :returns: the home.
    :raises RuntimeError: when Airflow has been imported already: it has read its home then.
    """
    if "airflow" in sys.modules:
        raise RuntimeError(
            "Airflow has been imported already, with AIRFLOW_HOME="
            f"{os.environ.get('AIRFLOW_HOME', '(not set: ~/airflow)')}; isolate_airflow_home() must run before "
            "anything imports Airflow (at the top of conftest.py)"
        )
    home = pathlib.Path(path) if path is not None else pathlib.Path(tempfile.mkdtemp(prefix="infakt-airflow-home-"))
    home = home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ[MARKER] = f"{os.getpid()}:{home}"
    return home


def throwaway_home() -> pathlib.Path | None:
    """This process's ``AIRFLOW_HOME`` when :func:`isolate_airflow_home` made it in this process."""
    pid, _, path = os.environ.get(MARKER, "").partition(":")
    if pid != str(os.getpid()) or not path or os.environ.get("AIRFLOW_HOME") != path:
        return None
    return pathlib.Path(path)


def needs_own_home() -> bool:
    """Whether this process has no Airflow home of its own choosing: ``AIRFLOW_HOME`` is unset, or is a
    throw-away home another process made (the parent of a pytest-xdist worker)."""
    home = os.environ.get("AIRFLOW_HOME")
    if not home:
        return True
    pid, _, path = os.environ.get(MARKER, "").partition(":")
    return path == home and pid != str(os.getpid())


def migrated_template(shared: pathlib.Path) -> pathlib.Path:
    """A metadata database migrated by ``airflow db migrate``, made once in ``shared`` for every process
    that shares that directory (pytest-xdist workers), under a file lock; migrating takes ten seconds and
    more, copying it takes milliseconds.

    :param shared: a directory every process of the test run sees.
    :returns: the template's SQLite file.
    :raises RuntimeError: when ``airflow db migrate`` fails (its output is in the message).
    """
    import fcntl

    template = shared / "airflow-template.db"
    with (shared / "airflow-template.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not template.exists():
            home = shared / "airflow-template-home"
            home.mkdir(exist_ok=True)
            database = home / "airflow.db"
            env = {key: value for key, value in os.environ.items() if key != MARKER}
            env.update(
                AIRFLOW_HOME=str(home),
                AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{database}",
                AIRFLOW__CORE__LOAD_EXAMPLES="False",
            )
            done = subprocess.run(
                [sys.executable, "-m", "airflow", "db", "migrate"], capture_output=True, text=True, env=env
            )
            if done.returncode != 0:
                raise RuntimeError(
                    f"`airflow db migrate` of the test database failed ({done.returncode}):\n{done.stderr[-4000:]}"
                )
            database.replace(template)
    return template


def require_throwaway_home() -> pathlib.Path:
    """This process's throw-away Airflow home, checked to be the one Airflow's metadata database is in.

    :returns: the home.
    :raises RuntimeError: when this process's Airflow home is not a throw-away one, or Airflow's metadata
        database is not that home's SQLite file: the fixtures never overwrite a database they did not make.
    """
    home = throwaway_home()
    if home is None:
        raise RuntimeError(
            f"AIRFLOW_HOME={os.environ.get('AIRFLOW_HOME', '(not set)')} was not made throw-away by the "
            "airflow_provider_infakt pytest plugin, and the infakt_airflow fixture does not overwrite a "
            "metadata database it did not make. Run pytest without AIRFLOW_HOME set, set the ini option "
            "infakt_airflow_home = always, or call airflow_provider_infakt.testing.dagrun.isolate_airflow_home() "
            "at the top of conftest.py, before anything imports Airflow"
        )
    own = home / "airflow.db"
    in_use = _metadata_database()
    if not in_use.startswith("sqlite:///") or pathlib.Path(in_use.removeprefix("sqlite:///")).resolve() != own:
        raise RuntimeError(
            f"Airflow's metadata database is {_without_password(in_use)}, not {own}: Airflow read its "
            "configuration before AIRFLOW_HOME was made throw-away (was Airflow imported first?), or "
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN or an airflow.cfg points elsewhere; the infakt_airflow "
            "fixture only replaces the throw-away home's own SQLite file"
        )
    return home


def fresh_database(template: pathlib.Path) -> pathlib.Path:
    """Replace the throw-away home's metadata database by a copy of ``template`` (SQLite's backup API:
    safe while this process holds connections to it).

    :param template: from :func:`migrated_template`.
    :returns: the home.
    :raises RuntimeError: as :func:`require_throwaway_home`.
    """
    import sqlite3

    home = require_throwaway_home()
    source, target = sqlite3.connect(template), sqlite3.connect(home / "airflow.db")
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    return home


#: The links :func:`show_to_airflow` made, removed by :func:`hide_from_airflow`.
_shown: list[pathlib.Path] = []


def show_to_airflow(fileloc: str | os.PathLike[str] | None) -> None:
    """Make a DAG's file part of the throw-away home's DAGs folder (by a symbolic link) if it is not.

    Airflow 3's ``dag.test()`` writes the DAG to the metadata database by parsing the DAGs folder, and
    refuses to run a DAG it did not find there ("the dag is not serialized"); a user's DAG file, or a
    test module defining one, lives elsewhere. Nothing is done outside a throw-away home, or for a file
    in the DAGs folder already.

    :param fileloc: the DAG's file (``dag.fileloc``).
    """
    home = throwaway_home()
    if home is None or not fileloc:
        return
    from airflow.configuration import conf

    folder = pathlib.Path(conf.get("core", "dags_folder")).absolute()
    file = pathlib.Path(fileloc).absolute()
    if folder == file.parent or folder in file.parents or home not in [folder, *folder.parents]:
        return
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / file.name
    if link.is_symlink() and link.resolve() == file.resolve():
        return
    if link.exists() or link.is_symlink():  # another file of that name
        digest = hashlib.sha1(str(file).encode(), usedforsecurity=False).hexdigest()[:10]
        link = folder / f"{file.stem}_{digest}{file.suffix}"
        if link.is_symlink():
            return
    link.symlink_to(file)
    _shown.append(link)


def hide_from_airflow() -> None:
    """Remove the links :func:`show_to_airflow` made."""
    while _shown:
        _shown.pop().unlink(missing_ok=True)


def _metadata_database() -> str:
    """The database URL Airflow's ORM was set up with (read at Airflow's import)."""
    from airflow import settings

    url = getattr(settings, "SQL_ALCHEMY_CONN", None)
    if not url:
        from airflow.configuration import conf

        url = conf.get("database", "sql_alchemy_conn")
    return str(url)


def _without_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{host}"
