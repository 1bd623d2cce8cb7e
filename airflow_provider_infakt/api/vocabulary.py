"""The words inFakt understands, one vocabulary over API v2 and v3, and the checks that guard them.

Operators speak the seed document's words (``type=mail``, ``doc_type=KOPIA``); the client translates
them for v3 (``deliver_via_email``, ``print_type=copy``). Every ``validate_*`` function returns the
value in its canonical form or raises :class:`~airflow_provider_infakt.api.errors.InfaktValidationError`
whose message names the field, shows the value, lists what is allowed and suggests the near miss
(``kopia`` -> ``did you mean 'KOPIA'?``). E-mail addresses are personal data: they are masked in
messages (``j***@example.com``), in whichever field they were given; a value that is no address is
shown as typed, so that the mistake can be seen.

This module imports nothing but the standard library (and :mod:`airflow_provider_infakt.types`).
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import string
import unicodedata
import uuid
from collections.abc import Mapping, Sequence
from typing import Final, cast

# The Literal types live with the operators' argument types (stdlib only, cheap for DAG files).
from airflow_provider_infakt.types import ApiVersion, DeliveryType, DocType, Format, Locale, PrintType, Status

from .errors import InfaktValidationError, looks_like_address, redact_text

__all__ = [
    "API_VERSIONS",
    "DELIVERY_TYPES",
    "DOC_TYPES",
    "DOC_TYPE_TO_PRINT_TYPE",
    "FORMATS",
    "LOCALES",
    "PRINT_TYPES",
    "STATUSES",
    "STATUS_REACHED_BY",
    "V2_STATUSES",
    "V3_STATUSES",
    "ApiVersion",
    "DeliveryType",
    "DocType",
    "Format",
    "Locale",
    "PrintType",
    "Status",
    "describe_wait",
    "normalize_status",
    "print_type_for",
    "status_query_value",
    "statuses_accepted",
    "validate_api_version",
    "validate_delivery_type",
    "validate_doc_type",
    "validate_format",
    "validate_invoice_id",
    "validate_locale",
    "validate_recipient",
    "validate_send_copy",
    "validate_status",
]


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
#: What waiting for a status accepts: the status itself and every later one. An invoice goes from
#: ``draft`` to ``sent`` (e-mailed), ``printed`` (its PDF taken) or ``unpaid`` (API v2: issued, not
#: paid), and then to ``paid``; those three are alternatives, none of them implies another. ``draft``
#: accepts only itself: every invoice has been a draft, so "draft or later" would match any invoice.
STATUS_REACHED_BY: Final[Mapping[Status, tuple[Status, ...]]] = {
    "draft": ("draft",),
    "sent": ("sent", "paid"),
    "printed": ("printed", "paid"),
    "unpaid": ("unpaid", "paid"),
    "paid": ("paid",),
}

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
_NEGATIVE = re.compile(r"-\s*[0-9]+")
#: ``[1, 2]`` or ``(1, 2)``: a list of ids as plain Jinja renders it.
_LIST_TEXT = re.compile(r"[\[(]\s*['\"]?[0-9]+['\"]?\s*(,\s*['\"]?[0-9]+['\"]?\s*)*,?\s*[\])]")
_ONE_PER_TASK = (
    "one task handles one invoice; for several, map the task over them: Operator.partial(...).expand(invoice_id=[...])"
)
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _masked(value: object) -> object:
    """``value`` with any e-mail address in it masked (an address typed into the wrong field is personal
    data all the same): text masked; another object holding an address replaced by its masked repr."""
    if isinstance(value, str):
        return redact_text(value)
    if looks_like_address(repr(value)):
        return redact_text(repr(value))
    return value


def _shown(value: object) -> str:
    """``value`` as a message shows it: repr, with any e-mail address in it masked."""
    return redact_text(repr(value))


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
    message = f"invalid {field} {_shown(value)}: allowed values are {_quote_all(allowed)}"
    if note:
        message += f" ({note})"
    if suggestion is not None:
        message += f"; did you mean {suggestion!r}?"
    return InfaktValidationError(message, field=field, value=_masked(value), allowed=allowed, suggestion=suggestion)


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
    """Return the delivery ``type``: ``"mail"`` (e-mail) or ``"post"`` (traditional post).

    :param value: the rendered ``type``.
    :raises InfaktValidationError: when ``value`` is not allowed; the message names the allowed values.
    """
    aliases = {"email": "mail", "e-mail": "mail", "poczta": "post"}
    return cast(DeliveryType, _choice("type", value, DELIVERY_TYPES, aliases=aliases))


def validate_doc_type(value: object, api_version: ApiVersion = "v2") -> DocType | PrintType:
    """Return the document type to deliver, in the seed's words (``org``, ``KOPIA``, ``org_kop``,
    ``d_org``, ``d_kop``).

    On v3 a v3 ``print_type`` (``original``, ``copy``, ...) is accepted as is, and ``org_kop`` is refused
    because v3 has no e-mail equivalent. On v2 a v3 word is refused with the seed word it stands for as
    the suggestion (``copy`` -> ``KOPIA``).

    :param value: the rendered ``doc_type``.
    :param api_version: the API the document is delivered on: ``v2`` or ``v3``.
    :raises InfaktValidationError: when ``value`` is not allowed; the message names the allowed values.
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


