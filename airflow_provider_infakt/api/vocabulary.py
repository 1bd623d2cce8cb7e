"""The words inFakt understands, one vocabulary over API v2 and v3, and the checks that guard them.

Operators speak the seed document's words (``type=mail``, ``doc_type=KOPIA``); the client translates
them for v3 (``deliver_via_email``, ``print_type=copy``). Every ``validate_*`` function returns the
value in its canonical form or raises :class:`~airflow_provider_infakt.api.errors.InfaktValidationError`
whose message names the field, shows the value, lists what is allowed and suggests the near miss
(``kopia`` -> ``did you mean 'KOPIA'?``). E-mail addresses are personal data: they are masked in
messages (``j***@example.com``).

This module imports nothing but the standard library.
"""

from __future__ import annotations

import difflib
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Final, Literal, cast

from .errors import InfaktValidationError, mask_email, redact_text

__all__ = [
    "API_VERSIONS",
    "DELIVERY_TYPES",
    "DOC_TYPES",
    "DOC_TYPE_TO_PRINT_TYPE",
    "FORMATS",
    "LOCALES",
    "PRINT_TYPES",
    "STATUSES",
    "V2_STATUSES",
    "V3_STATUSES",
    "ApiVersion",
    "DeliveryType",
    "DocType",
    "Format",
    "Locale",
    "PrintType",
    "Status",
    "normalize_status",
    "print_type_for",
    "status_query_value",
    "validate_api_version",
    "validate_delivery_type",
    "validate_doc_type",
    "validate_format",
    "validate_invoice_id",
    "validate_locale",
    "validate_print_type",
    "validate_recipient",
    "validate_send_copy",
    "validate_status",
]

ApiVersion = Literal["v2", "v3"]
Format = Literal["json", "xml"]
DeliveryType = Literal["mail", "post"]
DocType = Literal["org", "KOPIA", "org_kop", "d_org", "d_kop"]
PrintType = Literal["original", "copy", "original_duplicate", "copy_duplicate", "duplicate", "regular"]
Locale = Literal["pl", "en", "pe"]
Status = Literal["draft", "sent", "printed", "paid", "unpaid"]

API_VERSIONS: Final[tuple[ApiVersion, ...]] = ("v2", "v3")
FORMATS: Final[tuple[Format, ...]] = ("json", "xml")
#: ``type`` of the seed: ``mail`` (e-mail), ``post`` (traditional post).
DELIVERY_TYPES: Final[tuple[DeliveryType, ...]] = ("mail", "post")
#: ``doc_type`` of the seed: original, copy, original and copy, duplicate of original, duplicate of copy.
DOC_TYPES: Final[tuple[DocType, ...]] = ("org", "KOPIA", "org_kop", "d_org", "d_kop")
#: v3 ``print_type`` values.
PRINT_TYPES: Final[tuple[PrintType, ...]] = (
    "original",
    "copy",
    "original_duplicate",
    "copy_duplicate",
    "duplicate",
    "regular",
)
#: v3 ``locale`` values (``pe`` is Polish and English).
LOCALES: Final[tuple[Locale, ...]] = ("pl", "en", "pe")
#: Normalized invoice statuses, the same words on v2 and v3.
STATUSES: Final[tuple[Status, ...]] = ("draft", "sent", "printed", "paid", "unpaid")

#: The seed's ``doc_type`` -> v3 ``print_type``. ``org_kop`` has no v3 e-mail equivalent.
DOC_TYPE_TO_PRINT_TYPE: Final[Mapping[str, PrintType]] = {
    "org": "original",
    "KOPIA": "copy",
    "d_org": "original_duplicate",
    "d_kop": "copy_duplicate",
}
#: v2 status words (Polish) -> normalized status.
V2_STATUSES: Final[Mapping[str, Status]] = {
    "szkic": "draft",
    "wysłana": "sent",
    "wydrukowana": "printed",
    "zapłacona": "paid",
    "niezapłacona": "unpaid",
}
#: v3 status words -> normalized status (v3 has no "unpaid").
V3_STATUSES: Final[Mapping[str, Status]] = {
    "draft": "draft",
    "sent": "sent",
    "printed": "printed",
    "paid": "paid",
}

