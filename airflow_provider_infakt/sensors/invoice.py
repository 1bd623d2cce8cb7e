"""``InfaktInvoiceSensor``: wait until an invoice (or every invoice of a set) is sent, paid, ... and
pass the ids on."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from airflow_provider_infakt._compat import (
    AirflowFailException,
    AirflowSensorTimeout,
    BaseSensorOperator,
    PokeReturnValue,
    get_conf_value,
)

if TYPE_CHECKING:
    # XComArg from airflow.models: its home on Airflow 2, a re-export of airflow.sdk's on Airflow 3, so a
    # user's type checker sees the real class on every version (never imported at run time)
    from airflow.models.xcom_arg import XComArg
    from airflow.sdk import Context

    from airflow_provider_infakt.api.watch import InvoiceWatch
    from airflow_provider_infakt.hooks.infakt import InfaktHook
    from airflow_provider_infakt.types import Jinja, Status, WaitFor

#: XCom key of the status the invoice reached (one invoice).
STATUS_XCOM_KEY = "invoice_status"
#: XCom key of ``{"<invoice id>": status}``, the last status read of each invoice (a set).
STATUSES_XCOM_KEY = "invoice_statuses"
#: The most invoices one sensor waits on (its trigger's arguments carry every id and status).
MAX_INVOICE_IDS = 10_000
#: What ``wait_for`` may be.
WAIT_FOR = ("all", "any")

#: How long past the trigger's own deadline Airflow's deferral timeout waits, as a backstop.
_DEFERRAL_MARGIN = 60.0


_T = TypeVar("_T")


def _default_deferrable() -> bool:
    value = get_conf_value("operators", "default_deferrable", fallback="false")
    return str(value).strip().lower() in ("true", "1", "yes", "on")


def _list_from_text(value: object) -> object:
    """A list of words as plain Jinja renders it (``"['paid', 'sent']"``) as that list; else ``value``."""
    if isinstance(value, str) and value.strip().startswith("[") and value.strip().endswith("]"):
        from airflow_provider_infakt.types import rendered_list  # deferred: only a rendered list needs it

        parsed = rendered_list(value)
        if parsed is not None and all(isinstance(item, str) for item in parsed):
            return parsed
    return value


class InfaktInvoiceSensor(BaseSensorOperator):
    """Wait until an inFakt invoice has reached ``target_status`` (or one of a list of them).

    Statuses are normalized over API v2 and v3: ``draft``, ``sent``, ``printed``, ``paid``, ``unpaid``.
    An invoice goes from ``draft`` to ``sent``, ``printed`` or ``unpaid``, and then to ``paid``; a
    target is reached by the status itself or a later one, so a customer who pays before the sensor
    looks does not keep it waiting for ``sent``. With ``exact_status=True`` only the target itself:

    =================  =======================  =====================
    ``target_status``  ends the wait (default)  ``exact_status=True``
    =================  =======================  =====================
    ``draft``          ``draft``                ``draft``
    ``sent``           ``sent``, ``paid``       ``sent``
    ``printed``        ``printed``, ``paid``    ``printed``
    ``unpaid``         ``unpaid``, ``paid``     ``unpaid``
    ``paid``           ``paid``                 ``paid``
    =================  =======================  =====================

    (``draft`` is reached by nothing later: every invoice has been a draft.)

    The sensor's XCom ``return_value`` is the invoice id, so ``deliver -> wait -> act`` needs no glue;
    the status reached goes to XCom ``invoice_status``.

    **Many invoices** (``invoice_ids`` instead of ``invoice_id``; e.g. the bulk operator's output): the
    sensor waits until every invoice has reached ``target_status`` (``wait_for="all"``) or until one has
    (``wait_for="any"``), and returns the ids that reached it, in input order; XCom ``invoice_statuses``
    maps each id (as text) to the last status read. It reads through the list endpoint, not invoice by
    invoice (:mod:`airflow_provider_infakt.api.watch`): on v3, N invoices with contiguous ids cost at
    most ceil(N/100) + 1 reads per poke, falling to about one as they arrive; scattered ids at most one
    read per invoice still pending. Invoices that have reached the target are not asked about again
    (within one ``poke`` loop and in the trigger; a ``mode="reschedule"`` poke starts afresh). An
    invoice that no longer exists (404) fails the task, naming it.

    An answer that waiting will not change (404 unknown invoice, 401/403 wrong key, ...) fails the task
    at once, on the first poke, with the API's message. Rate limits (429), 5xx answers and connection
    errors are waited out: they never fail the task by themselves (the sensor's ``timeout`` still
    applies). ``mode="poke"``, ``mode="reschedule"``, ``soft_fail`` and ``timeout`` behave as in
    Airflow's own sensors.

    :param invoice_id: the invoice: an int, a string of digits, or on v3 an invoice uuid (templated).
    :param invoice_ids: instead of ``invoice_id``, many invoices (templated): a list, a JSON text of a
        list, or an upstream task's output; at most :data:`MAX_INVOICE_IDS`. Give exactly one of the two.
    :param target_status: one normalized status or a list of them (templated; checked in ``execute``; a
        list rendered as text by plain Jinja, ``"['paid', 'sent']"``, is read as that list).
    :param exact_status: end the wait only on ``target_status`` itself, not on a later status.
    :param wait_for: with ``invoice_ids``: ``all`` (every invoice) or ``any`` (the first one).
    :param infakt_conn_id: the inFakt connection (templated).
    :param deferrable: wait in the triggerer instead of a worker slot (:class:`InfaktInvoiceTrigger`);
        defaults to Airflow's ``[operators] default_deferrable``.
    :param kwargs: passed on to :class:`BaseSensorOperator` (``mode``, ``timeout``, ``soft_fail``...).
    """

    template_fields: Sequence[str] = ("invoice_id", "invoice_ids", "target_status", "infakt_conn_id")
    ui_color = "#e6f3e6"

    def __init__(
        self,
        *,
        invoice_id: int | str | XComArg | None = None,
        invoice_ids: Sequence[int | str] | Jinja | XComArg | None = None,
        target_status: Status | Jinja | Sequence[Status] | XComArg = "sent",
        exact_status: bool = False,
        wait_for: WaitFor = "all",
        infakt_conn_id: str = "infakt_default",
        deferrable: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if (invoice_id is None) == (invoice_ids is None):
            given = "both" if invoice_id is not None else "neither"
            raise ValueError(
                f"{type(self).__name__} {kwargs.get('task_id', '')!r}: give exactly one of invoice_id (one invoice) "
                f"and invoice_ids (many), not {given}"
            )
        if wait_for not in WAIT_FOR:
            raise ValueError(f"invalid wait_for {wait_for!r}: expected 'all' (every invoice) or 'any' (the first one)")
        if wait_for != "all" and invoice_ids is None:
            raise ValueError("wait_for applies to invoice_ids only; one invoice_id is waited for by itself")
        self.invoice_id = invoice_id
        self.invoice_ids = invoice_ids
        self.target_status = target_status
        self.exact_status = exact_status
        self.wait_for = wait_for
        self._watch: InvoiceWatch | None = None  # what poke mode knows between pokes
        self.infakt_conn_id = infakt_conn_id
        self.deferrable = _default_deferrable() if deferrable is None else deferrable

    # -- validation --------------------------------------------------------------------------------
    def _checked(self, hook: InfaktHook) -> tuple[int | str, list[Status]]:
        """The invoice reference and target statuses, or AirflowFailException naming what is wrong."""
        from airflow_provider_infakt.api.vocabulary import validate_invoice_id  # deferred: see _statuses

        statuses = self._statuses()
        return self._refusing(lambda: validate_invoice_id(self.invoice_id, hook.settings.api_version)), statuses

    def _checked_set(self, hook: InfaktHook) -> tuple[list[int | str], list[Status]]:
        """The invoices (each once, in input order) and target statuses, or AirflowFailException naming
        the id that is wrong and its position."""
        from airflow_provider_infakt.api.errors import InfaktValidationError  # deferred: see _statuses
        from airflow_provider_infakt.api.vocabulary import validate_invoice_id
        from airflow_provider_infakt.types import rendered_list

        statuses = self._statuses()
        values = rendered_list(self.invoice_ids)
        if values is None or not values:
            shown = repr(self.invoice_ids)
            what = "an empty list" if values is not None else "not a list of invoice ids"
            raise AirflowFailException(
                f"invoice_ids={shown[:80]}{'...' if len(shown) > 80 else ''} is {what}; give a non-empty list, a "
                'JSON text of one ("[1, 2, 3]") or an upstream task\'s output'
            )
        if len(values) > MAX_INVOICE_IDS:
            raise AirflowFailException(
                f"invoice_ids holds {len(values)} ids; one sensor waits on at most {MAX_INVOICE_IDS:,} (its "
                "trigger carries them all): split them over several sensors, e.g. with .expand()"
            )
        api_version = self._refusing(lambda: hook.settings.api_version)
        refs: dict[int | str, None] = {}
        for position, value in enumerate(values):
            try:
                refs[validate_invoice_id(value, api_version)] = None
            except InfaktValidationError as exc:
                raise AirflowFailException(
                    f"invoice_ids[{position}] (position {position + 1} of {len(values)}): {exc}"
                ) from None
        if len(refs) < len(values):
            self.log.info(
                "invoice_ids holds %d ids, %d of them different: each is waited for once.", len(values), len(refs)
            )
        return list(refs), statuses

    def _statuses(self) -> list[Status]:
        # deferred (as every api/, hooks and triggers import below): DAG files import this module, and the
        # api package costs ~20 ms at import, the hook ~1 ms; only a running task needs them
        from airflow_provider_infakt.api.errors import InfaktValidationError
        from airflow_provider_infakt.api.vocabulary import validate_status

        targets = _list_from_text(self.target_status)
        values = list(targets) if isinstance(targets, list | tuple | set | frozenset) else [targets]
        if not values:
            raise AirflowFailException("target_status is empty; give a status or a list of them")
        try:
            return [validate_status(value) for value in values]
        except InfaktValidationError as exc:
            raise AirflowFailException(f"target_status: {exc}") from None

    @staticmethod
    def _refusing(check: Callable[[], _T]) -> _T:
        """``check()``, with a refused value or an unusable connection as AirflowFailException."""
        from airflow_provider_infakt.api.errors import InfaktConfigError, InfaktValidationError

        try:
            return check()
        except (InfaktValidationError, InfaktConfigError) as exc:
            raise AirflowFailException(str(exc)) from None

    # -- poke, reschedule and deferrable modes ----------------------------------------------------
    def poke(self, context: Context) -> bool | PokeReturnValue:
        """Read the invoice once: done when its status is a target; waits out 429/5xx/connection errors.

        In deferrable mode the first poke that is not done hands the wait to :class:`InfaktInvoiceTrigger`
        (``defer`` raises), so ``BaseSensorOperator.execute`` runs the first read in every mode and its
        ``soft_fail``/``never_fail`` handling applies to it unchanged.

        :param context: the task's context.
        """
        from airflow_provider_infakt.hooks.infakt import InfaktHook  # deferred: see _checked

        hook = InfaktHook(infakt_conn_id=self.infakt_conn_id)
        if self.invoice_ids is not None:
            return self._poke_set(context, hook)
        invoice_ref, statuses = self._checked(hook)
        done = self._poke_once(context, hook, invoice_ref, statuses)
        if not done and self.deferrable:
            self._defer(invoice_ref, statuses)
        return done

    def _poke_set(self, context: Context, hook: InfaktHook) -> bool | PokeReturnValue:
        from airflow_provider_infakt.api.errors import InfaktError  # deferred: see _statuses
        from airflow_provider_infakt.api.vocabulary import describe_wait, statuses_accepted
        from airflow_provider_infakt.api.watch import InvoiceWatch, poll

        refs, statuses = self._checked_set(hook)
        watch = self._watch
        if watch is None or watch.invoice_ids != refs:
            accepted = statuses_accepted(statuses, self.exact_status)
            watch = self._watch = InvoiceWatch(refs, accepted, hook.settings.api_version, wait_for=self.wait_for)
        try:
            poll(watch, hook.get_client())
        except InfaktError as exc:
            if exc.retryable:
                self.log.warning("Reading the invoices failed (%s); waiting for the next poke.", exc)
                return False
            raise AirflowFailException(watch.failure(exc)) from None
        finally:
            hook.close()
        self.log.info("%s", watch.progress(describe_wait(statuses, self.exact_status)))
        if watch.done:
            context["ti"].xcom_push(key=STATUSES_XCOM_KEY, value=watch.known())
            return PokeReturnValue(is_done=True, xcom_value=watch.reached)
        if self.deferrable:
            self._defer_set(watch, statuses)
        return False

    def _poke_once(
        self, context: Context, hook: InfaktHook, invoice_ref: int | str, statuses: list[Status]
    ) -> Literal[False] | PokeReturnValue:
        from airflow_provider_infakt.api.errors import InfaktError  # deferred: see _checked
        from airflow_provider_infakt.api.vocabulary import describe_wait, statuses_accepted

        try:
            invoice = hook.get_invoice(invoice_ref)
        except InfaktError as exc:
            if exc.retryable:
                self.log.warning("Reading invoice %s failed (%s); waiting for the next poke.", invoice_ref, exc)
                return False
            raise AirflowFailException(f"Cannot wait for invoice {invoice_ref}: {exc}") from None
        finally:
            hook.close()
        if invoice.status not in statuses_accepted(statuses, self.exact_status):
            waiting_for = describe_wait(statuses, self.exact_status)
            self.log.info("Invoice %s is %r; waiting for %s.", invoice_ref, invoice.status, waiting_for)
            return False
        self.log.info("Invoice %s is %r.", invoice_ref, invoice.status)
        context["ti"].xcom_push(key=STATUS_XCOM_KEY, value=invoice.status)
        return PokeReturnValue(is_done=True, xcom_value=invoice_ref)

    def _defer(self, invoice_ref: int | str, statuses: list[Status]) -> None:
        # deferred: see _checked; the trigger module also loads the async client and airflow.triggers
        from airflow_provider_infakt.triggers.invoice import InfaktInvoiceTrigger

        timeout = float(self.timeout)
        self.defer(
            trigger=InfaktInvoiceTrigger(
                invoice_id=invoice_ref,
                target_statuses=statuses,
                exact_status=self.exact_status,
                infakt_conn_id=self.infakt_conn_id,
                poke_interval=float(self.poke_interval),
                timeout_at=time.time() + timeout,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=timeout + _DEFERRAL_MARGIN),
        )

    def _defer_set(self, watch: InvoiceWatch, statuses: list[Status]) -> None:
        from airflow_provider_infakt.triggers.invoice import InfaktInvoiceSetTrigger  # deferred: see _defer

        timeout = float(self.timeout)
        self.defer(
            trigger=InfaktInvoiceSetTrigger(
                invoice_ids=watch.invoice_ids,
                target_statuses=statuses,
                exact_status=self.exact_status,
                wait_for=self.wait_for,
                known_statuses=watch.known(),
                infakt_conn_id=self.infakt_conn_id,
                poke_interval=float(self.poke_interval),
                timeout_at=time.time() + timeout,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=timeout + _DEFERRAL_MARGIN),
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger's one event: return the invoice id, or fail / time out.

        :param context: the task's context.
        :param event: the trigger's event payload (see :class:`InfaktInvoiceTrigger`).
        """
        if not event:
            raise AirflowFailException("The inFakt trigger ended without an event.")
        status = event.get("status")
        if status == "success" and "invoice_ids" in event:
            self.log.info("%d invoice(s) reached the target status.", len(event["invoice_ids"]))
            context["ti"].xcom_push(key=STATUSES_XCOM_KEY, value=event["invoice_statuses"])
            return event["invoice_ids"]
        if status == "success":
            self.log.info("Invoice %s is %r.", event["invoice_id"], event["invoice_status"])
            context["ti"].xcom_push(key=STATUS_XCOM_KEY, value=event["invoice_status"])
            return event["invoice_id"]
        if status == "timeout":
            raise AirflowSensorTimeout(event.get("message", "The inFakt sensor timed out."))
        raise AirflowFailException(event.get("message", f"The inFakt trigger failed: {event!r}"))
