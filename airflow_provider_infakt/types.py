"""The argument types of the operators, sensor and hook, for type checkers; and :data:`Jinja`.

Arguments that take one of a few words are typed with :data:`typing.Literal`, so that mypy or pyright
refuse ``type="fax"`` in a DAG file before Airflow ever parses it. Operator and sensor arguments are
template fields as well: a Jinja template in one of these arguments is written ``Jinja("{{ ... }}")``,
which tells the type checker (and the reader) that the value is only known after rendering. At run
time :data:`Jinja` returns its text unchanged, and the rendered value is checked before any request.

This module imports nothing but :mod:`typing` at import time; it is cheap to import from a DAG file.
"""

from __future__ import annotations

from typing import Final, Literal, NewType, get_args

__all__ = [
    "FILTER_NAMES",
    "RENDERED_NOTHING",
    "ApiVersion",
    "DeliveryType",
    "DocType",
    "FilterName",
    "Format",
    "Jinja",
    "Locale",
    "OnError",
    "OnUnknownOutcome",
    "PrintType",
    "Status",
    "WaitFor",
    "rendered_list",
    "rendered_nothing",
]

#: The inFakt API version of a connection.
ApiVersion = Literal["v2", "v3"]
#: The answer format of API v2 (v3 answers in JSON only).
Format = Literal["json", "xml"]
#: How an invoice is delivered: ``mail`` (e-mail) or ``post`` (traditional post).
DeliveryType = Literal["mail", "post"]
#: The document type of a delivery, in the words of inFakt's API v2 documentation (Invoices -> Deliver).
DocType = Literal["org", "KOPIA", "org_kop", "d_org", "d_kop"]
#: API v3's own names of the document types (``print_type``), also accepted on v3.
PrintType = Literal["original", "copy", "original_duplicate", "copy_duplicate", "duplicate", "regular"]
#: The language of a v3 delivery e-mail (``pe``: Polish and English).
Locale = Literal["pl", "en", "pe"]
#: An invoice status, the same words on API v2 and v3.
Status = Literal["draft", "sent", "printed", "paid", "unpaid"]
#: What a retry does when an earlier attempt's delivery may or may not have happened.
OnUnknownOutcome = Literal["check", "resend", "fail"]
#: What a bulk delivery does when one invoice fails: ``continue`` with the others, or ``fail`` at once.
OnError = Literal["continue", "fail"]
#: ``InfaktInvoiceSensor``'s ``wait_for``, with ``invoice_ids``: every invoice, or the first one.
WaitFor = Literal["all", "any"]

#: The filters of an invoice list (``InfaktHook.iter_invoices``, ``InfaktListInvoicesOperator``); date
#: ranges include both ends.
FilterName = Literal[
    "status",
    "number",
    "client_id",
    "id_from",
    "id_to",
    "invoice_date_from",
    "invoice_date_to",
    "sale_date_from",
    "sale_date_to",
    "paid_date_from",
    "paid_date_to",
]
FILTER_NAMES: Final[tuple[FilterName, ...]] = get_args(FilterName)

#: A Jinja template given for an argument typed with :data:`typing.Literal`:
#: ``type=Jinja("{{ dag_run.conf.get('type', 'mail') }}")``. Returns its text unchanged at run time.
Jinja = NewType("Jinja", str)

#: What plain Jinja (Airflow's default rendering) makes of a value that is not there:
#: ``{{ dag_run.conf.get('recipient') }}`` renders ``'None'``, ``{{ dag_run.conf.get('x', '') }}`` ``''``.
RENDERED_NOTHING = ("", "None")


def rendered_nothing(value: object) -> bool:
    """Whether an optional argument's rendered value means "not given": None, or a text that is blank or
    ``'None'`` (see :data:`RENDERED_NOTHING`).

    :param value: the rendered value.
    """
    return value is None or (isinstance(value, str) and value.strip() in RENDERED_NOTHING)


def rendered_list(value: object) -> list[object] | None:
    """A rendered argument that should be a list, as that list; None when it is not one.

    Taken as a list: a list or tuple, Airflow's lazy sequence of a mapped task's XComs, a JSON text of a
    list (``"[1, 2]"``), and plain Jinja's text of one (``"['a', 'b']"``, as Python shows a list).

    :param value: the rendered value.
    """
    if isinstance(value, str):
        import ast  # deferred (as json): only a list rendered as text needs them
        import json

        text = value.strip()
        try:
            value = json.loads(text)
        except RecursionError:  # '[[[[...' nested deeper than Python's stack: no list
            return None
        except ValueError:
            try:
                value = ast.literal_eval(text)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                return None
    if isinstance(value, list | tuple):
        return list(value)
    from collections.abc import Sequence  # deferred: this module imports typing only

    if isinstance(value, Sequence) and not isinstance(value, str | bytes | bytearray):
        return list(value)  # Airflow's lazy sequence of a mapped task's XComs
    return None
