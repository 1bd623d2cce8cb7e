"""v3's list query engine (``_filters``), without a server: the predicates, JSON-body filters, errors."""

from __future__ import annotations

import re

import pytest

from airflow_provider_infakt.testing._filters import flatten, matches, parse_filter, select
from airflow_provider_infakt.testing._inputs import BadInput


def test_parse_filter_takes_the_longest_predicate_and_known_fields_only():
    assert parse_filter("q[gross_price_lteq]") == ("gross_price", "lteq")
    assert parse_filter("q[paid_date_null]") == ("paid_date", "null")
    assert parse_filter("q[number_cont]") == ("number", "cont")
    assert parse_filter("q[client_company_name_cont]") is None
    assert parse_filter("q[invoice_date_gteq]") == ("invoice_date", "gteq")
    assert parse_filter("q[sale_date_lt]") == ("sale_date", "lt")
    assert parse_filter("q[payment_date_null]") == ("payment_date", "null")
    assert parse_filter("q[status]") is None
    assert parse_filter("status_eq") is None


@pytest.mark.parametrize(
    ("actual", "predicate", "expected", "result"),
    [
        (None, "null", "true", True),
        (None, "null", "0", False),
        ("2024-01-01", "null", "1", False),
        (None, "eq", "x", False),
        (None, "cont", "x", False),
        ("1/01/2024", "cont", "01/2", True),
        ("ABC", "cont", "bc", True),
        (123, "cont", "23", True),
        (123, "eq", "123", True),
        (123, "gt", "-5", True),
        (123, "lt", "abc", False),
        (123, "eq", "1" * 20, False),
        ("sent", "eq", "sent", True),
        ("2024-02-01", "gteq", "2024-01-31", True),
        ("2024-02-01", "lt", "2024-01-31", False),
    ],
)
def test_matches(actual, predicate, expected, result):
    assert matches(actual, predicate, expected) is result


def test_flatten_spells_out_json_filters_and_numbers():
    flat = flatten({"q": {"status_eq": "sent", "client_id_eq": 3, "paid_date_null": True}, "limit": 5})
    assert flat == {"q[status_eq]": "sent", "q[client_id_eq]": "3", "q[paid_date_null]": "true", "limit": "5"}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"q": ["status_eq"]}, '"q" must be an object'),
        ({"q": {"status_eq": ["sent"]}}, "is given twice or is not a string"),
        ({"q": {"status_eq": "sent"}, "q[status_eq]": "draft"}, "is given twice"),
        ({"limit": 1.5}, "must be a string or a whole number"),
        ({"order": None}, "must be a string or a whole number"),
    ],
)
def test_flatten_refuses(query, message):
    with pytest.raises(BadInput, match=re.escape(message)):
        flatten(query)


def test_select_filters_then_orders_without_touching_its_input():
    entities = [{"id": 1, "paid_date": None}, {"id": 2, "paid_date": "2024-01-02"}, {"id": 3, "paid_date": None}]
    chosen = select(entities, {"q[paid_date_null]": "true", "order": "id desc", "limit": "10"})
    assert [e["id"] for e in chosen] == [3, 1]
    assert [e["id"] for e in select(entities, {"order": "paid_date"})] == [2, 1, 3]
    assert [e["id"] for e in entities] == [1, 2, 3]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"q[kind_eq]": "vat"}, "Unknown filter q[kind_eq]"),
        ({"q[paid_date_gteq]": "2026-1-5"}, "Filter q[paid_date_gteq] must be a date (YYYY-MM-DD)"),
        ({"q[invoice_date_eq]": "2026-02-30"}, "Filter q[invoice_date_eq] must be a date"),
        ({"order": "kind"}, "Cannot order by 'kind'"),
        ({"order": "id sideways"}, "Cannot order by 'id sideways'"),
    ],
)
def test_select_refuses(query, message):
    with pytest.raises(BadInput, match=re.escape(message)):
        select([{"id": 1}], query)
