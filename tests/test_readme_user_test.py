"""The README's user test ("Testing your DAGs with the emulator") runs as written: taken from the README
verbatim, put in a directory of its own and run by pytest in a fresh process with a user's environment
(no AIRFLOW_HOME, none of this suite's settings), as someone who copied it would run it."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
HEADING = "## Testing your DAGs with the emulator"


def readme_user_test() -> str:
    """The first Python code block of the README's section on testing one's own DAGs."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"\n{HEADING}\n" in readme, f"the README has no section {HEADING!r}"
    section = readme.split(f"\n{HEADING}\n", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"^```python\n(.*?)^```$", section, re.MULTILINE | re.DOTALL)
    assert found, f"the README's section {HEADING!r} shows no Python code block"
    return found.group(1)


def test_the_readme_user_test_passes_as_written(tmp_path):
    code = readme_user_test()
    assert "infakt_dag_runner" in code and "def test_" in code
    (tmp_path / "project").mkdir()
    test_file = tmp_path / "project" / "test_send_invoice.py"
    test_file.write_text(code, encoding="utf-8")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW", "PYTEST_", "HYPOTHESIS")) and key != "PYTHONPATH"
    }
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", f"--basetemp={tmp_path / 'basetemp'}"],
        cwd=tmp_path / "project",
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    summary = done.stdout.strip().splitlines()[-1]
    assert re.match(r"3 passed\b", summary), summary  # two API versions and a refused delivery
    assert "shutdown_timeout should be set on BaseRunner" not in output
