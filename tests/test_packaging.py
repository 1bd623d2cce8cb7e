"""What an installation without the ``emulator`` extra gets: the ``connection`` subcommand works, and
serving says in one line which extra to install, instead of a traceback about aiohttp."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys

from packaging.requirements import Requirement

# The CLI's entry point run as the console script runs it, with aiohttp unimportable as where the
# extra is not installed (None in sys.modules makes ``import aiohttp`` raise ImportError).
WITHOUT_AIOHTTP = (
    "import sys\n"
    "sys.modules['aiohttp'] = None\n"
    "from airflow_provider_infakt.testing.cli import main\n"
    "raise SystemExit(main(sys.argv[1:]))\n"
)


def run_without_aiohttp(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", WITHOUT_AIOHTTP, *args], capture_output=True, text=True, timeout=60)


def test_serving_without_the_emulator_extra_says_what_to_install():
    result = run_without_aiohttp("--port", "0")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("infakt-emulator: serving needs aiohttp")
    assert "pip install 'airflow-provider-infakt[emulator]'" in lines[0]


def test_the_extra_named_in_the_message_is_the_one_that_brings_aiohttp():
    requires = [Requirement(r) for r in importlib.metadata.requires("airflow-provider-infakt") or []]
    emulator = [r.name for r in requires if r.marker is not None and r.marker.evaluate({"extra": "emulator"})]
    assert emulator == ["aiohttp"]


def test_the_connection_subcommand_needs_no_extra():
    result = run_without_aiohttp("connection", "--url", "http://127.0.0.1:9999")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["host"] == "http://127.0.0.1:9999/api/v3"
