"""One invoice's delivery, exactly once per DAG run: the part the single and the bulk operator share.

:class:`OnceDelivery` carries out the delivery-outcome model (see
:class:`~airflow_provider_infakt.operators.deliver.InfaktDeliverInvoiceOperator` and
:mod:`airflow_provider_infakt.ledger`) for one invoice: read the ledger -> resolve an earlier
attempt's unknown outcome (``check`` / ``resend`` / ``fail``) -> read the invoice's status -> record
"about to send" -> deliver -> record "sent" (or forget the record when inFakt's answer proved nothing
was sent). It returns the delivered invoice id, or raises a :class:`DeliveryProblem`: its
``airflow_exception()`` is what ends a task (with an Airflow retry or without), and its class tells a
caller delivering many invoices what it means for that one invoice:

- :class:`Refused`: nothing was sent and a retry would not change it (inFakt's 404, 422, ...);
- :class:`NeedsDecision`: whether it went out cannot be known; a person must decide;
- :class:`OutcomeUnknown`: it may have gone out; a retry resolves it (reading the ledger and the invoice);
- :class:`NotSent`: nothing was sent, and a retry may succeed (a 429 or a connection that could not
  be made, after the client's own retries);
- :class:`LedgerUnavailable`: the ledger could not be read or written; a retry reads it again.

Importing this module is cheap: the api package, the hook and the ledger load when a delivery runs.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from airflow_provider_infakt import LEDGER_ASSET_NAME
from airflow_provider_infakt._compat import AirflowException, AirflowFailException, ledger_asset
from airflow_provider_infakt.types import rendered_nothing

if TYPE_CHECKING:
    from airflow.sdk.definitions.mappedoperator import OperatorPartial

    from airflow_provider_infakt.api import Delivery, InfaktClient
    from airflow_provider_infakt.api.errors import InfaktError
    from airflow_provider_infakt.api.protocol import DeliverArguments
    from airflow_provider_infakt.api.settings import ClientSettings
    from airflow_provider_infakt.ledger import Entry as LedgerEntry
    from airflow_provider_infakt.ledger import Ledger, StateStore
    from airflow_provider_infakt.types import OnUnknownOutcome

__all__ = [
    "DEFAULT_IN_FLIGHT_WINDOW",
    "NO_LEDGER_WARNING",
    "ON_UNKNOWN_OUTCOME",
    "DeliveryProblem",
    "LedgerUnavailable",
    "NeedsDecision",
    "NotSent",
    "OnceDelivery",
    "OutcomeUnknown",
    "Refused",
    "delivery_ledger",
    "window_seconds",
    "with_ledger_asset",
]

_T = TypeVar("_T")

ON_UNKNOWN_OUTCOME = ("check", "resend", "fail")
#: How long after an attempt started sending its request may still be in flight or pending at inFakt.
DEFAULT_IN_FLIGHT_WINDOW = dt.timedelta(minutes=5)

NO_LEDGER_WARNING = (
    "This Airflow has no asset state store (it arrived in Airflow 3.3), so there is no delivery ledger "
    "and a retry cannot know what an earlier try did. Guarantee here: each try sends at most once, and a "
    "delivery whose outcome is unknown fails the task without an Airflow retry (unless "
    "on_unknown_outcome='resend'); a worker that dies after inFakt accepted the delivery "
    "may still lead a retry to send it again."
)


class DeliveryProblem(Exception):
    """Why one invoice's delivery did not end in "delivered"; :attr:`retry_may_help` says whether an
    Airflow retry of the task may change that, and :meth:`airflow_exception` is what ends the task."""

    #: Whether an Airflow retry may end differently (it reads the ledger before sending anything).
    retry_may_help = False

    def airflow_exception(self) -> Exception:
        """The Airflow exception that ends a task for this: ``AirflowException`` (Airflow may retry) or
        ``AirflowFailException`` (no retry), with the same message."""
        return (AirflowException if self.retry_may_help else AirflowFailException)(str(self))


class Refused(DeliveryProblem):
    """Nothing was sent, and sending again would not change that: inFakt's own answer refused it.

    :param message: the message.
    :param error: the refusal, as the client raised it.
    """

    def __init__(self, message: str, error: InfaktError) -> None:
        super().__init__(message)
        self.error = error


class NotSent(DeliveryProblem):
    """Nothing was sent, and a retry may succeed (the client's own retries were used up).

    :param message: the message.
    :param error: the failure, as the client raised it.
    """

    retry_may_help = True

    def __init__(self, message: str, error: InfaktError) -> None:
        super().__init__(message)
        self.error = error


class OutcomeUnknown(DeliveryProblem):
    """The invoice may have gone out (or an earlier attempt's may still be in flight); a retry of the
    task finds out before sending anything (or, with ``on_unknown_outcome='resend'``, sends again)."""

    retry_may_help = True


class NeedsDecision(DeliveryProblem):
    """Whether the invoice went out cannot be known from here: a person must check it in inFakt."""


class LedgerUnavailable(DeliveryProblem):
    """The delivery ledger could not be read or written; a retry reads the ledger and the invoice first."""

    retry_may_help = True


def with_ledger_asset(inlets: Any) -> list[Any]:
    """``inlets`` (None, one item or a list) as a list that includes the delivery ledger's asset.

    :param inlets: the task's inlets as given.
    """
    items = [] if inlets is None else list(inlets) if isinstance(inlets, (list, tuple)) else [inlets]
    asset = ledger_asset()
    if asset is not None and not any(getattr(i, "name", None) == LEDGER_ASSET_NAME for i in items):
        items.append(asset)
    return items


class DeclaresLedgerInlet:
    """Mixin of the delivery operators: every delivery task declares the delivery ledger's asset as an
    inlet, mapped ones too (``partial`` is where a mapped task's inlets are given). Put it before
    ``BaseOperator`` in the bases; the operator's ``__init__`` calls :func:`with_ledger_asset` itself."""

    @classmethod
    def partial(cls, **kwargs: Any) -> OperatorPartial:
        """As :meth:`BaseOperator.partial`, declaring the ledger's asset as an inlet of the mapped task.

        :param kwargs: the partial arguments, as for :meth:`BaseOperator.partial`.
        """
        kwargs["inlets"] = with_ledger_asset(kwargs.get("inlets"))
        return super().partial(**kwargs)  # type: ignore[misc,no-any-return]


def check_delivery_options(on_unknown_outcome: object, in_flight_window: object) -> None:
    """Refuse, before anything is sent, the delivery operators' own options when they are not allowed.

    :param on_unknown_outcome: ``check``, ``resend`` or ``fail``.
    :param in_flight_window: seconds from 0 to 86400, or a timedelta in that range.
    :raises AirflowFailException: naming the option, the value and what is allowed.
    """
    if on_unknown_outcome not in ON_UNKNOWN_OUTCOME:
        raise AirflowFailException(
            f"Nothing was sent: on_unknown_outcome={on_unknown_outcome!r} is not one of "
            f"{', '.join(repr(v) for v in ON_UNKNOWN_OUTCOME)}"
        )
    if window_seconds(in_flight_window) is None:
        raise AirflowFailException(
            f"Nothing was sent: in_flight_window={in_flight_window!r} is not a number of seconds from 0 "
            "to 86400 or a timedelta in that range"
        )


def drop_rendered_nothing(task: Any, fields: Iterable[str]) -> None:
    """Read the optional arguments' "no value" as plain Jinja renders it: ``None``.

    Without ``render_template_as_native_obj`` (Airflow's default), ``{{ dag_run.conf.get('recipient') }}``
    renders a missing key as the text ``'None'``, and ``{{ dag_run.conf.get('recipient', '') }}`` as
    ``''``. For optional arguments both mean "not given", as they would natively; the task's log says so.

    :param task: the operator, after rendering.
    :param fields: its optional arguments.
    """
    for field in fields:
        value = getattr(task, field)
        if value is not None and rendered_nothing(value):
            task.log.info("%s rendered as %r: taken as not given.", field, value)
            setattr(task, field, None)


def window_seconds(value: object) -> float | None:
    """``in_flight_window`` in seconds, or None when it is not 0 to 86400 seconds (a number or a timedelta).

    :param value: the window as given.
    """
    if isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            seconds = float(value)
        except OverflowError:  # an int too large for a float
            return None
    else:
        return None
    return seconds if 0 <= seconds <= 86400 else None  # also refuses nan and inf


def delivery_ledger(
    store: StateStore,
    ti: Any,
    settings: ClientSettings,
    invoice_ref: int | str,
    *what: object,
) -> Ledger:
    """The ledger record of delivering ``invoice_ref`` in ``ti``'s DAG run, by ``ti``'s task.

    :param store: the ledger's store (:func:`airflow_provider_infakt._compat.ledger_store`).
    :param ti: the task instance (its DAG id, run id, task id, try number and map index count).
    :param settings: the client settings (the API's address and version count).
    :param invoice_ref: the validated invoice reference.
    :param what: how it is delivered (type, document, recipient, locale, copy), as the task has them.
    """
    from airflow_provider_infakt.ledger import Ledger, ledger_key  # deferred: see the module's docstring

    key = ledger_key(ti.dag_id, ti.run_id, ti.task_id, settings.base_url, settings.api_version, invoice_ref, *what)
    return Ledger(
        store,
        key,
        invoice_ref,
        try_number=getattr(ti, "try_number", None),
        map_index=getattr(ti, "map_index", None),
    )


class OnceDelivery:
    """Deliver one invoice at most once per DAG run (see the module's docstring).

    :param client: the client to deliver with (its rate limiter paces the requests).
    :param arguments: the delivery's validated arguments.
    :param ledger: the invoice's ledger record, or None where Airflow has no asset state store.
    :param on_unknown_outcome: ``check``, ``resend`` or ``fail`` (see the operator).
    :param window: the in-flight window, in seconds.
    :param execution_timeout: the task's, if any: a try waits at most four fifths of it for the window.
    :param log: where to say what happened.
    """

    def __init__(
        self,
        client: InfaktClient,
        arguments: DeliverArguments,
        ledger: Ledger | None,
        *,
        on_unknown_outcome: OnUnknownOutcome,
        window: float,
        execution_timeout: dt.timedelta | None,
        log: logging.Logger | Any,
    ) -> None:
        self.client = client
        self.arguments = arguments
        self.ledger = ledger
        self.on_unknown_outcome = on_unknown_outcome
        self.window = window
        self.execution_timeout = execution_timeout
        self.log = log
        #: Whether :meth:`deliver` sent a delivery request (False when the ledger or a status read settled it).
        self.requested = False

    def deliver(self) -> int | str:
        """Ledger check -> status read -> mark sending -> deliver -> mark sent; return the invoice id.

        :raises Refused: nothing sent; a retry would not change it.
        :raises NotSent: nothing sent; a retry may succeed.
        :raises OutcomeUnknown: it may have gone out; a retry resolves it.
        :raises NeedsDecision: a person must check the invoice.
        :raises LedgerUnavailable: the ledger could not be read or written.
        """
        # deferred: see the module's docstring
        from airflow_provider_infakt.api.errors import InfaktError, InfaktUnknownOutcome

        ledger, invoice_ref = self.ledger, self.arguments.invoice_id
        entry = self._read_ledger(ledger)
        if entry is not None and entry.state == "sent":
            self.log.info(
                "Invoice %s was delivered in this DAG run by %s (%s); not sending it again. To send it "
                "again on purpose, start a new DAG run.",
                invoice_ref,
                entry.writer,
                entry.at,
            )
            return entry.invoice_id
        if entry is not None and self._earlier_attempt_delivered(entry):
            assert ledger is not None
            self._write_ledger(ledger.mark_sent, entry)
            return entry.invoice_id

        try:
            status_before = self.client.get_invoice(invoice_ref).status if ledger is not None else None
        except InfaktError as exc:
            raise self._nothing_sent(exc) from None
        sending = self._write_ledger(ledger.mark_sending, status_before) if ledger is not None else None
        self.requested = True
        try:
            delivery = self._send()
        except InfaktUnknownOutcome as exc:
            if ledger is not None:
                raise OutcomeUnknown(
                    f"{exc} A retry of this task will find out what happened before sending anything "
                    f"(on_unknown_outcome={self.on_unknown_outcome!r}, in_flight_window={self.window:g} s)."
                ) from None
            if self.on_unknown_outcome == "resend":
                raise OutcomeUnknown(f"{exc} on_unknown_outcome='resend': a retry will send again.") from None
            raise NeedsDecision(
                f"{exc} Without a delivery ledger (Airflow 3.3+) a retry cannot tell whether it went out, so "
                "the task fails without retrying; check the invoice in inFakt."
            ) from None
        except InfaktError as exc:
            # inFakt's own answer (or a connection never made) proved that nothing was sent.
            if ledger is not None:
                self._write_ledger(ledger.forget)
            raise self._nothing_sent(exc) from None
        if ledger is not None:
            self._write_ledger(ledger.mark_sent, sending)
        self.log.info(
            "Delivered invoice %s by %s as %s (API %s%s).",
            delivery.invoice_id,
            delivery.type,
            delivery.doc_type,
            delivery.api_version,
            ", to the given recipient" if delivery.recipient_given else "",
        )
        return delivery.invoice_id

    def _send(self) -> Delivery:
        args = self.arguments
        return self.client.deliver_invoice(
            args.invoice_id, args.type, args.doc_type, args.recipient, locale=args.locale, send_copy=args.send_copy
        )

    @staticmethod
    def _nothing_sent(exc: InfaktError) -> Exception:
        """inFakt's answer (or a connection never made) proved nothing was sent; retry only if that may help."""
        if exc.retryable:
            return NotSent(f"Nothing was sent: {exc}", exc)
        return Refused(f"Nothing was sent: {exc}", exc)

    @staticmethod
    def _read_ledger(ledger: Ledger | None) -> LedgerEntry | None:
        if ledger is None:
            return None
        try:
            return ledger.read()
        except Exception as exc:
            raise LedgerUnavailable(
                f"Nothing was sent: the delivery ledger could not be read ({type(exc).__name__}); a retry "
                "will try again."
            ) from None

    def _write_ledger(self, write: Callable[..., _T], *args: Any) -> _T:
        """Call a ledger write; when it fails, fail the try with what is known about the delivery."""
        try:
            return write(*args)
        except Exception as exc:
            what = {
                "mark_sending": "Nothing was sent",
                "forget": "Nothing was sent (inFakt refused it)",
                "mark_sent": f"Invoice {getattr(write, '__self__', self.arguments).invoice_id} was delivered, but "
                "that could not be recorded",
            }.get(getattr(write, "__name__", ""), "The delivery's outcome could not be recorded")
            raise LedgerUnavailable(
                f"{what}: the delivery ledger could not be written ({type(exc).__name__}: {str(exc)[:200]}). "
                f"Is the asset {LEDGER_ASSET_NAME!r} registered (every delivery task declares it as an "
                "inlet)? A retry reads the ledger and the invoice before it sends anything."
            ) from None

    def _earlier_attempt_delivered(self, entry: LedgerEntry) -> bool:
        """Resolve an earlier attempt's unknown outcome: True if it delivered, False to send now."""
        # deferred: see the module's docstring
        from airflow_provider_infakt.api.errors import InfaktError
        from airflow_provider_infakt.ledger import resolve, seconds_until_settled

        earlier = f"In this DAG run, {entry.writer} was about to deliver invoice {entry.invoice_id} at {entry.at}"
        if self.on_unknown_outcome == "fail":
            raise NeedsDecision(
                f"{earlier} and its outcome is unknown; on_unknown_outcome='fail' leaves the decision to "
                "you: check the invoice in inFakt, then mark this task success or clear it with "
                "on_unknown_outcome='resend'."
            )
        if self.on_unknown_outcome == "resend":
            self.log.warning("%s and its outcome is unknown; on_unknown_outcome='resend': sending again.", earlier)
            return False
        wait = seconds_until_settled(entry, self.window, time.time())
        if wait > 0:
            budget = self.execution_timeout.total_seconds() * 0.8 if self.execution_timeout else None
            if budget is not None and wait > budget:
                raise OutcomeUnknown(
                    f"{earlier}; its outcome is not known yet: that request may still be in flight or pending "
                    f"at inFakt for {wait:.0f} s more (in_flight_window={self.window:g} s), longer than this "
                    "try may wait. Nothing was sent; a later retry will check the invoice."
                )
            self.log.info(
                "%s; that request may still be in flight or pending at inFakt. Waiting %.1f s "
                "(in_flight_window=%g s) before reading the invoice; nothing is sent meanwhile.",
                earlier,
                wait,
                self.window,
            )
            time.sleep(wait)
        try:
            status_now = self.client.get_invoice(entry.invoice_id).status
        except InfaktError as exc:
            raise OutcomeUnknown(
                f"{earlier}; reading the invoice to find out what happened failed, so nothing was sent: {exc}"
            ) from None
        decision = resolve(entry.status_before, status_now)
        if decision == "delivered":
            self.log.info(
                "%s; its status went from %r to %r, so it was delivered. Not sending again.",
                earlier,
                entry.status_before,
                status_now,
            )
            return True
        if decision == "not_delivered":
            self.log.info(
                "%s; its status is still %r after the in-flight window, so it was not delivered. Sending now.",
                earlier,
                status_now,
            )
            return False
        raise NeedsDecision(
            f"{earlier} and its outcome is unknown. The invoice's status was {entry.status_before!r} before "
            f"and is {status_now!r} now, which cannot tell whether it went out (only a change to 'sent' "
            "proves a delivery; a payment does not). Check the invoice's history in inFakt, then mark this "
            "task success, or clear it with on_unknown_outcome='resend' to send again."
        )
