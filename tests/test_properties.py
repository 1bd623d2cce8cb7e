"""Property tests: whatever a user can put into an operator, a sensor, a hook call or a connection.

The values are what ``dag_run.conf`` gives after Jinja rendering (anyone who may trigger a DAG can
type them): text with control characters, NUL, line breaks, ``&``, ``?``, ``#``, ``%``, ``/../``,
Unicode digits, lone surrogates, very long strings and JSON-looking strings; ints, floats, lists,
dicts, None and bools. For each input the contract is one of:

- a clear refusal BEFORE any request: the emulator recorded nothing, and the message names the field;
- requests whose every parameter is exactly the intended one, as the emulator received them (path,
  query pairs, and for v3 the JSON body as it left the client): an ``&x=1`` inside a value arrives as
  part of that value, never as a parameter of its own;

and never an internal ``TypeError``, ``KeyError``, ``ValueError``, ``RecursionError``,
``AttributeError`` or ``UnicodeError`` reaching the user: operators and sensors raise Airflow's
exceptions, hooks and clients the provider's :class:`~airflow_provider_infakt.api.InfaktError`.

Everything runs over real HTTP against the bundled emulator (one per session, reset per example).
Hypothesis runs with a fixed seed and a bounded number of examples.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import math
import os
import urllib.parse
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_infakt import _compat
from airflow_provider_infakt._compat import AirflowException, AirflowFailException, PokeReturnValue
from airflow_provider_infakt.api import InfaktClient, XAuth
from airflow_provider_infakt.api._sync_transport import GuardedAdapter
from airflow_provider_infakt.api.errors import InfaktConfigError, InfaktError, InfaktValidationError
from airflow_provider_infakt.api.settings import oauth_root
from airflow_provider_infakt.api.vocabulary import DOC_TYPE_TO_PRINT_TYPE, V2_STATUSES
from airflow_provider_infakt.hooks.infakt import InfaktHook
from airflow_provider_infakt.operators.deliver import InfaktDeliverInvoiceOperator
from airflow_provider_infakt.operators.ledger import Entry
from airflow_provider_infakt.sensors.invoice import InfaktInvoiceSensor
from airflow_provider_infakt.testing import credentials
from airflow_provider_infakt.testing.emulator import connection_for
from airflow_provider_infakt.testing.model import invoice_uuid

from .compat import task_deferred_exception

INTERNAL = (TypeError, KeyError, ValueError, RecursionError, AttributeError, UnicodeError, OverflowError)
_BASE = settings(
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def prop(examples: int) -> settings:
    """Fixed seed, no deadline, ``examples`` examples (the whole file stays within a few seconds)."""
    return settings(_BASE, max_examples=examples)


# -- hostile values ---------------------------------------------------------------------------------
FRAGMENTS = [
    "&",
    "&x=1",
    "&type=post",
    "&id=2",
    "&recipient=attacker@evil.example",
    "?",
    "?id=2",
    "#",
    "#frag",
    "%",
    "%26",
    "%00",
    "%2F..%2F",
    "/../",
    "/",
    "\x00",
    "\n",
    "\r\n",
    "\t",
    "\x7f",
    "\u2028",
    "\u200b",
    "\ufeff",
    "\ud800",  # a lone surrogate: no UTF-8 encoding exists
    "١٢",  # Arabic-Indic digits: str.isdigit() says yes
    "\uff11",  # a full-width digit one
    "²",
    " ",
    "\u00a0",
    '{"a": 1}',
    "[1]",
    "None",
    "null",
    "true",
    "{{ 7 * 7 }}",
    "' OR '1'='1",
    ";",
    ",",
    "é",
    "😀",
]
LONG = ["x" * 5000, "9" * 25, "1" * 19, "9" * 19, "0" * 30 + "7", "a@" + "b" * 300 + ".pl", "ó" * 1000]

_text = st.text(max_size=12)
hostile_text = st.one_of(
    st.sampled_from(FRAGMENTS),
    st.sampled_from(LONG),
    st.tuples(_text, st.sampled_from(FRAGMENTS), _text).map("".join),
    _text,
)
_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    hostile_text,
)
#: Anything ``dag_run.conf`` can hold, as native Jinja rendering hands it over.
conf_value = st.recursive(
    _scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3), st.tuples(inner)
    ),
    max_leaves=6,
)


def near_miss(valid: list[Any]) -> st.SearchStrategy[Any]:
    """A valid value with a hostile fragment around it (``mail&type=post``, ``1\\x00``, ``org ``...)."""
    texts = [str(v) for v in valid if v is not None] or ["None"]  # True -> 'True', as plain Jinja gives it
    return st.one_of(
        st.tuples(st.sampled_from(texts), st.sampled_from(FRAGMENTS)).map("".join),
        st.tuples(st.sampled_from(FRAGMENTS), st.sampled_from(texts)).map("".join),
        st.sampled_from(texts).map(str.upper),
        st.sampled_from(texts).map(lambda t: [t]),
        st.sampled_from(texts).map(lambda t: {"value": t}),
        st.sampled_from(texts).map(json.dumps),
    )


def hostile(valid: list[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(near_miss(valid), conf_value)


# -- what the emulator holds --------------------------------------------------------------------------
UUID3 = invoice_uuid(3)
VALID_IDS: dict[str, list[Any]] = {
    "v2": [1, 2, 3, "2", " 3 ", "0004", "5\n", 6, 999],
    "v3": [1, 2, 3, "2", " 3 ", "0004", "5\n", 6, 999, UUID3, UUID3.upper(), f" {UUID3}", str(uuid.uuid4())],
}
VALID_DOC_TYPES: dict[str, list[str]] = {
    "v2": ["org", "KOPIA", "org_kop", "d_org", "d_kop"],
    "v3": ["org", "KOPIA", "d_org", "d_kop", "original", "copy", "original_duplicate", "copy_duplicate"],
}
VALID_RECIPIENTS: list[str | None] = [
    None,
    "jan@example.com",
    "a&b=c@example.com",
    "x&type=post@example.com",
    "o'hara+tag@sub.example.pl",
    "q?id=2@example.com",
    "hash#tag@example.com",
    "per%cent@example.com",
    "user@zażółć.pl",
]
VALID_LOCALES: list[str | None] = [None, "pl", "en", "pe"]
VALID_SEND_COPY: list[bool | None] = [None, True, False]
VALID_STATUSES: list[Any] = ["draft", "sent", "printed", "paid", "unpaid", ["sent", "paid"], ("draft",), ["paid"]]


def invoice_ref(value: Any) -> int | str:
    """The reference an accepted ``invoice_id`` stands for: an int, or a lower-case uuid."""
    if isinstance(value, int):
        return value
    text = value.strip()
    return int(text) if text.isascii() and text.isdigit() else str(uuid.UUID(text))


# -- plumbing -----------------------------------------------------------------------------------------
class WireLog:
    """Every request as it left the client (after requests prepared it): method, URL, body."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, bytes | None]] = []

    def clear(self) -> None:
        self.sent.clear()


