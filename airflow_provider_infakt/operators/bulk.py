"""``InfaktBulkDeliverInvoicesOperator``: deliver many invoices in one task, each exactly once, at
inFakt's own rate limit, resumable after a crash, with its progress in the log."""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import itertools
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_infakt import _compat
from airflow_provider_infakt._compat import AirflowException, AirflowFailException, BaseOperator
from airflow_provider_infakt.delivery import (
    DEFAULT_IN_FLIGHT_WINDOW,
    NO_LEDGER_WARNING,
    DeclaresLedgerInlet,
    check_delivery_options,
    drop_rendered_nothing,
    window_seconds,
    with_ledger_asset,
)

if TYPE_CHECKING:
    from airflow.models.xcom_arg import XComArg
    from airflow.sdk import Context

    from airflow_provider_infakt.api import InfaktClient
    from airflow_provider_infakt.api.protocol import DeliverArguments
    from airflow_provider_infakt.api.settings import ClientSettings
    from airflow_provider_infakt.delivery import DeliveryProblem
    from airflow_provider_infakt.types import DeliveryType, DocType, Jinja, Locale, OnError, OnUnknownOutcome, PrintType

__all__ = ["FAILED_XCOM_KEY", "ON_ERROR", "InfaktBulkDeliverInvoicesOperator"]

ON_ERROR = ("continue", "fail")
#: XCom key of ``{invoice id: reason}`` for the invoices not delivered.
FAILED_XCOM_KEY = "failed"
#: Arguments that may be left out (see :func:`airflow_provider_infakt.types.rendered_nothing`).
OPTIONAL_FIELDS = ("locale", "send_copy", "requests_per_minute")
#: At most this many ids are listed in a message; the rest are counted.
_SHOWN_IDS = 50

NO_LEDGER_BULK_WARNING = (
    "Without a ledger, a bulk task cannot be retried safely once it has delivered anything: a retry would "
    "send those invoices again. So once this try has delivered an invoice (or may have), any failure fails "
    "the task without an Airflow retry, and its message lists the ids left, for a new run."
)


def _is_quota_refusal(error: BaseException | None) -> bool:
    """Whether inFakt refused because the day's invoice e-mail quota is used up
    (:class:`~airflow_provider_infakt.api.errors.InfaktQuotaExceededError`: nothing was sent, and no
    retry today will change it).

    :param error: the client's exception (None: not a refusal).
    """
    from airflow_provider_infakt.api.errors import InfaktQuotaExceededError  # deferred: see execute

    return isinstance(error, InfaktQuotaExceededError)


def _shown(ids: Sequence[int | str]) -> str:
    """Up to :data:`_SHOWN_IDS` ids, and how many more."""
    text = ", ".join(str(i) for i in ids[:_SHOWN_IDS])
    return text + (f" ... and {len(ids) - _SHOWN_IDS} more" if len(ids) > _SHOWN_IDS else "")


@dataclasses.dataclass
class _Progress:
    """What a bulk run has done so far, and its progress line (at most every ``interval`` seconds)."""

    total: int
    allowed: int | None
    interval: float
    started: float = dataclasses.field(default_factory=time.monotonic)
    last_line: float = dataclasses.field(default_factory=time.monotonic)
    delivered: list[int | str] = dataclasses.field(default_factory=list)
    failed: dict[str, str] = dataclasses.field(default_factory=dict)
    unknown: list[int | str] = dataclasses.field(default_factory=list)
    sent_at: collections.deque[float] = dataclasses.field(default_factory=collections.deque)
    done: int = 0

    def sent(self) -> None:
        """A delivery request went out now."""
        self.sent_at.append(time.monotonic())

    def rate(self, now: float) -> float | None:
        """Delivery requests a minute at the current pace: 60 s over the median gap between the last 20
        requests of the last minute (a first burst, or a pause for a 429, is not a rate); None until
        there are 20."""
        while self.sent_at and self.sent_at[0] <= now - 60:
            self.sent_at.popleft()
        recent = list(self.sent_at)[-21:]
        gaps = [later - earlier for earlier, later in itertools.pairwise(recent)]
        if len(gaps) < 20:
            return None
        import statistics  # deferred: DAG files import this module, only a running task needs it

        middle = statistics.median(gaps)
        return 60.0 / middle if middle > 0 else None

    def line(self, now: float) -> str:
        """``delivered/total, failed, current rate vs allowed, estimated time left``."""
        rate = self.rate(now)
        allowed = f"{self.allowed}/min allowed" if self.allowed else "no client-side limit"
        left = self.total - self.done
        known = [x for x in (rate, float(self.allowed or 0)) if x]
        per_minute = min(known) if known else 0.0
        eta = f"~{left / per_minute * 60:.0f} s left" if per_minute > 0 and left else ("done" if not left else "?")
        pace = f"{rate:.1f} deliveries/min now" if rate is not None else "pace not measured yet"
        return (
            f"Progress: {len(self.delivered)}/{self.total} delivered, {len(self.failed)} failed"
            f"{f', {len(self.unknown)} outcome unknown' if self.unknown else ''}; "
            f"{pace} ({allowed}); {eta}"
        )

    def due(self, now: float) -> bool:
        """Whether a progress line is due (and count it as written)."""
        if now - self.last_line < self.interval:
            return False
        self.last_line = now
        return True


