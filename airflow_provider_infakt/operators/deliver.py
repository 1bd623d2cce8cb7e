"""``InfaktDeliverInvoiceOperator``: send one invoice to its customer, by e-mail or post, exactly once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_infakt import _compat
from airflow_provider_infakt._compat import (
    AirflowFailException,
    BaseOperator,
    mask_secret,
)

# The delivery-once logic is shared with the bulk operator (airflow_provider_infakt.delivery); these
# names stay importable from here.
from airflow_provider_infakt.delivery import (
    DEFAULT_IN_FLIGHT_WINDOW,
    NO_LEDGER_WARNING,
    ON_UNKNOWN_OUTCOME,
    DeclaresLedgerInlet,
    check_delivery_options,
    drop_rendered_nothing,
    with_ledger_asset,
)
from airflow_provider_infakt.delivery import window_seconds as _window_seconds
from airflow_provider_infakt.links import INVOICE_URL_XCOM_KEY, InfaktInvoiceLink, invoice_url

if TYPE_CHECKING:
    import jinja2

    # XComArg from airflow.models: its home on Airflow 2, a re-export of airflow.sdk's on Airflow 3, so a
    # user's type checker sees the real class on every version (never imported at run time)
    from airflow.models.xcom_arg import XComArg
    from airflow.sdk import Context

    from airflow_provider_infakt.hooks.infakt import InfaktHook
    from airflow_provider_infakt.ledger import Ledger
    from airflow_provider_infakt.types import DeliveryType, DocType, Jinja, Locale, OnUnknownOutcome, PrintType

__all__ = [
    "DEFAULT_IN_FLIGHT_WINDOW",
    "NO_LEDGER_WARNING",
    "ON_UNKNOWN_OUTCOME",
    "OPTIONAL_FIELDS",
    "RENDERED_RECIPIENT_WARNING",
    "InfaktDeliverInvoiceOperator",
    "with_ledger_asset",
]

#: Arguments that may be left out (see :func:`airflow_provider_infakt.types.rendered_nothing`).
OPTIONAL_FIELDS = ("recipient", "locale", "send_copy")

RENDERED_RECIPIENT_WARNING = (
    "This Airflow (3.0) stores a task's rendered template fields without masking what the task registered "
    "as secret, so the rendered recipient address is shown in the task's Rendered Template tab (task logs "
    "and XCom still do not show it). Airflow 3.1+ and 2.10/2.11 mask it there too."
)


class InfaktDeliverInvoiceOperator(DeclaresLedgerInlet, BaseOperator):
    """Deliver an inFakt invoice (``type`` ``mail`` or ``post``) and return its id for downstream tasks.

    All arguments but ``on_unknown_outcome`` may be Jinja templates or XCom values; they are checked
    after rendering, in ``execute``, before any request: a wrong value fails the task (no Airflow retry)
    with a message naming the field, the value and what is allowed. Arguments with a fixed set of
    values are typed with :data:`typing.Literal` (see :mod:`airflow_provider_infakt.types`); a template
    for one of them is written ``Jinja("{{ ... }}")``. One task delivers one invoice: for a list of
    them, map it (``InfaktDeliverInvoiceOperator.partial(...).expand(invoice_id=[...])``).

    :param invoice_id: the invoice: an int, a string of digits, or on v3 an invoice uuid.
    :param type: ``mail`` (e-mail) or ``post`` (traditional post; needs a postal package in inFakt).
    :param doc_type: ``org`` (original), ``KOPIA`` (copy), ``org_kop`` (both; v2 only), ``d_org``
        (duplicate of the original) or ``d_kop`` (duplicate of the copy). Case-sensitive, as inFakt is.
        On v3 its own names are accepted too: ``original``, ``copy``, ``original_duplicate``,
        ``copy_duplicate``, ``duplicate``, ``regular``.
    :param recipient: an e-mail address to send to instead of the client's (``mail`` only). It is
        never written to XCom or to the task state. Not given (None; or ``'None'`` or ``''``, which is
        what plain Jinja renders for a missing value): the address of the invoice's client.
    :param locale: v3 only: ``pl``, ``en`` or ``pe`` (Polish and English); not given as for ``recipient``.
    :param send_copy: v3 only: also send a copy to the account owner; not given as for ``recipient``.
    :param infakt_conn_id: the inFakt connection.
    :param on_unknown_outcome: what a later attempt does when an earlier one's delivery may or may not
        have happened: ``check`` (default) waits out ``in_flight_window``, reads the invoice and decides
        from its status (see below), failing with an explanation when the status cannot tell; ``resend``
        sends again; ``fail`` fails the task for a person to decide.
    :param in_flight_window: seconds (or a ``timedelta``; default 5 minutes) for which a delivery
        request, from the moment an attempt was about to send it, may still be in flight or pending at
        inFakt (v3 answers 202 Accepted and may send after it answers). Before it has passed no status
        read is trusted: a retry waits (or, when ``execution_timeout`` is shorter, fails with "outcome
        not known yet"); it never sends. Make it longer than the longest time inFakt may take.
    :param kwargs: passed on to :class:`BaseOperator`.

    **Delivery outcomes.** Only these answers to a delivery prove that nothing was sent: no connection
    could be made; inFakt's own 4xx error body (400, 401, 402, 403, 404, 406, 422, 423); a 429. Only a
    2xx with the expected body proves it was sent. Everything else is an *unknown outcome*: any 5xx
    (a proxy or load balancer may answer after inFakt acted), a body that is not inFakt's, truncated,
    malformed or oversized, a timeout, a dropped connection, a task killed mid-request. An unknown
    outcome fails this try (Airflow may retry); it is never sent again blindly.

    **Exactly once per DAG run** (Airflow 3.3+). Before sending, the task records "about to send" in
    the delivery ledger, and "sent" once inFakt's answer proves it. The record is per invoice (and way
    of delivering it) per DAG run, whichever try or map index sends it, and survives clearing the task
    and ``[state_store] clear_on_success``: a later attempt finding "sent" returns without sending. It
    lives in the asset state store of the asset ``infakt_delivery_ledger``, which the task declares as
    an inlet. Finding "about to send" without "sent", ``check`` waits out ``in_flight_window`` and
    reads the invoice: ``sent`` (from ``draft`` or ``printed`` before) proves the delivery; an unchanged
    ``draft``/``printed`` proves it did not happen, and the task sends now; anything else (``paid``: a
    customer can pay without the e-mail; already ``sent`` before; another status) cannot tell, and the
    task fails saying what to check. To send an invoice again on purpose, start a new DAG run.
    Without a ledger (Airflow before 3.3), an unknown outcome fails the task without an Airflow retry.

    Returns (XCom ``return_value``) the invoice id: the one inFakt returned (v2) or the one delivered
    (v3), as an int when numeric. The invoice page URL goes to XCom ``infakt_invoice_url`` for the
    "inFakt invoice" link. API errors that will not change on a retry (400, 401, 402, 403, 404, 406,
    422, 423) fail the task at once with inFakt's own message; a 429 or a connection never made raise
    so that Airflow's retries apply (nothing was sent).
    """

    template_fields: Sequence[str] = (
        "invoice_id",
        "type",
        "doc_type",
        "recipient",
        "locale",
        "send_copy",
        "infakt_conn_id",
    )
    operator_extra_links = (InfaktInvoiceLink(),)
    ui_color = "#dfeeff"

    def __init__(
        self,
        *,
        invoice_id: int | str | XComArg,
        type: DeliveryType | Jinja | XComArg = "mail",
        doc_type: DocType | PrintType | Jinja | XComArg = "org",
        recipient: str | XComArg | None = None,
        locale: Locale | Jinja | XComArg | None = None,
        send_copy: bool | Jinja | XComArg | None = None,
        infakt_conn_id: str = "infakt_default",
        on_unknown_outcome: OnUnknownOutcome = "check",
        in_flight_window: float | dt.timedelta = DEFAULT_IN_FLIGHT_WINDOW,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.inlets = with_ledger_asset(self.inlets)
        self.invoice_id = invoice_id
        self.type = type
        self.doc_type = doc_type
        self.recipient = recipient
        self.locale = locale
        self.send_copy = send_copy
        self.infakt_conn_id = infakt_conn_id
        self.on_unknown_outcome = on_unknown_outcome
        self.in_flight_window = in_flight_window

    def _do_render_template_fields(
        self,
        parent: Any,
        template_fields: Iterable[str],
        context: Context,
        jinja_env: jinja2.Environment,
        seen_oids: set[int],
        **kwargs: Any,
    ) -> None:
        """Render the template fields as Airflow does, then register the rendered ``recipient`` with
        Airflow's secrets masker, so that the address shows as ``***`` in the rendered-fields table (the
        UI's "Rendered Template" tab) and in every log line of the task, whoever writes it.

        Why this way: ``recipient`` stays a template field, so Jinja, XCom arguments (with their
        upstream dependency) and ``expand()`` work unchanged; the address is known here and only here,
        after rendering and before Airflow 3's task runner (``_serialize_rendered_fields``, then
        ``SetRenderedFields``) or Airflow 2's ``RenderedTaskInstanceFields`` stores the rendered values,
        both of which pass each value through the secrets masker's ``redact`` first. Rendering
        ``recipient`` in ``execute`` instead would keep it out of that table too, but it would lose the
        XCom dependency, leave log masking undone and turn ``execute`` into a second renderer.

        This method, not ``render_template_fields``, because a mapped task is rendered by
        ``MappedOperator.render_template_fields``, which calls this method on the unmapped operator;
        an override of ``render_template_fields`` would never run for ``.expand()``.

        The address is registered without a ``name``: the masker only takes a named value when the name
        sounds secret (``password``, ``token``...), and ``recipient`` does not. Only a value holding an
        ``@`` is registered, so that a wrong value (``'None'``) is shown as typed in the error message.
        The masker skips values shorter than ``[logging] min_length_masked_secret`` (5 by default;
        every address :func:`~airflow_provider_infakt.api.vocabulary.validate_recipient` accepts has
        at least 6 characters).

        :param parent: the object whose fields are rendered (this operator, or a nested templated object).
        :param template_fields: the names of the fields to render.
        :param context: the task's template context.
        :param jinja_env: the Jinja environment to render with.
        :param seen_oids: ids of objects already rendered (Airflow's guard against cycles).
        :param kwargs: passed on as given (some Airflow 2 releases add ``session``).
        """
        # deferred (as every api/, hooks and ledger import below): DAG files import this module, and the
        # api package costs ~20 ms at import, the hook ~1 ms, the ledger ~1.5 ms; only a running task needs them
        from airflow_provider_infakt.api.errors import looks_like_address

        super()._do_render_template_fields(parent, template_fields, context, jinja_env, seen_oids, **kwargs)
        if parent is self and isinstance(self.recipient, str) and looks_like_address(self.recipient):
            mask_secret(self.recipient)
            if not _compat.worker_masks_rendered_fields():  # Airflow 3.0
                self.log.warning(RENDERED_RECIPIENT_WARNING)

    def execute(self, context: Context) -> int | str:
        """Render -> validate -> ledger check -> deliver -> ledger write -> return the invoice id.

        :param context: the task's context.
        """
        # deferred: see _do_render_template_fields
        from airflow_provider_infakt.api.errors import InfaktConfigError, InfaktValidationError
        from airflow_provider_infakt.hooks.infakt import InfaktHook

        check_delivery_options(self.on_unknown_outcome, self.in_flight_window)
        drop_rendered_nothing(self, OPTIONAL_FIELDS)
        hook = InfaktHook(infakt_conn_id=self.infakt_conn_id)
        try:
            invoice_ref = self._validate(hook)
        except (InfaktValidationError, InfaktConfigError) as exc:
            raise AirflowFailException(f"Nothing was sent: {exc}") from None
        try:
            ledger = self._ledger(context, hook, invoice_ref)
            delivered_id = self._deliver_once(hook, ledger, invoice_ref)
        finally:
            hook.close()
        self._push_link(context, hook, delivered_id)
        return delivered_id

    # -- steps -------------------------------------------------------------------------------------
    def _validate(self, hook: InfaktHook) -> int | str:
        """Check every rendered value (raises before any request); return the invoice reference."""
        from airflow_provider_infakt.api.protocol import check_deliver  # deferred: see _do_render_template_fields

        self._arguments = check_deliver(
            hook.settings, self.invoice_id, self.type, self.doc_type, self.recipient, self.locale, self.send_copy
        )
        return self._arguments.invoice_id

    def _ledger(self, context: Context, hook: InfaktHook, invoice_ref: int | str) -> Ledger | None:
        from airflow_provider_infakt.delivery import delivery_ledger  # deferred: see _do_render_template_fields

        store = _compat.ledger_store()  # looked up at call time: tests put a store in its place
        if store is None:
            self.log.warning(NO_LEDGER_WARNING)
            return None
        return delivery_ledger(
            store,
            context["ti"],
            hook.settings,
            invoice_ref,
            self.type,
            self.doc_type,
            self.recipient,
            self.locale,
            self.send_copy,
        )

    def _deliver_once(self, hook: InfaktHook, ledger: Ledger | None, invoice_ref: int | str) -> int | str:
        """Deliver at most once per DAG run (:class:`airflow_provider_infakt.delivery.OnceDelivery`)."""
        # deferred: see _do_render_template_fields
        from airflow_provider_infakt.delivery import DeliveryProblem, OnceDelivery

        assert self._arguments.invoice_id == invoice_ref  # the values _validate checked, as it returned them
        once = OnceDelivery(
            hook.get_client(),
            self._arguments,
            ledger,
            on_unknown_outcome=self.on_unknown_outcome,
            window=self._window,
            execution_timeout=self.execution_timeout,
            log=self.log,
        )
        try:
            return once.deliver()
        except DeliveryProblem as exc:
            raise exc.airflow_exception() from None

    @property
    def _window(self) -> float:
        seconds = _window_seconds(self.in_flight_window)
        assert seconds is not None  # checked in execute
        return seconds

    def _push_link(self, context: Context, hook: InfaktHook, invoice_id: int | str) -> None:
        context["ti"].xcom_push(key=INVOICE_URL_XCOM_KEY, value=invoice_url(hook.web_url_template, invoice_id))