@pytest.fixture(scope="module")
def wire() -> Iterator[WireLog]:
    log = WireLog()
    original = GuardedAdapter.send

    def send(self: GuardedAdapter, request: Any, *args: Any, **kwargs: Any) -> Any:
        body = request.body.encode() if isinstance(request.body, str) else request.body
        log.sent.append((request.method, request.url, body))
        return original(self, request, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(GuardedAdapter, "send", send)
        yield log


class DictStore(dict[str, Any]):
    """The delivery ledger's store, as JSON (what Airflow's asset state store keeps)."""

    def set(self, key: str, value: Any) -> None:
        self[key] = json.loads(json.dumps(value))

    def delete(self, key: str) -> None:
        self.pop(key, None)


class FakeTI:
    dag_id, run_id, task_id, try_number, map_index = "billing", "manual__1", "deliver", 1, -1

    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


_store: list[DictStore | None] = [None]


@pytest.fixture(scope="module")
def ledger() -> Iterator[list[DictStore | None]]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_compat, "ledger_store", lambda: _store[0])
        yield _store


@contextlib.contextmanager
def connection(conn: dict[str, Any] | str, conn_id: str = "infakt_default") -> Iterator[None]:
    """``AIRFLOW_CONN_<ID>`` set to ``conn`` (JSON) for the block."""
    name = f"AIRFLOW_CONN_{conn_id.upper()}"
    before = os.environ.get(name)
    os.environ[name] = conn if isinstance(conn, str) else json.dumps(conn)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def fresh(emulator: Any, wire: WireLog) -> None:
    emulator.reset()
    wire.clear()


