"""v3's list query: filters ``q[<field>_<predicate>]=value`` and ``order=<field> [asc|desc]``.

Pure Python, no aiohttp. Bad queries raise :class:`~._inputs.BadInput` with the message the answer
carries (400 ``{"error": ...}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import _inputs as inputs
from ._inputs import BadInput
from .model import is_date

#: Fields a list can be filtered and ordered by (``issue_date`` is the emulator's older name of
#: ``invoice_date``).
FIELDS = (
    "id",
    "uuid",
    "number",
    "status",
    "client_id",
    "gross_price",
    "invoice_date",
    "sale_date",
    "payment_date",
    "issue_date",
    "paid_date",
)
#: Date fields: a filter on one compares dates, and its value must be one (``YYYY-MM-DD``).
DATE_FIELDS = ("invoice_date", "sale_date", "payment_date", "issue_date", "paid_date")
#: Filter predicates: ``q[gross_price_lteq]=1000``, ``q[paid_date_null]=true``...
PREDICATES = ("eq", "cont", "lt", "gt", "lteq", "gteq", "null")


def flatten(query: dict[str, Any]) -> dict[str, str]:
    """The list's parameters as text: filters from a JSON body's ``{"q": {"status_eq": "sent"}}`` as
    ``q[status_eq]``, whole numbers as digits.

    :param query: the parameters of the query string and the body together.
    :raises BadInput: for a ``q`` that is not an object, a filter given twice, a value of another type.
    """
    flat = dict(query)
    nested = flat.pop("q", None)
    if nested is not None:
        if not isinstance(nested, dict):
            raise BadInput('"q" must be an object of filters, e.g. {"q": {"status_eq": "sent"}}.')
        for key, value in nested.items():
            name = f"q[{key}]"
            text = ("true" if value else "false") if isinstance(value, bool) else value
            if name in flat or not isinstance(text, str | int) or isinstance(text, bool):
                raise BadInput(f"Filter {key!r} is given twice or is not a string, number or boolean.")
            flat[name] = str(text)
    for name, value in list(flat.items()):
        if inputs.is_whole(value):
            flat[name] = str(value)
        elif not isinstance(value, str):
            raise BadInput(f"List parameter {name!r} must be a string or a whole number.")
    return flat


def select(entities: list[dict[str, Any]], query: Mapping[str, str]) -> list[dict[str, Any]]:
    """The entities (v3 invoices) that pass every ``q[...]`` filter of ``query``, in its ``order``.

    :raises BadInput: for an unknown filter or an order by an unknown field or direction.
    """
    for key, value in query.items():
        if not key.startswith("q["):
            continue
        parsed = parse_filter(key)
        if parsed is None:
            raise BadInput(f"Unknown filter {key}. Fields: {', '.join(FIELDS)}.")
        field, predicate = parsed
        if field in DATE_FIELDS and predicate not in ("null", "cont") and not is_date(value):
            raise BadInput(f"Filter {key} must be a date (YYYY-MM-DD), not {value[:40]!r}.")
        entities = [e for e in entities if matches(e.get(field), predicate, value)]
    if "order" in query:
        field, _, direction = query["order"].partition(" ")
        if field not in FIELDS or direction not in ("", "asc", "desc"):
            raise BadInput(f"Cannot order by {query['order']!r}.")
        entities = sorted(entities, key=lambda e: (e[field] is None, e[field]), reverse=direction == "desc")
    return entities


def parse_filter(key: str) -> tuple[str, str] | None:
    """``q[gross_price_lteq]`` -> ``("gross_price", "lteq")``; ``None`` for an unknown filter."""
    if not (key.startswith("q[") and key.endswith("]")):
        return None
    inner = key[2:-1]
    for predicate in sorted(PREDICATES, key=len, reverse=True):
        field = inner.removesuffix("_" + predicate)
        if field != inner and field in FIELDS:
            return field, predicate
    return None


def matches(actual: str | int | None, predicate: str, expected: str) -> bool:
    """Whether a field's value passes a filter; ``expected`` is the filter's text, compared as a number
    with numeric fields."""
    if predicate == "null":
        return (actual is None) == (expected.lower() in ("1", "true"))
    if actual is None:
        return False
    if predicate == "cont":
        return expected.lower() in str(actual).lower()
    # str with str, int with int: the field's type decides how the text is read
    left: Any = actual
    right: Any = expected
    if isinstance(actual, int):
        if not inputs.looks_like_a_number(expected.removeprefix("-")) or len(expected) > 19:
            return False
        right = int(expected)
    if predicate == "eq":
        return bool(left == right)
    ops = {"lt": left < right, "gt": left > right, "lteq": left <= right, "gteq": left >= right}
    return bool(ops[predicate])