class InfaktBulkDeliverInvoicesOperator(DeclaresLedgerInlet, BaseOperator):
    """Deliver many inFakt invoices in one task, each exactly once per DAG run, at inFakt's rate limit.

    For a month-end run of hundreds or thousands of invoices: one task, one client, one request after
    the other, paced by the client's rate limiter (inFakt allows 150 non-GET requests a minute per
    source IP); a 429 or 503 that still happens pauses the whole run (the client waits as
    ``Retry-After`` says) and then it carries on. Mapping the single operator instead costs Airflow's
    scheduling per invoice, and parallel tasks each keep their own limiter, so together they meet 429s.

    Each invoice goes through the very same delivery-once steps as
    :class:`~airflow_provider_infakt.operators.deliver.InfaktDeliverInvoiceOperator` (see its
    "Delivery outcomes" and "Exactly once per DAG run"): ledger check, status read, "about to send",
    delivery, "sent"; an earlier attempt's unknown outcome is resolved by ``on_unknown_outcome``. The
    ledger holds one small record per invoice (about 200 bytes: key and value) in the asset state store
    of ``infakt_delivery_ledger``, so an Airflow retry sends only what is left. ``in_flight_window`` is
    the single operator's default (5 minutes); a subclass or an assignment to the task's attribute
    changes it.

    :param invoice_ids: the invoices: a list of ids (ints, strings of digits, on v3 also uuids), a JSON
        text of such a list, or an upstream task's output (``InfaktListInvoicesOperator(...).output``).
        Every id is checked before the first request: one bad id fails the task, naming it and its
        position, and nothing is sent. An id given twice (``7`` and ``"7"``) is delivered once.
    :param type: ``mail`` or ``post``, for every invoice.
    :param doc_type: the document type, for every invoice (as for the single operator).
    :param locale: v3 only: ``pl``, ``en`` or ``pe``; not given: None, ``'None'`` or ``''``.
    :param send_copy: v3 only: also send a copy to the account owner; not given as for ``locale``.
    :param infakt_conn_id: the inFakt connection.
    :param requests_per_minute: the most delivery (non-GET) requests a minute; default the connection's
        limit (inFakt's documented 150 unless ``extra.rate_limit`` says otherwise). It can only lower
        the connection's limit. Status reads count against the GET budget.
    :param on_error: ``continue`` (default): deliver every invoice it can, then fail the task if any
        was not delivered; ``fail``: stop at the first invoice not delivered.
    :param on_unknown_outcome: ``check``, ``resend`` or ``fail``, as for the single operator.
    :param kwargs: passed on to :class:`BaseOperator`.

    Returns (XCom ``return_value``) the ids delivered in this DAG run (by this try or an earlier one),
    in input order. XCom ``failed`` maps each id not delivered (as text) to why: inFakt's message, or
    what a person must check. An invoice inFakt refused (400, 402, 404, 422, ...) is recorded there and
    not sent again; a 429, 503 or lost connection is retried by the client, and if it persists the task
    stops and fails so that an Airflow retry resumes from the ledger. When inFakt refuses because the
    day's e-mail quota is used up, the task stops at once and fails with the number delivered and the
    ids left; a retry (the next day) resumes from the ledger. At most every 10 seconds one log line
    shows the progress: delivered/total, failed, the current rate against the allowed one, the time left.

    Without an asset state store (Airflow before 3.3) there is no ledger: each try sends each invoice
    at most once; an unknown outcome, and any failure once something was delivered, fail the task
    without an Airflow retry (a retry would send the delivered ones again), listing the ids left.
    """

    template_fields: Sequence[str] = (
        "invoice_ids",
        "type",
        "doc_type",
        "locale",
        "send_copy",
        "infakt_conn_id",
        "requests_per_minute",
    )
    ui_color = "#dfeeff"
    #: How long after an attempt started sending a request it may still be in flight or pending at inFakt.
    in_flight_window: float | dt.timedelta = DEFAULT_IN_FLIGHT_WINDOW
    #: Seconds between two progress lines at most.
    progress_interval: float = 10.0

    def __init__(
        self,
        *,
        invoice_ids: Sequence[int | str] | str | XComArg,
        type: DeliveryType | Jinja | XComArg = "mail",
        doc_type: DocType | PrintType | Jinja | XComArg = "org",
        locale: Locale | Jinja | XComArg | None = None,
        send_copy: bool | Jinja | XComArg | None = None,
        infakt_conn_id: str = "infakt_default",
        requests_per_minute: int | Jinja | None = None,
        on_error: OnError = "continue",
        on_unknown_outcome: OnUnknownOutcome = "check",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.inlets = with_ledger_asset(self.inlets)
        self.invoice_ids = invoice_ids
        self.type = type
        self.doc_type = doc_type
        self.locale = locale
        self.send_copy = send_copy
        self.infakt_conn_id = infakt_conn_id
        self.requests_per_minute = requests_per_minute
        self.on_error = on_error
        self.on_unknown_outcome = on_unknown_outcome

    def execute(self, context: Context) -> list[int | str]:
        """Render -> validate every id -> for each invoice: deliver once -> the ids delivered.

        :param context: the task's context.
        """
        # deferred: DAG files import this module; the api package costs ~20 ms at import, the hook ~1 ms
        from airflow_provider_infakt.api.errors import InfaktConfigError, InfaktValidationError
        from airflow_provider_infakt.hooks.infakt import InfaktHook

        self._check_own_arguments()
        drop_rendered_nothing(self, OPTIONAL_FIELDS)
        hook = InfaktHook(infakt_conn_id=self.infakt_conn_id)
        try:
            settings = hook.settings
            invoices = self._validated(settings)
            limited = self._limited_settings(settings)
        except (InfaktValidationError, InfaktConfigError) as exc:
            raise AirflowFailException(f"Nothing was sent: {exc}") from None
        own_client = limited is not None
        client = self._client(limited) if limited is not None else hook.get_client()
        try:
            return self._deliver_all(context, client, settings if limited is None else limited, invoices)
        finally:
            if own_client:
                client.close()
            hook.close()

    # -- checks ------------------------------------------------------------------------------------
    def _check_own_arguments(self) -> None:
        check_delivery_options(self.on_unknown_outcome, self.in_flight_window)
        if self.on_error not in ON_ERROR:
            raise AirflowFailException(
                f"Nothing was sent: on_error={self.on_error!r} is not one of {', '.join(repr(v) for v in ON_ERROR)}"
            )

    def _id_list(self) -> list[Any]:
        """The rendered ``invoice_ids`` as a list (see :func:`~airflow_provider_infakt.types.rendered_list`)."""
        from airflow_provider_infakt.types import rendered_list

        ids = rendered_list(self.invoice_ids)
        if ids is not None:
            return ids
        shown = repr(self.invoice_ids)
        raise AirflowFailException(
            f"Nothing was sent: invoice_ids={shown[:80]}{'...' if len(shown) > 80 else ''} is not a list of "
            'invoice ids; give a list, a JSON text of a list ("[1, 2, 3]") or an upstream task\'s output'
        )

    def _validated(self, settings: ClientSettings) -> list[DeliverArguments]:
        """Every invoice's validated arguments, each invoice once, in input order (raises before any request)."""
        from airflow_provider_infakt.api.errors import InfaktValidationError
        from airflow_provider_infakt.api.protocol import check_deliver

        ids = self._id_list()
        # the arguments every invoice shares, checked once (with a stand-in id), named as given
        check_deliver(settings, 1, self.type, self.doc_type, None, self.locale, self.send_copy)
        invoices: list[DeliverArguments] = []
        positions: dict[int | str, list[int]] = {}
        for position, raw in enumerate(ids):
            try:
                arguments = check_deliver(settings, raw, self.type, self.doc_type, None, self.locale, self.send_copy)
            except InfaktValidationError as exc:
                raise InfaktValidationError(
                    f"invoice_ids[{position}] (position {position + 1} of {len(ids)}): {exc}",
                    field="invoice_ids",
                    value=exc.value,
                ) from None
            seen = positions.setdefault(arguments.invoice_id, [])
            if not seen:
                invoices.append(arguments)
            seen.append(position)
        for ref, where in positions.items():
            if len(where) > 1:
                shown = ", ".join(str(p) for p in where[:_SHOWN_IDS])
                more = f" and {len(where) - _SHOWN_IDS} more" if len(where) > _SHOWN_IDS else ""
                self.log.info(
                    "Invoice %s is given %d times in invoice_ids (positions %s%s): it is delivered once.",
                    ref,
                    len(where),
                    shown,
                    more,
                )
        return invoices

    def _limited_settings(self, settings: ClientSettings) -> ClientSettings | None:
        """Settings with ``requests_per_minute`` as the non-GET limit, or None to use the connection's."""
        from airflow_provider_infakt.api.errors import InfaktValidationError
        from airflow_provider_infakt.api.settings import RateLimit

        value: Any = self.requests_per_minute
        if value is None:
            return None
        number = int(value.strip()) if isinstance(value, str) and value.strip().isdigit() else value
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            raise InfaktValidationError(
                f"invalid requests_per_minute {value!r}: expected a whole number of delivery requests a minute, "
                "at least 1, or None for the connection's limit",
                field="requests_per_minute",
                value=value,
            )
        current = settings.rate_limit
        if current is not None and number > current.other_per_minute:
            raise InfaktValidationError(
                f"invalid requests_per_minute {number}: the connection allows {current.other_per_minute} non-GET "
                "requests a minute (inFakt's limit, or extra.rate_limit), and requests_per_minute can only lower "
                "that; leave it unset for the connection's limit",
                field="requests_per_minute",
                value=number,
            )
        limit = (
            RateLimit(other_per_minute=number)
            if current is None
            else dataclasses.replace(current, other_per_minute=number)
        )
        return dataclasses.replace(settings, rate_limit=limit)

    @staticmethod
    def _client(settings: ClientSettings) -> InfaktClient:
        from airflow_provider_infakt.api.client import InfaktClient

        return InfaktClient(settings)

    @property
    def _window(self) -> float:
        seconds = window_seconds(self.in_flight_window)
        assert seconds is not None  # checked in execute
        return seconds

    # -- the run -----------------------------------------------------------------------------------
    def _deliver_all(
        self, context: Context, client: InfaktClient, settings: ClientSettings, invoices: list[DeliverArguments]
    ) -> list[int | str]:
        from airflow_provider_infakt.delivery import (
            DeliveryProblem,
            NeedsDecision,
            OnceDelivery,
            OutcomeUnknown,
            Refused,
            delivery_ledger,
        )

        ti = context["ti"]
        store = _compat.ledger_store()  # looked up at call time: tests put a store in its place
        if store is None:
            self.log.warning("%s %s", NO_LEDGER_WARNING, NO_LEDGER_BULK_WARNING)
        allowed = settings.rate_limit.other_per_minute if settings.rate_limit is not None else None
        progress = _Progress(total=len(invoices), allowed=allowed, interval=self.progress_interval)
        self.log.info(
            "Delivering %d invoice(s) by %s as %s, at most %s delivery requests a minute.",
            len(invoices),
            self.type,
            self.doc_type,
            allowed if allowed is not None else "any number of",
        )
        for index, arguments in enumerate(invoices):
            ledger = (
                None
                if store is None
                else delivery_ledger(
                    store,
                    ti,
                    settings,
                    arguments.invoice_id,
                    self.type,
                    self.doc_type,
                    None,
                    self.locale,
                    self.send_copy,
                )
            )
            once = OnceDelivery(
                client,
                arguments,
                ledger,
                on_unknown_outcome=self.on_unknown_outcome,
                window=self._window,
                execution_timeout=self.execution_timeout,
                log=self.log,
            )
            try:
                progress.delivered.append(once.deliver())
            except (Refused, NeedsDecision, OutcomeUnknown) as problem:
                if isinstance(problem, Refused) and _is_quota_refusal(problem.error):
                    self._stop(context, progress, invoices[index:], problem, store is not None, quota=True)
                if isinstance(problem, OutcomeUnknown):
                    progress.unknown.append(arguments.invoice_id)
                progress.failed[str(arguments.invoice_id)] = str(problem)
                self.log.warning("Invoice %s not delivered: %s", arguments.invoice_id, problem)
                if self.on_error == "fail":
                    self._stop(context, progress, invoices[index + 1 :], problem, store is not None)
            except DeliveryProblem as problem:  # NotSent, LedgerUnavailable: stop; a retry resumes
                quota = _is_quota_refusal(getattr(problem, "error", None))
                self._stop(context, progress, invoices[index:], problem, store is not None, quota=quota)
            finally:
                progress.done = index + 1
                if once.requested:
                    progress.sent()
            now = time.monotonic()
            if progress.due(now):
                self.log.info("%s", progress.line(now))
        self.log.info("%s", progress.line(time.monotonic()))
        if progress.failed:
            self._fail(context, progress, store is not None)
        ti.xcom_push(key=FAILED_XCOM_KEY, value=progress.failed)
        return progress.delivered

    def _summary(self, progress: _Progress) -> str:
        failed = "; ".join(f"{i}: {reason}" for i, reason in list(progress.failed.items())[:_SHOWN_IDS])
        more = len(progress.failed) - _SHOWN_IDS
        return (
            f"Delivered {len(progress.delivered)} of {progress.total} invoice(s); "
            f"{len(progress.failed)} not delivered"
            + (f": {failed}" if failed else "")
            + (f" ... and {more} more (XCom {FAILED_XCOM_KEY!r} has them all)" if more > 0 else "")
            + "."
        )

    def _raise(self, message: str, retry_may_help: bool, progress: _Progress, with_ledger: bool) -> None:
        if retry_may_help and not with_ledger and (progress.delivered or progress.unknown):
            message += " " + NO_LEDGER_BULK_WARNING
            retry_may_help = False
        raise (AirflowException if retry_may_help else AirflowFailException)(message)

    def _push(self, context: Context, progress: _Progress) -> None:
        ti = context["ti"]
        ti.xcom_push(key=FAILED_XCOM_KEY, value=progress.failed)
        ti.xcom_push(key="return_value", value=progress.delivered)  # what was delivered, for an all_done task

    def _fail(self, context: Context, progress: _Progress, with_ledger: bool) -> None:
        """The end of a run in which some invoices were not delivered."""
        self._push(context, progress)
        message = self._summary(progress)
        if progress.unknown:
            message += (
                f" The outcome of {_shown(progress.unknown)} is unknown; a retry of this task finds out what "
                "happened before sending anything."
            )
        self._raise(message, bool(progress.unknown), progress, with_ledger)

    def _stop(
        self,
        context: Context,
        progress: _Progress,
        left: list[DeliverArguments],
        problem: DeliveryProblem,
        with_ledger: bool,
        *,
        quota: bool = False,
    ) -> None:
        """Stop the run at once: ``left`` are the invoices not tried (the current one first when it was not sent)."""
        left_ids = [a.invoice_id for a in left]
        self.log.info("%s", progress.line(time.monotonic()))
        self._push(context, progress)
        if quota:
            why = f"inFakt refused to send more e-mails today: the day's invoice e-mail quota is used up ({problem})."
            then = " A retry (the next day, once the quota is renewed) resumes from the ledger."
        elif self.on_error == "fail" and not problem.retry_may_help:
            why = f"on_error='fail': stopped at the first invoice not delivered ({problem})."
            then = ""
        else:
            why = f"Stopped: {problem}"
            then = " A retry of this task resumes from the ledger: it sends only what is left."
        message = f"{why} {self._summary(progress)} Left, not sent: {len(left_ids)} ({_shown(left_ids)}).{then}"
        retry = problem.retry_may_help or quota or bool(progress.unknown)
        self._raise(message if with_ledger else message.replace(then, ""), retry, progress, with_ledger)