def query_pairs(raw_path: str) -> tuple[str, list[tuple[str, str]]]:
    """(path, decoded query pairs) of a request target as the server received it."""
    path, _, query = raw_path.partition("?")
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    return path, pairs


def read_path(version: str, ref: int | str) -> str:
    return f"/api/{version}/invoices/{urllib.parse.quote(str(ref), safe='')}.json"


def names_a_field(message: str, fields: set[str]) -> bool:
    """Whether a refusal names one of ``fields`` (conn_id errors are Airflow's own words)."""
    words = {"infakt_conn_id": ("conn_id",), "target_status": ("status",)}
    return any(word in message for field in fields for word in (field, *words.get(field, ())))


# -- the operator ---------------------------------------------------------------------------------
def operator_values(version: str) -> dict[str, list[Any]]:
    return {
        "invoice_id": VALID_IDS[version],
        "type": ["mail", "post"],
        "doc_type": VALID_DOC_TYPES[version],
        "recipient": VALID_RECIPIENTS,
        "locale": VALID_LOCALES if version == "v3" else [None],
        "send_copy": VALID_SEND_COPY if version == "v3" else [None],
        "infakt_conn_id": ["infakt_default"],
        "on_unknown_outcome": ["check", "resend", "fail"],
        "in_flight_window": [0, 300, 0.5, dt.timedelta(minutes=5)],
    }


@st.composite
def operator_arguments(draw: st.DrawFn, version: str, hostile_fields: int) -> tuple[dict[str, Any], set[str]]:
    """Valid arguments (mail, so that recipient/locale/send_copy apply) with ``hostile_fields`` of them
    replaced by hostile values; returns the arguments and the names replaced."""
    pools = operator_values(version)
    values = {name: draw(st.sampled_from(pool)) for name, pool in pools.items()}
    if values["recipient"] is None and values["locale"] is None and values["send_copy"] is None:
        values["type"] = draw(st.sampled_from(["mail", "post"]))
    else:
        values["type"] = "mail"
    replaced: set[str] = set()
    for _ in range(hostile_fields):
        name = draw(st.sampled_from(sorted(pools)))
        values[name] = draw(hostile(pools[name]))
        replaced.add(name)
    return values, replaced


def check_delivery_requests(
    received: list[Any], wire: WireLog, version: str, values: dict[str, Any], *, read_first: bool
) -> None:
    """The requests the emulator received are the status read (the operator's, with a ledger) and, if
    it got that far, the delivery, each with exactly the parameters given."""
    ref = invoice_ref(values["invoice_id"])
    if read_first:
        assert 1 <= len(received) <= 2, [(r.route, r.path) for r in received]
        assert (received[0].method, received[0].path) == ("GET", read_path(version, ref))
        if len(received) == 1:
            assert received[0].status == 404
            return
        received = received[1:]
    (deliver,) = received
    kind, doc, recipient = values["type"], values["doc_type"], values["recipient"]
    if version == "v2":
        path, pairs = query_pairs(deliver.path)
        expected = [("type", kind), ("doc_type", doc), ("id", str(ref))]
        expected += [("recipient", recipient)] if recipient is not None else []
        assert (deliver.method, deliver.route, path) == ("GET", "v2.deliver", "/api/v2/invoices/deliver.json")
        assert pairs == expected
        return
    action = "deliver_via_email" if kind == "mail" else "deliver_via_post"
    assert (deliver.method, deliver.route) == ("POST", f"v3.{action}")
    assert deliver.path == f"/api/v3/invoices/{ref}/{action}.json"
    body: dict[str, Any] = {"print_type": DOC_TYPE_TO_PRINT_TYPE.get(doc, doc)}
    for name in ("recipient", "locale", "send_copy"):
        if values[name] is not None:
            body[name] = values[name]
    method, url, sent = wire.sent[-1]
    assert (method, urllib.parse.urlsplit(url).path) == ("POST", deliver.path)
    assert json.loads(sent or b"") == body