def print_type_for(doc_type: str) -> PrintType:
    """Return the v3 ``print_type`` for a document type given in the seed's words or as a print type.

    Raises :class:`InfaktValidationError` for ``org_kop`` (no v3 e-mail equivalent) and unknown words.
    """
    if doc_type in DOC_TYPE_TO_PRINT_TYPE:
        return DOC_TYPE_TO_PRINT_TYPE[doc_type]
    return cast(PrintType, validate_doc_type(doc_type, "v3"))


def validate_locale(value: object) -> Locale:
    """Return the v3 e-mail ``locale``: ``"pl"``, ``"en"`` or ``"pe"`` (Polish and English).

    :param value: the rendered ``locale``.
    :raises InfaktValidationError: when ``value`` is not allowed; the message names the allowed values.
    """
    return cast(Locale, _choice("locale", value, LOCALES))


def validate_send_copy(value: object) -> bool:
    """Return ``value`` as a bool (v3 ``send_copy``: also send a copy to the account owner).

    Accepted: True, False, and the texts ``'True'`` and ``'False'`` (any case), which is how plain
    Jinja (without ``render_template_as_native_obj``) renders a bool.

    :param value: the rendered ``send_copy``.
    :raises InfaktValidationError: when ``value`` is neither.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InfaktValidationError(
        f"invalid send_copy {_shown(value)}: allowed values are True, False",
        field="send_copy",
        value=value,
        allowed=("True", "False"),
    )


def validate_status(value: object) -> Status:
    """Return a normalized status (``draft``, ``sent``, ``printed``, ``paid``, ``unpaid``).

    The API's own words are refused with the normalized word as the suggestion
    (``zapłacona`` -> ``paid``), so that one vocabulary serves both API versions.

    :param value: the status asked for.
    :raises InfaktValidationError: when ``value`` is not allowed; the message names the allowed values.
    """
    aliases = {**V2_STATUSES, "zaplacona": "paid", "niezaplacona": "unpaid", "wyslana": "sent"}
    return cast(Status, _choice("status", value, STATUSES, aliases=aliases))


def statuses_accepted(targets: Sequence[Status], exact: bool = False) -> tuple[Status, ...]:
    """The statuses that end a wait for ``targets``, in :data:`STATUSES` order.

    Each target accepts itself and every later status (:data:`STATUS_REACHED_BY`): waiting for
    ``sent`` is over when the invoice is ``sent`` or already ``paid``. With ``exact``, only the targets
    themselves.

    :param targets: normalized statuses (see :func:`validate_status`).
    :param exact: accept only the targets, not the statuses after them.
    """
    accepted = set(targets) if exact else {status for target in targets for status in STATUS_REACHED_BY[target]}
    return tuple(status for status in STATUSES if status in accepted)


def describe_wait(targets: Sequence[Status], exact: bool = False) -> str:
    """What a wait is for, as messages say it: ``sent (or later: paid)``, ``exactly sent``.

    :param targets: normalized statuses.
    :param exact: whether only the targets themselves end the wait.
    """
    asked = " or ".join(targets)
    if exact:
        return f"exactly {asked}"
    later = [status for status in statuses_accepted(targets) if status not in targets]
    return f"{asked} (or later: {', '.join(later)})" if later else asked


def normalize_status(raw: object, api_version: ApiVersion | None = None) -> Status | None:
    """Return the normalized status for a status word as the API sent it, or None when unknown.

    With ``api_version`` None, both v2 (Polish) and v3 words are understood.

    :param raw: the status word as the API sent it.
    :param api_version: the API that sent it, or None for either.
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

    :param value: the rendered ``invoice_id``.
    :param api_version: the API the invoice is read or delivered on: ``v2`` or ``v3``.
    :raises InfaktValidationError: when ``value`` is not an invoice reference.
    """
    allowed_text = (
        f"a positive integer (at most {_MAX_ID_DIGITS} digits, up to {MAX_INVOICE_ID}) or a string of digits"
        + (", or an invoice uuid" if api_version == "v3" else "")
    )
    shown, cut = _shown_id(value)

    def refuse(reason: str) -> InfaktValidationError:
        return InfaktValidationError(
            f"invalid invoice_id {redact_text(shown)}: {reason}; expected {allowed_text}",
            field="invoice_id",
            value=redact_text(shown) if cut else _masked(value),
        )

    if isinstance(value, bool):
        raise refuse("a bool is not an invoice id")
    if isinstance(value, int):
        if value <= 0:
            raise refuse("invoice ids are greater than zero")
        if value > MAX_INVOICE_ID:
            raise refuse("too large for an invoice id")
        return value
    if isinstance(value, list | tuple | set | frozenset):
        raise refuse(f"a {type(value).__name__} is not an invoice id ({_ONE_PER_TASK})")
    if isinstance(value, str):
        text = value.strip()
        if _NEGATIVE.fullmatch(text):
            raise refuse("invoice ids are greater than zero")
        if _LIST_TEXT.fullmatch(text):
            raise refuse(f"this is a list rendered as text, not an invoice id ({_ONE_PER_TASK})")
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


# -- e-mail addresses --------------------------------------------------------------------------------
#: RFC 5321 4.5.3.1: a path is at most 256 octets with its angle brackets, a local part at most 64.
_MAX_ADDRESS_OCTETS = 254
_MAX_LOCAL_OCTETS = 64
#: RFC 1035 2.3.4: 255 octets on the wire is 253 characters written out; a label is at most 63.
_MAX_DOMAIN_OCTETS = 253
_MAX_LABEL_OCTETS = 63
#: RFC 5322 3.2.3 ``atext``: what a dot-atom local part may hold besides dots.
_ATEXT = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~")
#: Letters, digits, hyphen: the characters of a host name label (RFC 952, 1123).
_LDH = frozenset(string.ascii_letters + string.digits + "-")
#: Unicode categories allowed in an internationalized label: letters, combining marks, decimal digits.
_U_LABEL_CATEGORIES = frozenset({"Ll", "Lo", "Lm", "Mn", "Mc", "Nd"})
_LINE_BREAKS = frozenset("\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
#: How much of a refused value a message shows.
_SHOWN_LENGTH = 80


def _char(ch: str) -> str:
    """``'\u200b' (U+200B ZERO WIDTH SPACE)``: a character as a message names it."""
    name = unicodedata.name(ch, "")
    return f"{ch!r} (U+{ord(ch):04X}{' ' + name if name else ''})"


def _cut(text: str) -> str:
    """``text`` as repr, cut to a readable length."""
    if len(text) <= _SHOWN_LENGTH:
        return repr(text)
    return f"{text[:_SHOWN_LENGTH]!r}... ({len(text)} characters)"


def _shown_recipient(value: str) -> str:
    """``value`` as a message shows it: masked when it looks like an address (``j***@example.com``; the
    domain stays visible, being where most mistakes are), as typed otherwise, so that a template that
    rendered ``'None'`` or a customer number is seen for what it is."""
    if not looks_like_address(value):
        return value
    local, at, rest = value.partition("@")
    if not at:  # '%40', a full-width at sign, ... instead of '@'
        return redact_text(value)
    return local[:1] + "***@" + redact_text(rest)


def _text_problem(value: str) -> str | None:
    """What is wrong with ``value`` as text: empty, line breaks, control or invisible characters,
    whitespace around it (whitespace inside is left to :func:`_address_problem`)."""
    if not value.strip():
        return "it is empty"
    for ch in value:
        category = unicodedata.category(ch)
        if ch in _LINE_BREAKS:
            return f"it contains a line break {_char(ch)}"
        if category == "Cc" and not ch.isspace():
            return f"it contains a control character {_char(ch)}"
        if category == "Cf":
            return f"it contains an invisible character {_char(ch)}, as copying from a document often adds"
        if category in ("Cs", "Co", "Cn"):
            return f"it contains {_char(ch)}, which is not a character an address can hold"
    if value != value.strip():
        return "it has leading or trailing whitespace"
    return None


def _local_part_problem(local: str) -> str | None:
    """What is wrong with ``local`` as an RFC 5322 dot-atom (quoted strings are refused earlier)."""
    if not local:
        return "the local part (before '@') is empty"
    for ch in local:
        if not ch.isascii():
            return (
                f"the local part contains {ch!r}, which is not ASCII: addresses whose local part is "
                "internationalized (RFC 6531) are not accepted"
            )
        if ch not in _ATEXT and ch != ".":
            return (
                f"the local part contains {ch!r}, which is not allowed there (letters, digits, dots and "
                "!#$%&'*+-/=?^_`{|}~)"
            )
    if local.startswith("."):
        return "the local part starts with a dot"
    if local.endswith("."):
        return "the local part ends with a dot"
    if ".." in local:
        return "the local part has two dots in a row"
    if len(local) > _MAX_LOCAL_OCTETS:
        return f"the local part is longer than {_MAX_LOCAL_OCTETS} octets ({len(local)})"
    return None


def _u_label_problem(label: str) -> str | None:
    """What is wrong with an internationalized label (lower-cased) as an IDNA 2008 U-label, in the
    conservative subset this module accepts."""
    if unicodedata.normalize("NFC", label) != label:
        return f"the domain label {label!r} is not in Unicode normal form NFC"
    for ch in label:
        if unicodedata.normalize("NFKC", ch) != ch:
            return (
                f"the domain label {label!r} contains {_char(ch)}, a compatibility character (full-width "
                "or ligature) that IDNA 2008 does not allow; type the plain letter"
            )
        if ch not in _LDH and unicodedata.category(ch) not in _U_LABEL_CATEGORIES:
            return f"the domain label {label!r} contains {_char(ch)}, which is not allowed in a domain name"
    if unicodedata.category(label[0]).startswith("M"):
        return f"the domain label {label!r} starts with a combining mark"
    if label[2:4] == "--":
        return f"the domain label {label!r} has '--' in its third and fourth places, which IDNA reserves"
    return None


def _label_problem(label: str, domain: str) -> tuple[str | None, str]:
    """(what is wrong with one domain label, the label in ASCII form)."""
    if label.isascii():
        for ch in label:
            if ch not in _LDH:
                return (
                    f"the domain {_cut(domain)} contains {ch!r}, which is not allowed in a host name "
                    "(letters, digits and '-', in labels separated by dots)"
                ), label
        ascii_label = label
    else:
        lower = label.lower()
        problem = _u_label_problem(lower)
        if problem:
            return problem, label
        ascii_label = "xn--" + lower.encode("punycode").decode("ascii")
    if label.startswith("-"):
        return f"the domain label {_cut(label)} starts with '-'", label
    if label.endswith("-"):
        return f"the domain label {_cut(label)} ends with '-'", label
    if len(ascii_label) > _MAX_LABEL_OCTETS:
        in_ascii = "" if label.isascii() else " in its ASCII form"
        return (
            f"the domain label {_cut(label)} is longer than {_MAX_LABEL_OCTETS} characters{in_ascii} "
            f"({len(ascii_label)})"
        ), label
    if label.isascii() and label[:4].lower() == "xn--":
        try:
            decoded = label[4:].lower().encode("ascii").decode("punycode")
        except UnicodeError:
            decoded = ""
        if (
            not decoded
            or decoded.isascii()
            or decoded.encode("punycode").decode("ascii") != label[4:].lower()
            or _u_label_problem(decoded) is not None
        ):
            return f"the domain label {label!r} is not a valid IDNA (punycode) label", label
    return None, ascii_label


def _domain_problem(domain: str) -> tuple[str | None, str]:
    """(what is wrong with ``domain`` as a host name, the domain in ASCII form)."""
    shown = _cut(domain)
    if not domain:
        return "the domain (after '@') is empty", domain
    if domain.startswith("["):
        return (
            f"the domain {shown} is an IP address literal; give an address at a host name (IP literals "
            "are not accepted)"
        ), domain
    try:
        ipaddress.ip_address(domain)
    except ValueError:
        pass
    else:
        return f"the domain {shown} is an IP address; give an address at a host name", domain
    if domain.endswith("."):
        return f"the domain {shown} ends with a dot", domain
    labels = domain.split(".")
    ascii_labels = []
    for label in labels:
        if not label:
            return f"the domain {shown} has an empty label", domain
        problem, ascii_label = _label_problem(label, domain)
        if problem:
            return problem, domain
        ascii_labels.append(ascii_label)
    if len(labels) < 2:
        return f"the domain {shown} has no dot; an e-mail domain ends in a top-level domain (example.com)", domain
    tld = labels[-1]
    if tld.isascii() and tld.isdigit():
        return f"the top-level domain {tld!r} is all digits", domain
    if tld.isascii() and len(tld) < 2:
        return f"the top-level domain {tld!r} is one character long", domain
    ascii_domain = ".".join(ascii_labels)
    if len(ascii_domain) > _MAX_DOMAIN_OCTETS:
        return f"the domain is longer than {_MAX_DOMAIN_OCTETS} characters in its ASCII form", domain
    return None, ascii_domain


def _address_problem(value: str) -> str | None:
    """What is wrong with ``value`` as one e-mail address, or None."""
    problem = _text_problem(value)
    if problem:
        return problem
    if "," in value or ";" in value:
        return "only one address may be given (it contains ',' or ';')"
    if '"' in value:
        return 'quoted local parts ("jan kowalski"@example.com) are not supported'
    if "<" in value or ">" in value:
        return "it contains '<' or '>'; give the bare address, not 'Name <address>'"
    for ch in value:
        if ch.isspace():
            return f"it contains whitespace {_char(ch)}"
    at_signs = value.count("@")
    if at_signs == 0:
        if "\uff20" in value:
            return "it has a full-width '\uff20' (U+FF20) instead of '@'"
        if "%40" in value:
            return "it has no '@' but a percent-encoded one ('%40'); give the address decoded"
        return "it has no '@'"
    if at_signs > 1:
        return f"only one address may be given, and it has {at_signs} '@'"
    if len(value) > _MAX_ADDRESS_OCTETS:
        return f"it is longer than {_MAX_ADDRESS_OCTETS} characters ({len(value)})"
    local, _, domain = value.partition("@")
    problem = _local_part_problem(local)
    if problem:
        return problem
    problem, ascii_domain = _domain_problem(domain)
    if problem:
        return problem
    octets = len(local) + 1 + len(ascii_domain)
    if octets > _MAX_ADDRESS_OCTETS:
        return (
            f"it is longer than {_MAX_ADDRESS_OCTETS} octets ({octets}) with the domain in its ASCII form, "
            "as mail servers see it"
        )
    return None


def validate_recipient(value: object) -> str:
    """Return ``value`` unchanged if it is one e-mail address that mail servers accept; otherwise raise
    :class:`InfaktValidationError` saying exactly what is wrong.

    Accepted: ``local@domain`` where

    - the local part is an RFC 5322 dot-atom: ASCII letters, digits and ``!#$%&'*+-/=?^_`{|}~``,
      dots between them (not first, last or doubled), at most 64 octets. Quoted local parts
      (``"jan kowalski"@example.com``) are refused: they are legal but rare, and inFakt's own check
      is not known to take them. Non-ASCII local parts (RFC 6531) are refused as well: they need
      SMTPUTF8 on every mail server along the way.
    - the domain is a host name of at least two labels: letters, digits and ``-`` (not first or
      last), 1 to 63 characters each, at most 253 in all; the top-level label is not all digits nor
      one character. IP addresses and ``[IP literals]`` are refused.
    - internationalized domains are accepted (``jan@zażółć.pl``): each non-ASCII label must be an
      IDNA 2008 U-label in a conservative reading (NFC; letters, combining marks, digits and ``-``
      only; no compatibility characters; no ``--`` in places 3-4); its length is checked in ASCII
      form, made with the standard library's RFC 3492 ``punycode`` codec. An ASCII label starting
      ``xn--`` must decode to such a label. The ``idna`` codec of the standard library is not used: it
      is IDNA 2003, whose nameprep silently rewrites what it is given (``straße`` -> ``strasse``,
      zero-width spaces dropped, upper case folded), so it would pass values that are not the address
      meant; the context rules of IDNA 2008 (RFC 5892 CONTEXTJ/CONTEXTO, RFC 5893 bidi) are not
      checked.
    - the whole address is at most 254 octets with the domain in ASCII form (RFC 5321).

    Refused as well: non-strings, empty strings, line breaks, control characters, invisible characters
    (zero-width spaces, byte-order marks, direction overrides), whitespace anywhere, more than one
    address (``,``, ``;``, a second ``@``), ``Name <address>``.

    The message names the field, shows the value, and says what is wrong (``the domain 'b..com' has an
    empty label``). A value that looks like an address is shown masked (``j***@example.com``); any
    other value is shown as typed, cut to 80 characters.

    :param value: the rendered ``recipient``.
    :returns: ``value``, unchanged.
    :raises InfaktValidationError: when ``value`` is not one acceptable address.
    """
    if not isinstance(value, str):
        raise InfaktValidationError(
            f"invalid recipient of type {type(value).__name__}: not a string; expected one e-mail address "
            "like name@example.com (or no recipient, to send to the address of the invoice's client)",
            field="recipient",
            value=None,
        )
    problem = _address_problem(value)
    if problem is None:
        return value
    shown = _shown_recipient(value)
    raise InfaktValidationError(
        f"invalid recipient {_cut(shown)}: {problem}; expected one e-mail address like name@example.com "
        "(or no recipient, to send to the address of the invoice's client)",
        field="recipient",
        value=shown,
    )
