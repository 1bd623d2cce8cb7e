"""tools/test_matrix.py reads pytest's JUnit reports: counts, skip reasons, and why a test failed."""

from __future__ import annotations

import importlib.util
import pathlib
import subprocess
import sys

import pytest

_ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def matrix():
    spec = importlib.util.spec_from_file_location("test_matrix_tool", _ROOT / "tools" / "test_matrix.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


def _report(tmp_path: pathlib.Path) -> pathlib.Path:
    """A real JUnit report of a small suite: one pass, one skip, one assertion failure, one error."""
    (tmp_path / "test_small.py").write_text(
        "import pytest\n"
        "def test_passes():\n    assert True\n"
        "def test_skips():\n    pytest.skip('no store on this version')\n"
        "def test_fails():\n    payload = {'invoice_ids': [1, 3]}\n    assert payload['invoice_ids'] == [3]\n"
        "@pytest.fixture\ndef broken():\n    raise RuntimeError('the emulator did not start')\n"
        "def test_errs(broken):\n    pass\n"
    )
    report = tmp_path / "report.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", f"--junitxml={report}",
         str(tmp_path / "test_small.py")],
        cwd=tmp_path, capture_output=True, check=False,
    )  # fmt: skip
    return report


def test_a_failure_is_shown_with_why_it_failed(matrix, tmp_path):
    result = matrix.Result("3.2.2", 1, 12.0)
    matrix.parse(_report(tmp_path), result)
    assert (result.passed, result.failed, result.errors, result.skipped) == (1, 1, 1, 1)
    text = matrix.table([result, matrix.Result("3.3.2", 0, 10.0, passed=5)])
    failed_part = text[text.index("Failed on Airflow 3.2.2") :]
    assert "test_small::test_fails" in failed_part
    assert "E       assert [1, 3] == [3]" in failed_part  # the comparison, not just the name
    assert "RuntimeError: the emulator did not start" in failed_part
    assert "Skipped on Airflow 3.2.2" not in failed_part  # skips come first: the end says what failed


def test_reasons_are_bounded(matrix):
    text = "\n".join(f"E line {n} " + "x" * 500 for n in range(40))
    element = matrix.ET.fromstring(f"<failure>{text}</failure>")
    lines = matrix.why(element)
    assert len(lines) == matrix.REASON_LINES
    assert all(len(line) <= 300 for line in lines)
    assert lines[0].startswith("E line 0 ")