def seeded_id(emulator: Any, ref: int | str) -> int:
    """The numeric id of the invoice ``ref`` (an id or a uuid) names."""
    return ref if isinstance(ref, int) else int(emulator.invoice(ref)["id"])


def run_operator(
    emulator: Any, wire: WireLog, version: str, values: dict[str, Any]
) -> tuple[Any, BaseException | None]:
    fresh(emulator, wire)
    _store[0] = DictStore()
    ti = FakeTI()
    with connection(emulator.connection(api_version=version)):
        task = InfaktDeliverInvoiceOperator(task_id="deliver", **values)
        try:
            return task.execute({"ti": ti}), None
        except AirflowException as exc:  # AirflowFailException and AirflowNotFoundException are ones
            return None, exc
        except INTERNAL as exc:
            raise AssertionError(f"an internal {type(exc).__name__} reached the user: {exc!r}") from exc


#: Fields the operator checks itself; the others are checked by the API layer ("Nothing was sent: ...").
_OPERATOR_OWN = {"infakt_conn_id", "in_flight_window", "on_unknown_outcome"}


def check_operator_outcome(
    emulator: Any, wire: WireLog, version: str, values: dict[str, Any], replaced: set[str]
) -> None:
    result, error = run_operator(emulator, wire, version, values)
    if not emulator.requests:
        assert error is not None, "no request, yet no error"
        assert wire.sent == []
        message = str(error)
        assert names_a_field(message, replaced or set(values)), message[:300]
        if "conn_id" not in message:  # Airflow's own AirflowNotFoundException for an unknown connection
            assert isinstance(error, AirflowFailException), repr(error)  # no Airflow retry for a bad value
        if replaced and replaced.isdisjoint(_OPERATOR_OWN):
            assert message.startswith("Nothing was sent: "), message[:300]
        return
    # Something went out: then every value was accepted, and it arrived exactly as given.
    check_delivery_requests(emulator.requests, wire, version, values, read_first=True)
    ref = invoice_ref(values["invoice_id"])
    if error is None:
        assert result == ref
        entry = Entry.load(next(iter((_store[0] or {}).values())))
        assert entry is not None and (entry.state, entry.invoice_id) == ("sent", ref)
        assert [(d.invoice_id, d.type, d.recipient) for d in emulator.deliveries] == [
            (seeded_id(emulator, ref), values["type"], values["recipient"])
        ]
    else:  # refused by inFakt (unknown invoice, no e-mail address, no postal package): nothing was sent
        assert isinstance(error, AirflowFailException) and str(error).startswith("Nothing was sent: "), str(error)
        assert emulator.deliveries == [] and _store[0] == {}


@pytest.mark.parametrize("version", ["v3", "v2"])
@prop(60)
@given(data=st.data())
def test_property_operator_with_one_hostile_argument(infakt_emulator_session, wire, ledger, version, data):
    values, replaced = data.draw(operator_arguments(version, hostile_fields=1))
    check_operator_outcome(infakt_emulator_session, wire, version, values, replaced)