_ORG_KOP_ON_V3 = (
    "invalid doc_type 'org_kop' for API v3: v3 has no e-mail print type for 'original and copy' "
    "('original_copy' exists only for PDF downloads). Deliver 'org' and 'KOPIA' separately, or use "
    "API v2; allowed values on v3 are {allowed}"
)
_DIGITS = re.compile(r"[0-9]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# A plausible address: one "@", a local part and a dotted domain, no spaces, quotes, brackets or lists.
_EMAIL = re.compile(r"[^\s@,;:<>()\[\]\\\"]+@[^\s@,;:<>()\[\]\\\"]+\.[^\s@,;:<>()\[\]\\\".]{2,}")
_MAX_EMAIL_LENGTH = 254


def _quote_all(values: Sequence[str]) -> str:
    return ", ".join(repr(v) for v in values)


def _suggest(value: object, allowed: Sequence[str], aliases: Mapping[str, str] | None = None) -> str | None:
    """The allowed value ``value`` most likely meant: same letters in another case, a known alias, or
    the closest spelling (difflib)."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    for candidate in allowed:
        if candidate.lower() == text.lower():
            return candidate
    if aliases:
        for alias, target in aliases.items():
            if alias.lower() == text.lower():
                return target
    by_lower = {candidate.lower(): candidate for candidate in allowed}
    close = difflib.get_close_matches(text.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[close[0]] if close else None


def _refuse_choice(
    field: str,
    value: object,
    allowed: Sequence[str],
    *,
    aliases: Mapping[str, str] | None = None,
    note: str = "",
) -> InfaktValidationError:
    suggestion = _suggest(value, allowed, aliases)
    message = f"invalid {field} {value!r}: allowed values are {_quote_all(allowed)}"
    if note:
        message += f" ({note})"
    if suggestion is not None:
        message += f"; did you mean {suggestion!r}?"
    return InfaktValidationError(message, field=field, value=value, allowed=allowed, suggestion=suggestion)


def _choice(
    field: str,
    value: object,
    allowed: Sequence[str],
    *,
    aliases: Mapping[str, str] | None = None,
    note: str = "values are case-sensitive",
) -> str:
    if isinstance(value, str) and value in allowed:
        return value
    raise _refuse_choice(field, value, allowed, aliases=aliases, note=note)


def validate_api_version(value: object) -> ApiVersion:
    """Return ``value`` if it is ``"v2"`` or ``"v3"``; raise :class:`InfaktValidationError` otherwise."""
    return cast(ApiVersion, _choice("api_version", value, API_VERSIONS, aliases={"2": "v2", "3": "v3"}))


def validate_format(value: object, api_version: ApiVersion = "v2") -> Format:
    """Return the response format ``"json"`` or ``"xml"``; v3 serves JSON only, so ``"xml"`` is refused
    there."""
    fmt = cast(Format, _choice("format", value, FORMATS))
    if api_version == "v3" and fmt != "json":
        raise InfaktValidationError(
            f"invalid format {value!r}: API v3 answers in JSON only; allowed values are 'json'",
            field="format",
            value=value,
            allowed=("json",),
            suggestion="json",
        )
    return fmt


def validate_delivery_type(value: object) -> DeliveryType:
    """Return the delivery ``type``: ``"mail"`` (e-mail) or ``"post"`` (traditional post)."""
    aliases = {"email": "mail", "e-mail": "mail", "poczta": "post"}
    return cast(DeliveryType, _choice("type", value, DELIVERY_TYPES, aliases=aliases))


def validate_doc_type(value: object, api_version: ApiVersion = "v2") -> DocType | PrintType:
    """Return the document type to deliver, in the seed's words (``org``, ``KOPIA``, ``org_kop``,
    ``d_org``, ``d_kop``).

    On v3 a v3 ``print_type`` (``original``, ``copy``, ...) is accepted as is, and ``org_kop`` is refused
    because v3 has no e-mail equivalent. On v2 a v3 word is refused with the seed word it stands for as
    the suggestion (``copy`` -> ``KOPIA``).
    """
    to_seed: dict[str, str] = {print_type: doc for doc, print_type in DOC_TYPE_TO_PRINT_TYPE.items()}
    if api_version == "v3":
        allowed_v3: tuple[str, ...] = (*DOC_TYPE_TO_PRINT_TYPE, *PRINT_TYPES)
        if value == "org_kop":
            raise InfaktValidationError(
                _ORG_KOP_ON_V3.format(allowed=_quote_all(allowed_v3)),
                field="doc_type",
                value=value,
                allowed=allowed_v3,
            )
        return cast("DocType | PrintType", _choice("doc_type", value, allowed_v3))
    return cast(DocType, _choice("doc_type", value, DOC_TYPES, aliases=to_seed))


def validate_print_type(value: object) -> PrintType:
    """Return a v3 ``print_type`` (``original``, ``copy``, ``original_duplicate``, ...)."""
    aliases: dict[str, str] = dict(DOC_TYPE_TO_PRINT_TYPE)
    return cast(PrintType, _choice("print_type", value, PRINT_TYPES, aliases=aliases))


def print_type_for(doc_type: str) -> PrintType:
    """Return the v3 ``print_type`` for a document type given in the seed's words or as a print type.

    Raises :class:`InfaktValidationError` for ``org_kop`` (no v3 e-mail equivalent) and unknown words.
    """
    if doc_type in DOC_TYPE_TO_PRINT_TYPE:
        return DOC_TYPE_TO_PRINT_TYPE[doc_type]
    return cast(PrintType, validate_doc_type(doc_type, "v3"))


def validate_locale(value: object) -> Locale:
    """Return the v3 e-mail ``locale``: ``"pl"``, ``"en"`` or ``"pe"`` (Polish and English)."""
    return cast(Locale, _choice("locale", value, LOCALES))


def validate_send_copy(value: object) -> bool:
    """Return ``value`` if it is a bool (v3 ``send_copy``: also send a copy to the account owner)."""
    if isinstance(value, bool):
        return value
    raise InfaktValidationError(
        f"invalid send_copy {value!r}: allowed values are True, False",
        field="send_copy",
        value=value,
        allowed=("True", "False"),
    )


def validate_status(value: object) -> Status:
    """Return a normalized status (``draft``, ``sent``, ``printed``, ``paid``, ``unpaid``).

    The API's own words are refused with the normalized word as the suggestion
    (``zapłacona`` -> ``paid``), so that one vocabulary serves both API versions.
    """
    aliases = {**V2_STATUSES, "zaplacona": "paid", "niezaplacona": "unpaid", "wyslana": "sent"}
    return cast(Status, _choice("status", value, STATUSES, aliases=aliases))


def normalize_status(raw: object, api_version: ApiVersion | None = None) -> Status | None:
    """Return the normalized status for a status word as the API sent it, or None when unknown.

    With ``api_version`` None, both v2 (Polish) and v3 words are understood.
    """
    if not isinstance(raw, str):
        return None
    if api_version in (None, "v2") and raw in V2_STATUSES:
        return V2_STATUSES[raw]
    if api_version in (None, "v3") and raw in V3_STATUSES:
        return V3_STATUSES[raw]
    return None


def status_query_value(status: object, api_version: ApiVersion) -> str:
    """Return the word the API's list filter expects for a normalized ``status``.

    v2 wants the Polish word; v3 its own word. ``unpaid`` does not exist on v3 and is refused.
    """
    normalized = validate_status(status)
    if api_version == "v2":
        return next(raw for raw, norm in V2_STATUSES.items() if norm == normalized)
    if normalized == "unpaid":
        raise InfaktValidationError(
            "invalid status 'unpaid' for API v3: v3 has no 'unpaid' status (an unpaid invoice is 'sent' or "
            "'printed'); allowed values are 'draft', 'sent', 'printed', 'paid'",
            field="status",
            value=status,
            allowed=tuple(V3_STATUSES),
        )
    return normalized


#: The largest invoice id accepted: inFakt's ids are (at most) signed 64-bit integers.
MAX_INVOICE_ID: Final = 2**63 - 1
_MAX_ID_DIGITS: Final = 19


def _shown_id(value: object) -> tuple[str, bool]:
    """(``repr(value)`` for a message cut to 40 characters, whether it was cut); safe for any int
    (``repr`` of an int over Python's int-string conversion limit raises ValueError)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"<an integer of {value.bit_length()} bits>", True
    text = repr(value)
    return (text, False) if len(text) <= 40 else (f"{text[:40]}... ({len(text)} characters)", True)


def validate_invoice_id(value: object, api_version: ApiVersion = "v2") -> int | str:
    """Return an invoice reference: a positive int, or on v3 also an invoice uuid (lower-cased string).

    Accepted: a positive int up to :data:`MAX_INVOICE_ID` (at most 19 digits), a string of at most 19
    ASCII digits (returned as int; surrounding whitespace is ignored), and on v3 a uuid string.
    Refused: bool, float, zero, negative numbers, larger numbers and anything else; the message shows
    the value cut to 40 characters.
    """
    allowed_text = (
        f"a positive integer (at most {_MAX_ID_DIGITS} digits, up to {MAX_INVOICE_ID}) or a string of digits"
        + (", or an invoice uuid" if api_version == "v3" else "")
    )
    shown, cut = _shown_id(value)

    def refuse(reason: str) -> InfaktValidationError:
        return InfaktValidationError(
            f"invalid invoice_id {shown}: {reason}; expected {allowed_text}",
            field="invoice_id",
            value=shown if cut else value,
        )

    if isinstance(value, bool):
        raise refuse("a bool is not an invoice id")
    if isinstance(value, int):
        if value <= 0:
            raise refuse("invoice ids are greater than zero")
        if value > MAX_INVOICE_ID:
            raise refuse("too large for an invoice id")
        return value
    if isinstance(value, str):
        text = value.strip()
        if _DIGITS.fullmatch(text):
            if len(text.lstrip("0")) > _MAX_ID_DIGITS:  # int() would refuse past Python's digit limit
                raise refuse("too large for an invoice id")
            number = int(text)
            if number <= 0:
                raise refuse("invoice ids are greater than zero")
            if number > MAX_INVOICE_ID:
                raise refuse("too large for an invoice id")
            return number
        if _UUID.fullmatch(text):
            if api_version == "v3":
                return str(uuid.UUID(text))
            raise refuse("API v2 knows invoices by numeric id only; a uuid works on v3")
        raise refuse("not a number")
    raise refuse(f"a {type(value).__name__} is not an invoice id")


def _shown_address(value: str) -> str:
    """``value`` for a message: the local part hidden (``j***@example.com``), any further address in it
    masked too, control characters escaped by repr."""
    if "@" not in value:
        return repr(mask_email(value))
    local, _, rest = value.partition("@")
    return repr(local[:1] + "***@" + redact_text(rest))


def validate_recipient(value: object) -> str:
    """Return ``value`` if it is one plausible e-mail address; the message on refusal masks it.

    Refused: non-strings, empty strings, anything with a line break or other control character, more
    than one address, addresses over 254 characters, and strings that do not look like
    ``name@domain.tld``.
    """

    def refuse(reason: str) -> InfaktValidationError:
        shown = _shown_address(value) if isinstance(value, str) else f"of type {type(value).__name__}"
        masked = mask_email(value) if isinstance(value, str) else None
        return InfaktValidationError(
            f"invalid recipient {shown}: {reason}; expected one e-mail address like name@example.com "
            "(or no recipient, to send to the address of the invoice's client)",
            field="recipient",
            value=masked,
        )

    if not isinstance(value, str):
        raise refuse("not a string")
    if not value.strip():
        raise refuse("it is empty")
    if "\r" in value or "\n" in value:
        raise refuse("it contains a line break (CR or LF)")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise refuse("it contains a control character")
    if value.count("@") > 1 or any(sep in value for sep in ",;"):
        raise refuse("only one address may be given")
    if len(value) > _MAX_EMAIL_LENGTH:
        raise refuse(f"it is longer than {_MAX_EMAIL_LENGTH} characters")
    if not _EMAIL.fullmatch(value):
        raise refuse("it is not a plausible e-mail address")
    return value
