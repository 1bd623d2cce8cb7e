"""``InfaktDeliverInvoiceOperator``: send one invoice to its customer, by e-mail or post, exactly once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_infakt._compat import BaseOperator
from airflow_provider_infakt.links import InfaktInvoiceLink

if TYPE_CHECKING:
    from airflow_provider_infakt.api import Delivery
    from airflow_provider_infakt.hooks.infakt import InfaktHook
    from airflow_provider_infakt.operators.ledger import Ledger

ON_UNKNOWN_OUTCOME = ("check", "resend", "fail")

NO_LEDGER_WARNING = (
    "This Airflow has no task_state_store (it arrived in Airflow 3.3), so a retry cannot know what an "
    "earlier try did. Guarantee here: each try sends at most once, and a delivery whose outcome is "
    "unknown fails the task without an Airflow retry (unless on_unknown_outcome='resend'); a worker "
    "that dies after inFakt accepted the delivery may still lead a retry to send it again."
)


class InfaktDeliverInvoiceOperator(BaseOperator):
    """Deliver an inFakt invoice (``type`` ``mail`` or ``post``) and return its id for downstream tasks.

    All arguments but ``on_unknown_outcome`` may be Jinja templates or XCom values; they are checked
    after rendering, in ``execute``, before any request: a wrong value fails the task (no Airflow retry)
    with a message naming the field, the value and what is allowed.

    :param invoice_id: the invoice: an int, a string of digits, or on v3 an invoice uuid.
    :param type: ``mail`` (e-mail) or ``post`` (traditional post; needs a postal package in inFakt).
    :param doc_type: ``org`` (original), ``KOPIA`` (copy), ``org_kop`` (both; v2 only), ``d_org``
        (duplicate of the original) or ``d_kop`` (duplicate of the copy). Case-sensitive, as inFakt is.
    :param recipient: an e-mail address to send to instead of the client's (``mail`` only). It is
        never written to XCom or to the task state.
    :param locale: v3 only: ``pl``, ``en`` or ``pe`` (Polish and English).
    :param send_copy: v3 only: also send a copy to the account owner.
    :param infakt_conn_id: the inFakt connection.
    :param on_unknown_outcome: what a retry does when an earlier try's delivery may or may not have
        happened (the connection dropped after sending, a 5xx, a timeout, a dead worker): ``check``
        (default) reads the invoice and decides from its status, failing with an explanation when the
        status cannot tell; ``resend`` sends again; ``fail`` fails the task for a person to decide.

    Returns (XCom ``return_value``) the invoice id: the one inFakt returned (v2) or the one delivered
    (v3), as an int when numeric. The invoice page URL goes to XCom ``infakt_invoice_url`` for the
    "inFakt invoice" link. API errors that will not change on a retry (400, 401, 402, 403, 404, 406,
    422, 423) fail the task at once with inFakt's own message; others (429, 503, connection errors)
    raise so that Airflow's retries apply.
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
        invoice_id: Any,
        type: Any = "mail",
        doc_type: Any = "org",
        recipient: Any = None,
        locale: Any = None,
        send_copy: Any = None,
        infakt_conn_id: str = "infakt_default",
        on_unknown_outcome: str = "check",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.invoice_id = invoice_id
        self.type = type
        self.doc_type = doc_type
        self.recipient = recipient
        self.locale = locale
        self.send_copy = send_copy
        self.infakt_conn_id = infakt_conn_id
        self.on_unknown_outcome = on_unknown_outcome

    def _do_render_template_fields(
        self,
        parent: Any,
        template_fields: Any,
        context: Any,
        jinja_env: Any,
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
        from airflow_provider_infakt._compat import mask_secret
        from airflow_provider_infakt.api.errors import looks_like_address

        super()._do_render_template_fields(parent, template_fields, context, jinja_env, seen_oids, **kwargs)
        if parent is self and isinstance(self.recipient, str) and looks_like_address(self.recipient):
            mask_secret(self.recipient)

    def execute(self, context: Any) -> int | str:
        """Render -> validate -> ledger check -> deliver -> ledger write -> return the invoice id."""
        from airflow_provider_infakt._compat import AirflowFailException
        from airflow_provider_infakt.api.errors import InfaktConfigError, InfaktValidationError
        from airflow_provider_infakt.hooks.infakt import InfaktHook

        if self.on_unknown_outcome not in ON_UNKNOWN_OUTCOME:
            raise AirflowFailException(
                f"on_unknown_outcome={self.on_unknown_outcome!r} is not one of "
                f"{', '.join(repr(v) for v in ON_UNKNOWN_OUTCOME)}"
            )
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
        from airflow_provider_infakt.api.protocol import build_deliver
        from airflow_provider_infakt.api.vocabulary import validate_invoice_id

        settings = hook.settings
        build_deliver(settings, self.invoice_id, self.type, self.doc_type, self.recipient, self.locale, self.send_copy)
        return validate_invoice_id(self.invoice_id, settings.api_version)

    def _ledger(self, context: Any, hook: InfaktHook, invoice_ref: int | str) -> Ledger | None:
        from airflow_provider_infakt.operators.ledger import Ledger, fingerprint

        store = context.get("task_state_store") if hasattr(context, "get") else None
        if store is None:
            self.log.warning(NO_LEDGER_WARNING)
            return None
        settings = hook.settings
        digest = fingerprint(
            settings.base_url,
            settings.api_version,
            invoice_ref,
            self.type,
            self.doc_type,
            self.recipient,
            self.locale,
            self.send_copy,
        )
        ti = context.get("ti")
        return Ledger(store, digest, invoice_ref, getattr(ti, "try_number", None))

    def _deliver_once(self, hook: InfaktHook, ledger: Ledger | None, invoice_ref: int | str) -> int | str:
        from airflow_provider_infakt._compat import AirflowException, AirflowFailException
        from airflow_provider_infakt.api.errors import InfaktError, InfaktUnknownOutcome

        entry = ledger.read() if ledger is not None else None
        if entry is not None and entry.state == "sent":
            self.log.info(
                "Invoice %s was delivered by try %s (%s); not sending it again. To send it again on "
                "purpose, start a new DAG run.",
                invoice_ref,
                entry.try_number,
                entry.at,
            )
            return entry.invoice_id
        if entry is not None and self._earlier_try_delivered(hook, entry):
            assert ledger is not None
            ledger.mark_sent(entry.status_before)
            return entry.invoice_id

        try:
            status_before = hook.get_invoice(invoice_ref).status if ledger is not None else None
            if ledger is not None:
                ledger.mark_sending(status_before)
            delivery = self._send(hook, invoice_ref)
        except InfaktUnknownOutcome as exc:
            if ledger is not None:
                raise AirflowException(
                    f"{exc} A retry of this task will check the invoice before sending anything "
                    f"(on_unknown_outcome={self.on_unknown_outcome!r})."
                ) from None
            if self.on_unknown_outcome == "resend":
                raise AirflowException(f"{exc} on_unknown_outcome='resend': a retry will send again.") from None
            raise AirflowFailException(
                f"{exc} Without a task_state_store a retry cannot tell whether it went out, so the task "
                "fails without retrying; check the invoice in inFakt."
            ) from None
        except InfaktError as exc:
            # inFakt answered (or could not be reached): nothing was sent.
            if ledger is not None:
                ledger.forget()
            if getattr(exc, "retryable", False):
                raise AirflowException(f"Nothing was sent: {exc}") from None
            raise AirflowFailException(f"Nothing was sent: {exc}") from None
        if ledger is not None:
            ledger.mark_sent(status_before)
        self.log.info(
            "Delivered invoice %s by %s as %s (API %s%s).",
            delivery.invoice_id,
            delivery.type,
            delivery.doc_type,
            delivery.api_version,
            ", to the given recipient" if delivery.recipient_given else "",
        )
        return delivery.invoice_id

    def _earlier_try_delivered(self, hook: InfaktHook, entry: Any) -> bool:
        """Resolve an earlier try's unknown outcome: True if it delivered, False to send now."""
        from airflow_provider_infakt._compat import AirflowException, AirflowFailException
        from airflow_provider_infakt.api.errors import InfaktError
        from airflow_provider_infakt.operators.ledger import resolve

        earlier = f"Try {entry.try_number} ({entry.at}) was about to deliver invoice {entry.invoice_id}"
        if self.on_unknown_outcome == "fail":
            raise AirflowFailException(
                f"{earlier} and its outcome is unknown; on_unknown_outcome='fail' leaves the decision to "
                "you: check the invoice in inFakt, then mark this task success or clear it with "
                "on_unknown_outcome='resend'."
            )
        if self.on_unknown_outcome == "resend":
            self.log.warning("%s and its outcome is unknown; on_unknown_outcome='resend': sending again.", earlier)
            return False
        try:
            status_now = hook.get_invoice(entry.invoice_id).status
        except InfaktError as exc:
            raise AirflowException(f"{earlier}; reading the invoice to find out what happened failed: {exc}") from None
        decision = resolve(entry.status_before, status_now)
        if decision == "delivered":
            self.log.info(
                "%s; its status went from %r to %r, so that try delivered it. Not sending again.",
                earlier,
                entry.status_before,
                status_now,
            )
            return True
        if decision == "not_delivered":
            self.log.info(
                "%s; its status is still %r, so that try did not deliver it. Sending now.",
                earlier,
                status_now,
            )
            return False
        raise AirflowFailException(
            f"{earlier} and its outcome is unknown. The invoice's status was {entry.status_before!r} before "
            f"and is {status_now!r} now, which cannot tell whether it went out. Check the invoice in inFakt, "
            "then mark this task success, or clear it with on_unknown_outcome='resend' to send again."
        )

    def _send(self, hook: InfaktHook, invoice_ref: int | str) -> Delivery:
        return hook.deliver_invoice(
            invoice_ref,
            self.type,
            self.doc_type,
            self.recipient,
            locale=self.locale,
            send_copy=self.send_copy,
        )

    def _push_link(self, context: Any, hook: InfaktHook, invoice_id: int | str) -> None:
        from airflow_provider_infakt.links import INVOICE_URL_XCOM_KEY, invoice_url

        context["ti"].xcom_push(key=INVOICE_URL_XCOM_KEY, value=invoice_url(hook.web_url_template, invoice_id))