@pytest.mark.parametrize("version", ["v3", "v2"])
@prop(40)
@given(data=st.data())
def test_property_operator_with_valid_arguments_delivers_exactly_them(
    infakt_emulator_session, wire, ledger, version, data
):
    values, _ = data.draw(operator_arguments(version, hostile_fields=0))
    check_operator_outcome(infakt_emulator_session, wire, version, values, set())
    assert infakt_emulator_session.requests, "a valid combination was refused"


@prop(40)
@given(data=st.data())
def test_property_operator_with_several_hostile_arguments(infakt_emulator_session, wire, ledger, data):
    values, replaced = data.draw(operator_arguments("v3", hostile_fields=3))
    check_operator_outcome(infakt_emulator_session, wire, "v3", values, replaced)


# -- the sensor -----------------------------------------------------------------------------------
@prop(60)
@given(
    invoice_id=st.one_of(st.sampled_from(VALID_IDS["v3"]), hostile(VALID_IDS["v3"])),
    target_status=st.one_of(st.sampled_from(VALID_STATUSES), hostile(["draft", "sent", "paid"])),
    version=st.sampled_from(["v3", "v2"]),
)
def test_property_sensor_poke(infakt_emulator_session, wire, invoice_id, target_status, version):
    emulator = infakt_emulator_session
    fresh(emulator, wire)
    ti = FakeTI()
    with connection(emulator.connection(api_version=version)):
        sensor = InfaktInvoiceSensor(task_id="wait", invoice_id=invoice_id, target_status=target_status)
        try:
            result: Any = sensor.poke({"ti": ti})
            error: BaseException | None = None
        except AirflowException as exc:
            result, error = None, exc
        except INTERNAL as exc:
            raise AssertionError(f"an internal {type(exc).__name__} reached the user: {exc!r}") from exc
    received = emulator.requests
    if not received:
        assert isinstance(error, AirflowFailException)
        assert names_a_field(str(error), {"invoice_id", "target_status"}), str(error)[:300]
        return
    ref = invoice_ref(invoice_id)
    assert [(r.method, r.path) for r in received] == [("GET", read_path(version, ref))]
    targets = list(target_status) if isinstance(target_status, (list, tuple)) else [target_status]
    if received[0].status == 404:
        assert isinstance(error, AirflowFailException) and "HTTP 404" in str(error)
    elif "draft" in targets:  # every seeded invoice is a draft
        assert isinstance(result, PokeReturnValue) and result.is_done and result.xcom_value == ref
        assert ti.pushed == {"invoice_status": "draft"}
    else:
        assert result is False and ti.pushed == {}


@prop(30)
@given(
    poke_interval=st.one_of(
        st.floats(min_value=0, max_value=1e6),
        st.integers(min_value=0, max_value=10**6),
        st.builds(dt.timedelta, seconds=st.integers(0, 10**6)),
    ),
    timeout=st.one_of(st.floats(min_value=0, max_value=1e9), st.builds(dt.timedelta, days=st.integers(0, 10**6))),
)
def test_property_deferred_sensor_hands_its_values_to_the_trigger(
    infakt_emulator_session, wire, poke_interval, timeout
):
    TaskDeferred = task_deferred_exception()
    emulator = infakt_emulator_session
    fresh(emulator, wire)
    with connection(emulator.connection()):
        sensor = InfaktInvoiceSensor(
            task_id="wait",
            invoice_id=" 2 ",
            target_status="paid",
            deferrable=True,
            poke_interval=poke_interval,
            timeout=timeout,
        )
        with pytest.raises(TaskDeferred) as deferred:
            sensor.execute({"ti": FakeTI()})
    seconds = lambda v: v.total_seconds() if isinstance(v, dt.timedelta) else float(v)  # noqa: E731
    _, kwargs = deferred.value.trigger.serialize()
    assert kwargs["invoice_id"] == 2 and kwargs["target_statuses"] == ["paid"]
    # Airflow keeps poke_interval to the microsecond; the trigger gets the sensor's own value.
    assert kwargs["poke_interval"] == float(sensor.poke_interval)
    assert math.isclose(kwargs["poke_interval"], seconds(poke_interval), abs_tol=1e-6)
    assert math.isclose(kwargs["timeout_at"] - seconds(timeout), emulator.requests[0].time, abs_tol=5)
    assert deferred.value.timeout == dt.timedelta(seconds=seconds(timeout) + 60)
    assert [r.path for r in emulator.requests] == ["/api/v3/invoices/2.json"]


