"""A per-task-instance record of one delivery: "about to send" and "sent".

It lives in Airflow's ``task_state_store`` (Airflow 3.3+), which survives retries of the same task
instance. A retry that finds "sent" returns without sending; one that finds "sending" without "sent"
knows the earlier try's outcome is unknown and resolves it (:func:`resolve`). No e-mail address is
written: the recipient enters the record only through a hash in the fingerprint.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from typing import Any, Literal, Protocol

#: Key in the task state store.
LEDGER_KEY = "infakt_delivery"

#: Normalized statuses that show an invoice has gone out.
DELIVERED_STATUSES = frozenset({"sent", "paid", "unpaid"})
#: Normalized statuses of an invoice not yet delivered.
UNDELIVERED_STATUSES = frozenset({"draft", "printed"})


class StateStore(Protocol):
    """What the ledger needs of Airflow's ``task_state_store`` accessor."""

    def get(self, key: str, default: Any = None) -> Any: ...
    def set(self, key: str, value: Any) -> None: ...
    def delete(self, key: str) -> None: ...


def fingerprint(*parts: object) -> str:
    """A short digest of what is being delivered, so a record is only trusted for the same delivery."""
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclasses.dataclass(frozen=True)
class Entry:
    """One record: ``state`` is ``sending`` (about to send) or ``sent``."""

    state: Literal["sending", "sent"]
    fingerprint: str
    invoice_id: int | str
    status_before: str | None
    try_number: int | None
    at: str

    @classmethod
    def load(cls, value: Any) -> Entry | None:
        """The entry stored as ``value``, or ``None`` if it is not one of ours."""
        if not isinstance(value, dict) or value.get("state") not in ("sending", "sent"):
            return None
        fields: dict[str, Any] = {f.name: value.get(f.name) for f in dataclasses.fields(cls)}
        return cls(**fields)


class Ledger:
    """The delivery record of one task instance, for one delivery fingerprint."""

    def __init__(self, store: StateStore, fingerprint: str, invoice_id: int | str, try_number: int | None) -> None:
        self._store = store
        self.fingerprint = fingerprint
        self.invoice_id = invoice_id
        self.try_number = try_number

    def read(self) -> Entry | None:
        """The record left by an earlier try of this delivery, if any."""
        entry = Entry.load(self._store.get(LEDGER_KEY))
        if entry is None or entry.fingerprint != self.fingerprint:
            return None
        return entry

    def _write(self, state: Literal["sending", "sent"], status_before: str | None) -> None:
        entry = Entry(
            state=state,
            fingerprint=self.fingerprint,
            invoice_id=self.invoice_id,
            status_before=status_before,
            try_number=self.try_number,
            at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        )
        self._store.set(LEDGER_KEY, dataclasses.asdict(entry))

    def mark_sending(self, status_before: str | None) -> None:
        """Record "about to send", with the invoice's status just before."""
        self._write("sending", status_before)

    def mark_sent(self, status_before: str | None = None) -> None:
        """Record "sent"."""
        self._write("sent", status_before)

    def forget(self) -> None:
        """Remove the record (nothing was sent, so a later try starts afresh)."""
        self._store.delete(LEDGER_KEY)


Decision = Literal["delivered", "not_delivered", "cannot_tell"]


def resolve(status_before: str | None, status_now: str | None) -> Decision:
    """Did the earlier try deliver, judging by the invoice's status before it and now?

    An invoice that was a draft (or printed) and is now sent, paid or unpaid was delivered; one that
    is still a draft or printed was not. When the status before was already "sent" (a copy or a
    duplicate of an invoice that went out before) or a status is unknown, the status cannot tell.
    """
    if status_before in UNDELIVERED_STATUSES:
        if status_now in DELIVERED_STATUSES:
            return "delivered"
        if status_now in UNDELIVERED_STATUSES:
            return "not_delivered"
    return "cannot_tell"
