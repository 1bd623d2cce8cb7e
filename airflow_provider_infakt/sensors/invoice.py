"""``InfaktInvoiceSensor``: wait until an invoice is sent, paid, ... and pass its id on."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

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

    from airflow_provider_infakt.hooks.infakt import InfaktHook
    from airflow_provider_infakt.types import Jinja, Status

#: XCom key of the status the invoice reached.
STATUS_XCOM_KEY = "invoice_status"
#: How long past the trigger's own deadline Airflow's deferral timeout waits, as a backstop.
_DEFERRAL_MARGIN = 60.0


def _default_deferrable() -> bool:
    value = get_conf_value("operators", "default_deferrable", fallback="false")
    return str(value).strip().lower() in ("true", "1", "yes", "on")


def _list_from_text(value: object) -> object:
    """A list of words as plain Jinja renders it (``"['paid', 'sent']"``) as that list; else ``value``."""
    if isinstance(value, str) and value.strip().startswith("[") and value.strip().endswith("]"):
        import ast  # deferred: only a rendered list needs it

        try:
            parsed = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return value
        if isinstance(parsed, list) and all(isinstance(item, str) for item in parsed):
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

    An answer that waiting will not change (404 unknown invoice, 401/403 wrong key, ...) fails the task
    at once, on the first poke, with the API's message. Rate limits (429), 5xx answers and connection
    errors are waited out: they never fail the task by themselves (the sensor's ``timeout`` still
    applies). ``mode="poke"``, ``mode="reschedule"``, ``soft_fail`` and ``timeout`` behave as in
    Airflow's own sensors.

    :param invoice_id: the invoice: an int, a string of digits, or on v3 an invoice uuid (templated).
    :param target_status: one normalized status or a list of them (templated; checked in ``execute``; a
        list rendered as text by plain Jinja, ``"['paid', 'sent']"``, is read as that list).
    :param exact_status: end the wait only on ``target_status`` itself, not on a later status.
    :param infakt_conn_id: the inFakt connection (templated).
    :param deferrable: wait in the triggerer instead of a worker slot (:class:`InfaktInvoiceTrigger`);
        defaults to Airflow's ``[operators] default_deferrable``.
    :param kwargs: passed on to :class:`BaseSensorOperator` (``mode``, ``timeout``, ``soft_fail``...).
    """

    template_fields: Sequence[str] = ("invoice_id", "target_status", "infakt_conn_id")
    ui_color = "#e6f3e6"

    def __init__(
        self,
        *,
        invoice_id: int | str | XComArg,
        target_status: Status | Jinja | Sequence[Status] | XComArg = "sent",
        exact_status: bool = False,
        infakt_conn_id: str = "infakt_default",
        deferrable: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.invoice_id = invoice_id
        self.target_status = target_status
        self.exact_status = exact_status
        self.infakt_conn_id = infakt_conn_id
        self.deferrable = _default_deferrable() if deferrable is None else deferrable

    # -- validation --------------------------------------------------------------------------------
    def _checked(self, hook: InfaktHook) -> tuple[int | str, list[Status]]:
        """The invoice reference and target statuses, or AirflowFailException naming what is wrong."""
        # deferred (as every api/, hooks and triggers import below): DAG files import this module, and the
        # api package costs ~20 ms at import, the hook ~1 ms; only a running task needs them
        from airflow_provider_infakt.api.errors import InfaktConfigError, InfaktValidationError
        from airflow_provider_infakt.api.vocabulary import validate_invoice_id, validate_status

        targets = _list_from_text(self.target_status)
        values = list(targets) if isinstance(targets, list | tuple | set | frozenset) else [targets]
        try:
            if not values:
                raise InfaktValidationError(
                    "target_status is empty; give a status or a list of them", field="target_status", value=targets
                )
            statuses = [validate_status(value) for value in values]
            return validate_invoice_id(self.invoice_id, hook.settings.api_version), statuses
        except InfaktValidationError as exc:
            field = getattr(exc, "field", None)
            prefix = "target_status: " if field == "status" else ""
            raise AirflowFailException(f"{prefix}{exc}") from None
        except InfaktConfigError as exc:
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
        invoice_ref, statuses = self._checked(hook)
        done = self._poke_once(context, hook, invoice_ref, statuses)
        if not done and self.deferrable:
            self._defer(invoice_ref, statuses)
        return done

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

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger's one event: return the invoice id, or fail / time out.

        :param context: the task's context.
        :param event: the trigger's event payload (see :class:`InfaktInvoiceTrigger`).
        """
        if not event:
            raise AirflowFailException("The inFakt trigger ended without an event.")
        status = event.get("status")
        if status == "success":
            self.log.info("Invoice %s is %r.", event["invoice_id"], event["invoice_status"])
            context["ti"].xcom_push(key=STATUS_XCOM_KEY, value=event["invoice_status"])
            return event["invoice_id"]
        if status == "timeout":
            raise AirflowSensorTimeout(event.get("message", "The inFakt sensor timed out."))
        raise AirflowFailException(event.get("message", f"The inFakt trigger failed: {event!r}"))