# -- the hook -------------------------------------------------------------------------------------
def check_hook_call(emulator: Any, call: Any) -> Any:
    """Run ``call``; only InfaktError may come out, and a refusal comes before any request."""
    try:
        return call()
    except InfaktError as exc:
        if isinstance(exc, InfaktValidationError):
            assert emulator.requests == [] and exc.field and exc.field in str(exc)
        return exc
    except INTERNAL as exc:
        raise AssertionError(f"an internal {type(exc).__name__} reached the user: {exc!r}") from exc


@prop(60)
@given(
    invoice_id=st.one_of(st.sampled_from(VALID_IDS["v3"]), hostile(VALID_IDS["v3"])),
    version=st.sampled_from(["v3", "v2"]),
)
def test_property_hook_get_invoice(infakt_emulator_session, wire, invoice_id, version):
    emulator = infakt_emulator_session
    fresh(emulator, wire)
    with connection(emulator.connection(api_version=version)):
        hook = InfaktHook()
        try:
            outcome = check_hook_call(emulator, lambda: hook.get_invoice(invoice_id))
        finally:
            hook.close()
    if emulator.requests:
        ref = invoice_ref(invoice_id)
        assert [(r.method, r.path) for r in emulator.requests] == [("GET", read_path(version, ref))]
        if emulator.requests[0].status == 200:
            assert outcome.reference == seeded_id(emulator, ref)


@prop(60)
@given(
    status=st.one_of(st.sampled_from([None, "draft", "sent", "printed", "paid", "unpaid"]), hostile(["draft", "paid"])),
    page_size=st.one_of(st.sampled_from([1, 25, 100]), hostile([1, 25, 100]), st.integers()),
    cursor=st.one_of(st.sampled_from([None, 0, 1, 3, 2**63 - 1]), hostile([0, 1, 3]), st.integers()),
    version=st.sampled_from(["v3", "v2"]),
    use_async=st.booleans(),
)
def test_property_hook_list_invoices(infakt_emulator_session, wire, status, page_size, cursor, version, use_async):
    emulator = infakt_emulator_session
    fresh(emulator, wire)
    with connection(emulator.connection(api_version=version)):
        hook = InfaktHook()
        if use_async:

            async def listing() -> Any:
                client = await hook.get_async_client()
                try:
                    return await client.list_invoices(status=status, page_size=page_size, cursor=cursor)
                finally:
                    await client.aclose()

            outcome = check_hook_call(emulator, lambda: asyncio.run(listing()))
        else:
            try:
                outcome = check_hook_call(
                    emulator, lambda: hook.get_client().list_invoices(status=status, page_size=page_size, cursor=cursor)
                )
            finally:
                hook.close()
    if not emulator.requests:
        assert isinstance(outcome, InfaktValidationError)
        return
    # Accepted: status a normalized word (unpaid not on v3), page_size 1..100, cursor an int or None.
    assert isinstance(page_size, int) and not isinstance(page_size, bool) and 1 <= page_size <= 100
    assert cursor is None or (isinstance(cursor, int) and not isinstance(cursor, bool))
    (received,) = emulator.requests
    path, pairs = query_pairs(received.path)
    if version == "v2":
        expected = [("page", str(1 if cursor is None else cursor)), ("per_page", str(page_size))]
        polish = {norm: word for word, norm in V2_STATUSES.items()}
        expected += [("status", polish[status])] if status is not None else []
        assert (received.method, path, pairs) == ("GET", "/api/v2/invoices/list.json", expected)
    else:
        expected = [("offset", str(0 if cursor is None else cursor)), ("limit", str(page_size))]
        expected += [("q[status_eq]", status)] if status is not None else []
        assert (received.method, path, pairs) == ("GET", "/api/v3/invoices.json", expected)


