"""A short, seeded slice of ``benchmarks/fault_campaign.py`` in every test run: every fault kind, fast
runs (the operator in Airflow's retry loop) and a few through real Airflow retries in ``dag.test()``.
The full campaign (1,000 runs) is ``make bench``."""

from __future__ import annotations

import collections
import pathlib
import random
import sys

import pytest

BENCHMARKS = pathlib.Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def campaign():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import fault_campaign

        yield fault_campaign
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_every_fault_kind_ends_in_one_delivery_or_a_clear_failure(campaign, airflow_db):
    try:
        from airflow.sdk.execution_time.context import AssetStateStoreAccessor  # noqa: F401
    except ImportError:
        airflow_runs = 0  # the exactly-once guarantee through Airflow retries needs the 3.3 ledger
    else:
        airflow_runs = 3
    runs = len(campaign.KINDS) - 1 + airflow_runs  # every kind once, and a few through dag.test()
    outcomes = campaign.campaign(runs=runs, airflow_runs=airflow_runs, seed=11, every_kind=True)
    assert {o.kind for o in outcomes} >= set(campaign.KINDS) - {"processing beyond execution_timeout"}
    verdicts = collections.Counter(o.verdict for o in outcomes)
    wrong = [o for o in outcomes if o.verdict not in ("once", "clear failure")]
    assert not wrong, campaign.table(outcomes)
    assert verdicts["once"] > len(outcomes) // 2  # most runs recover and deliver (the kinds are not all hopeless)
    assert sum(o.path == "airflow" for o in outcomes) == airflow_runs


def test_the_verdicts_are_what_the_campaign_promises(campaign):
    """The table's columns, from runs made up by hand: a duplicate or a silent loss is never clear."""
    o = campaign.Outcome
    assert o("k", "v3", "fast", "success", 1, "").verdict == "once"
    assert o("k", "v3", "fast", "success", 2, "").verdict == "duplicate"
    assert o("k", "v3", "fast", "failed", 2, "outcome unknown").verdict == "duplicate"
    assert o("k", "v3", "fast", "success", 0, "").verdict == "silent loss"
    assert o("k", "v3", "fast", "failed", 1, "Nothing was sent: HTTP 401").verdict == "silent loss"
    assert o("k", "v3", "fast", "failed", 1, "outcome unknown for v3.deliver").verdict == "clear failure"
    assert o("k", "v3", "fast", "failed", 0, "internal KeyError: 'x'").verdict == "unclear failure"


def test_the_seed_decides_the_draws(campaign):
    draws = [campaign._draw(random.Random(5), airflow=True) for _ in range(2)]
    assert draws[0] == draws[1]
    kinds = {campaign._draw(random.Random(seed), airflow=False)[0] for seed in range(400)}
    assert "processing beyond execution_timeout" not in kinds  # needs a real task runner's timeout
    assert len(kinds) == len(campaign.KINDS) - 1