@prop(50)
@given(data=st.data(), version=st.sampled_from(["v3", "v2"]))
def test_property_hook_deliver_invoice(infakt_emulator_session, wire, data, version):
    emulator = infakt_emulator_session
    values, _ = data.draw(operator_arguments(version, hostile_fields=data.draw(st.integers(0, 2))))
    for name in ("infakt_conn_id", "on_unknown_outcome", "in_flight_window"):
        values.pop(name)
    fresh(emulator, wire)
    with connection(emulator.connection(api_version=version)):
        hook = InfaktHook()
        try:
            outcome = check_hook_call(
                emulator,
                lambda: hook.deliver_invoice(
                    values["invoice_id"],
                    values["type"],
                    values["doc_type"],
                    values["recipient"],
                    locale=values["locale"],
                    send_copy=values["send_copy"],
                ),
            )
        finally:
            hook.close()
    if not emulator.requests:
        assert isinstance(outcome, InfaktValidationError)
        return
    check_delivery_requests(emulator.requests, wire, version, values, read_first=False)
    if not isinstance(outcome, InfaktError):
        assert outcome.invoice_id == invoice_ref(values["invoice_id"])
        assert outcome.recipient_given == (values["recipient"] is not None)


# -- connections ----------------------------------------------------------------------------------
EXTRA_NAMES = [
    "api_version",
    "format",
    "sandbox",
    "timeout",
    "deadline",
    "verify",
    "max_retries",
    "allow_http",
    "rate_limit",
    "web_url",
    "oauth_token",
    "oauth_token_secret",
    "xauth_username",
    "xauth_password",
    "max_response_bytes",
    "auth",
    "api_vesion",
    "extra__infakt__timeout",
    "",
]
#: JSON values an extra may hold, including what only a hand-written JSON has (NaN, Infinity, 1e400).
extra_value = st.one_of(
    conf_value,
    st.sampled_from([0, 1, 0.5, 30, "30", "1e400", "v2", "v3", "json", "xml", "true", "false", "", 10**30, -1]),
    st.sampled_from([{"get_per_minute": 1}, {"get_per_minute": "x"}, {"a": {"b": {"c": [1, {"d": None}]}}}]),
    st.sampled_from([float("nan"), float("inf"), -float("inf")]),
)
SECRETS = {credentials.API_KEY, credentials.CONSUMER_SECRET, credentials.TOKEN_SECRET, credentials.XAUTH_PASSWORD}


@st.composite
def connections(draw: st.DrawFn, url: str) -> dict[str, Any]:
    """The emulator's connection (v3, or v2 with OAuth or xAuth), with hostile changes; only loopback
    host names ever appear, so nothing leaves this machine."""
    version = draw(st.sampled_from(["v3", "v2"]))
    kind: dict[str, Any] = {"api_version": version}
    if version == "v2":
        kind.update(format=draw(st.sampled_from(["json", "xml"])), auth=draw(st.sampled_from(["oauth", "xauth"])))
    conn = connection_for(url, **kind)
    conn["extra"]["max_retries"] = 0
    scheme, _, hostport = url.partition("://")
    port = hostport.rpartition(":")[2]
    path = f"/api/{version}"
    host_name = draw(st.sampled_from(["127.0.0.1", "localhost", "LOCALHOST", "[::1]"]))
    fragment = draw(st.sampled_from(["", "", "/", *FRAGMENTS]))
    where = draw(st.sampled_from(["path", "port", "scheme", "end"]))
    scheme_text = draw(st.sampled_from([f"{scheme}://", "", "HTTP://", "https://", "ftp://", "http:/"]))
    port_text = f":{port}"
    if where == "port":
        port_text = draw(
            st.sampled_from([f":{port}{fragment}", f":{fragment}{port}", ":", ":0", ":99999", f":{port}0"])
        )
    elif where == "path":
        path = draw(st.sampled_from([f"{path}{fragment}", f"/api{fragment}/{version}", f"{fragment}{path}"]))
    elif where == "scheme":
        scheme_text = fragment + scheme_text
    host = f"{scheme_text}{host_name}{port_text}{path}" + (fragment if where == "end" else "")
    conn["host"] = draw(st.sampled_from([host, f"{url}/api/{version}", f"{url}/api/{version}/"]))
    for _ in range(draw(st.integers(0, 3))):
        conn["extra"][draw(st.sampled_from(EXTRA_NAMES))] = draw(extra_value)
    if draw(st.booleans()):
        conn[draw(st.sampled_from(["port", "schema", "login", "password", "extra"]))] = draw(
            st.one_of(extra_value, st.sampled_from([int(port), f"api/{version}", "[1, 2]", "5", '"text"', "{not json"]))
        )
    return conn


def same_path(received: str, intended: str) -> bool:
    """Whether two request paths name the same resource: percent-encoding and dot segments (which
    URL libraries may resolve) aside."""

    def plain(path: str) -> str:
        return urllib.parse.urlsplit(urllib.parse.urljoin("http://h", urllib.parse.unquote(path))).path

    return plain(received) == plain(intended)


def secret_free(text: str) -> bool:
    return not any(secret in text for secret in SECRETS)


@prop(150)
@given(data=st.data())
def test_property_connection_fields(infakt_emulator_session, wire, data):
    emulator = infakt_emulator_session
    conn = data.draw(connections(emulator.url))
    fresh(emulator, wire)
    try:
        text = json.dumps(conn)  # Python's JSON, like a hand-written one, may hold NaN and Infinity
    except (TypeError, ValueError):
        return
    with connection(text):
        hook = InfaktHook()
        try:
            settings_ = hook.settings
        except AirflowException as exc:  # Airflow refused the connection itself (a non-JSON field type)
            assert "infakt_default" in str(exc)
            return
        except InfaktConfigError as exc:
            assert str(exc).startswith("connection 'infakt_default': "), str(exc)
            assert secret_free(str(exc)), str(exc)
            ok, message = InfaktHook().test_connection()  # the UI's "Test" button says the same
            assert (ok, message) == (False, f"The connection is not usable: {exc}")
            assert emulator.requests == []
            return
        except INTERNAL as exc:
            raise AssertionError(f"an internal {type(exc).__name__} reached the user: {exc!r}") from exc
        try:
            client = InfaktClient(settings_, sleep=lambda seconds: None)
            invoice: Any = client.get_invoice(1)
        except InfaktError as exc:
            assert secret_free(str(exc)), str(exc)
            invoice = exc
        except INTERNAL as exc:
            raise AssertionError(f"an internal {type(exc).__name__} reached the user: {exc!r}") from exc
        finally:
            hook.close()
    # Whatever went out went to the configured path, and only the configured origin got it.
    intended = [urllib.parse.urlsplit(settings_.base_url).path + f"/invoices/1.{settings_.format}"]
    if isinstance(settings_.auth, XAuth):  # the token exchange, at the site root
        intended.append(urllib.parse.urlsplit(oauth_root(settings_.base_url)).path + "/oauth/access_token")
    for received in emulator.requests:
        assert any(same_path(received.path, path) for path in intended), (received.path, intended)
    for _, url, _ in wire.sent:
        parts = urllib.parse.urlsplit(url)
        assert (
            parts.scheme,
            parts.hostname,
            parts.port or {"http": 80, "https": 443}[parts.scheme],
        ) == settings_.origin
    if not isinstance(invoice, InfaktError):
        assert invoice.id == 1 and len(emulator.requests) >= 1
