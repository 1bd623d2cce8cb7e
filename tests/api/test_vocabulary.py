"""Vocabulary: canonical values pass, everything else is refused with a message that helps."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_infakt.api import errors, vocabulary
from airflow_provider_infakt.api.errors import InfaktValidationError
from airflow_provider_infakt.api.vocabulary import (
    DOC_TYPE_TO_PRINT_TYPE,
    normalize_status,
    print_type_for,
    status_query_value,
    validate_api_version,
    validate_delivery_type,
    validate_doc_type,
    validate_format,
    validate_invoice_id,
    validate_locale,
    validate_recipient,
    validate_send_copy,
    validate_status,
)


def test_the_sets_are_the_documented_ones():
    assert vocabulary.DELIVERY_TYPES == ("mail", "post")
    assert vocabulary.DOC_TYPES == ("org", "KOPIA", "org_kop", "d_org", "d_kop")
    assert vocabulary.PRINT_TYPES == (
        "original",
        "copy",
        "original_duplicate",
        "copy_duplicate",
        "duplicate",
        "regular",
    )
    assert vocabulary.LOCALES == ("pl", "en", "pe")
    assert vocabulary.STATUSES == ("draft", "sent", "printed", "paid", "unpaid")
    assert dict(DOC_TYPE_TO_PRINT_TYPE) == {
        "org": "original",
        "KOPIA": "copy",
        "d_org": "original_duplicate",
        "d_kop": "copy_duplicate",
    }


@pytest.mark.parametrize(
    ("validate", "field", "bad", "allowed"),
    [
        (validate_delivery_type, "type", "smail", ("mail", "post")),
        (validate_doc_type, "doc_type", "kopia", vocabulary.DOC_TYPES),
        (validate_locale, "locale", "de", vocabulary.LOCALES),
        (validate_status, "status", "payed", vocabulary.STATUSES),
        (validate_api_version, "api_version", "v4", ("v2", "v3")),
    ],
)
def test_every_refusal_names_field_value_and_allowed_set(validate, field, bad, allowed):
    with pytest.raises(InfaktValidationError) as caught:
        validate(bad)
    message = str(caught.value)
    assert field in message
    assert repr(bad) in message
    for value in allowed:
        assert repr(value) in message
    assert caught.value.field == field
    assert caught.value.allowed == tuple(allowed)
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, errors.InfaktError)


@pytest.mark.parametrize(
    ("validate", "bad", "suggestion"),
    [
        (validate_doc_type, "kopia", "KOPIA"),  # the seed's own error example
        (validate_doc_type, "ORG", "org"),
        (validate_doc_type, "d_orgg", "d_org"),
        (validate_doc_type, "copy", "KOPIA"),  # a v3 word on v2
        (validate_delivery_type, "smail", "mail"),  # the seed's JSON error example
        (validate_delivery_type, "email", "mail"),
        (validate_delivery_type, "Post", "post"),
        (validate_locale, "PL", "pl"),
        (validate_status, "zapłacona", "paid"),
        (validate_status, "Paid", "paid"),
    ],
)
def test_near_misses_get_a_suggestion(validate, bad, suggestion):
    with pytest.raises(InfaktValidationError) as caught:
        validate(bad)
    assert caught.value.suggestion == suggestion
    assert f"did you mean {suggestion!r}?" in str(caught.value)


def test_no_suggestion_for_nonsense():
    with pytest.raises(InfaktValidationError) as caught:
        validate_doc_type("zzzzzzzz")
    assert caught.value.suggestion is None
    assert "did you mean" not in str(caught.value)


@pytest.mark.parametrize("value", [None, 1, ["org"], b"org"])
def test_non_strings_are_refused(value):
    with pytest.raises(InfaktValidationError):
        validate_doc_type(value)


def test_canonical_values_pass_unchanged():
    assert validate_delivery_type("post") == "post"
    for doc in vocabulary.DOC_TYPES:
        assert validate_doc_type(doc) == doc
    assert validate_locale("pe") == "pe"
    assert validate_status("unpaid") == "unpaid"
    assert validate_send_copy(False) is False


def test_org_kop_is_refused_on_v3_with_an_explanation():
    assert validate_doc_type("org_kop", "v2") == "org_kop"
    with pytest.raises(InfaktValidationError) as caught:
        validate_doc_type("org_kop", "v3")
    message = str(caught.value)
    assert "org_kop" in message and "v3" in message
    assert "original_copy" in message and "PDF" in message
    assert "'KOPIA'" in message  # the allowed set is listed
    with pytest.raises(InfaktValidationError):
        print_type_for("org_kop")


def test_v3_accepts_seed_words_and_print_types():
    assert validate_doc_type("KOPIA", "v3") == "KOPIA"
    assert validate_doc_type("duplicate", "v3") == "duplicate"
    assert print_type_for("KOPIA") == "copy"
    assert print_type_for("d_kop") == "copy_duplicate"
    assert print_type_for("regular") == "regular"
    with pytest.raises(InfaktValidationError):
        validate_doc_type("duplicate", "v2")


def test_format_xml_is_v2_only():
    assert validate_format("xml", "v2") == "xml"
    with pytest.raises(InfaktValidationError, match="JSON only"):
        validate_format("xml", "v3")
    with pytest.raises(InfaktValidationError, match="did you mean 'json'"):
        validate_format("JSON")


@pytest.mark.parametrize(
    ("value", "version", "expected"),
    [
        (7, "v2", 7),
        ("7", "v2", 7),
        (" 42 ", "v2", 42),
        ("007", "v3", 7),
        ("3F2504E0-4F89-11D3-9A0C-0305E82C3301", "v3", "3f2504e0-4f89-11d3-9a0c-0305e82c3301"),
    ],
)
def test_invoice_ids_accepted(value, version, expected):
    assert validate_invoice_id(value, version) == expected


@pytest.mark.parametrize(
    ("value", "version", "fragment"),
    [
        (True, "v2", "bool"),
        (False, "v3", "bool"),
        (1.0, "v2", "float"),
        (0, "v2", "greater than zero"),
        (-3, "v3", "greater than zero"),
        ("0", "v2", "greater than zero"),
        ("-3", "v2", "invoice ids are greater than zero"),
        ("1e3", "v2", "not a number"),
        ("", "v2", "not a number"),
        ("١٢", "v2", "not a number"),  # non-ASCII digits
        ("3f2504e0-4f89-11d3-9a0c-0305e82c3301", "v2", "v2"),
        ("not-a-uuid", "v3", "not a number"),
        (None, "v2", "NoneType"),
        ([1], "v2", "list"),
    ],
)
def test_invoice_ids_refused(value, version, fragment):
    with pytest.raises(InfaktValidationError) as caught:
        validate_invoice_id(value, version)
    message = str(caught.value)
    assert "invoice_id" in message and repr(value) in message and fragment in message
    assert "positive integer" in message  # what is allowed


def test_recipient_accepts_a_plain_address():
    assert validate_recipient("jan.kowalski+faktury@example.co.uk") == "jan.kowalski+faktury@example.co.uk"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("jan.kowalski@example.com\r\nBcc: victim@example.org", "line break"),
        ("jan.kowalski@example.com\n", "line break"),
        ("jan.kowalski@example.com\x00", "control character"),
        ("jan.kowalski@example.com, anna@example.com", "only one address"),
        ("jan.kowalski@example.com;anna@example.com", "only one address"),
        ("jan.kowalski@@example.com", "only one address"),
        ("jan.kowalski@localhost", "the domain 'localhost' has no dot"),
        ("jan kowalski@example.com", "whitespace"),
        ("", "empty"),
        ("j" * 250 + "@example.com", "longer than 254"),
    ],
)
def test_recipient_refusals_mask_the_address(value, reason):
    with pytest.raises(InfaktValidationError) as caught:
        validate_recipient(value)
    message = str(caught.value)
    assert reason in message
    assert "recipient" in message
    assert "kowalski" not in message and "victim" not in message and "anna" not in message
    assert "kowalski" not in repr(caught.value.value)
    if "@example.com" in value:
        assert "j***@" in message


def test_recipient_of_the_wrong_type_is_not_echoed():
    with pytest.raises(InfaktValidationError) as caught:
        validate_recipient(["jan.kowalski@example.com"])
    assert "kowalski" not in str(caught.value)
    assert "list" in str(caught.value)


def test_send_copy_must_be_a_bool():
    with pytest.raises(InfaktValidationError, match="send_copy 'yes'"):
        validate_send_copy("yes")


@pytest.mark.parametrize(
    ("raw", "version", "normalized"),
    [
        ("szkic", "v2", "draft"),
        ("wysłana", "v2", "sent"),
        ("wydrukowana", "v2", "printed"),
        ("zapłacona", "v2", "paid"),
        ("niezapłacona", "v2", "unpaid"),
        ("draft", "v3", "draft"),
        ("sent", "v3", "sent"),
        ("printed", "v3", "printed"),
        ("paid", "v3", "paid"),
        ("paid", None, "paid"),
        ("zapłacona", None, "paid"),
        ("paid", "v2", None),  # v2 speaks Polish
        ("zapłacona", "v3", None),
        ("archived", "v3", None),
        (None, "v3", None),
    ],
)
def test_status_normalization(raw, version, normalized):
    assert normalize_status(raw, version) == normalized


def test_status_query_values():
    assert status_query_value("paid", "v2") == "zapłacona"
    assert status_query_value("unpaid", "v2") == "niezapłacona"
    assert status_query_value("printed", "v3") == "printed"
    with pytest.raises(InfaktValidationError, match="no 'unpaid'"):
        status_query_value("unpaid", "v3")


# -- recipient: what an e-mail address is (issue 8, finding 8) -------------------------------------

ACCEPTED_ADDRESSES = [
    "jan@example.com",
    "Jan.Kowalski@Example.COM",
    "jan.kowalski+faktury@mail.example.co.uk",
    "o'brien@example.ie",
    "a!#$%&'*+-/=?^_`{|}~z@example.com",  # every atext character of RFC 5322
    "jan@a-b.example.com",
    "jan@123.example.com",  # digits-only labels are fine below the top level
    "jan@zażółć.pl",  # an internationalized domain (IDNA 2008 U-label)
    "jan@ZAŻÓŁĆ.pl",  # domains are case-insensitive
    "jan@straße.de",  # IDNA 2008 keeps the sharp s (IDNA 2003 would turn it into "ss")
    "jan@xn--za-6ja4f8n1l.pl",  # ... zażółć in its ASCII (A-label) form
    "jan@例え.jp",
    "jan@example.xn--p1ai",  # an IDN top-level domain in ASCII form
    "j" * 64 + "@example.com",  # the longest local part
    "j@" + ".".join(["a" * 63] * 3) + "." + "b" * 60,  # 254 characters in all
]


@pytest.mark.parametrize("address", ACCEPTED_ADDRESSES)
def test_recipient_accepts_real_addresses_unchanged(address):
    assert validate_recipient(address) == address


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        # the domain is a host name: letters, digits and '-' in dot-separated labels
        pytest.param("jan@example.com/../x", "the domain 'example.com/../x' contains '/'", id="path-in-domain"),
        pytest.param("jan@example.com?x=1", "the domain 'example.com?x=1' contains '?'", id="query-in-domain"),
        pytest.param("jan@exa&mple.com", "the domain 'exa&mple.com' contains '&'", id="ampersand-in-domain"),
        pytest.param("jan@exa%mple.com", "the domain 'exa%mple.com' contains '%'", id="percent-in-domain"),
        pytest.param("jan@exa#mple.com", "the domain 'exa#mple.com' contains '#'", id="hash-in-domain"),
        pytest.param("jan@exa_mple.com", "the domain 'exa_mple.com' contains '_'", id="underscore-in-domain"),
        pytest.param("jan@example..com", "the domain 'example..com' has an empty label", id="empty-label"),
        pytest.param("jan@.example.com", "the domain '.example.com' has an empty label", id="leading-dot-domain"),
        pytest.param("jan@example.com.", "the domain 'example.com.' ends with a dot", id="trailing-dot-domain"),
        pytest.param("jan@-example.com", "the domain label '-example' starts with '-'", id="label-starts-hyphen"),
        pytest.param("jan@example-.com", "the domain label 'example-' ends with '-'", id="label-ends-hyphen"),
        pytest.param("jan@" + "a" * 64 + ".com", "the domain label 'aaaa", id="label-over-63"),
        pytest.param("jan@example.123", "the top-level domain '123' is all digits", id="numeric-tld"),
        pytest.param("jan@example.c", "the top-level domain 'c' is one character long", id="one-letter-tld"),
        pytest.param("jan@", "the domain (after '@') is empty", id="empty-domain"),
        pytest.param("jan@[127.0.0.1]", "IP address literal", id="ipv4-literal"),
        pytest.param("jan@[IPv6:::1]", "IP address literal", id="ipv6-literal"),
        pytest.param("jan@127.0.0.1", "is an IP address", id="bare-ip"),
        pytest.param(
            "jan@xn--zz.pl", "the domain label 'xn--zz' is not a valid IDNA (punycode) label", id="bad-punycode"
        ),
        pytest.param(
            "jan@xn--ls8h.pl", "the domain label 'xn--ls8h' is not a valid IDNA (punycode) label", id="punycode-emoji"
        ),  # an emoji
        pytest.param(
            "jan@\uff45xample.com", "compatibility character", id="fullwidth-letter-domain"
        ),  # full-width letter: IDNA 2008 disallows it
        pytest.param("jan@exam☃ple.com", "U+2603 SNOWMAN", id="symbol-in-domain"),
        # the local part is an RFC 5322 dot-atom
        pytest.param("@example.com", "the local part (before '@') is empty", id="empty-local"),
        pytest.param(".jan@example.com", "the local part starts with a dot", id="local-leading-dot"),
        pytest.param("jan.@example.com", "the local part ends with a dot", id="local-trailing-dot"),
        pytest.param("jan..kowalski@example.com", "the local part has two dots in a row", id="local-double-dot"),
        pytest.param("jan(x)@example.com", "the local part contains '('", id="local-paren"),
        pytest.param("jań@example.com", "the local part contains 'ń', which is not ASCII", id="local-non-ascii"),
        pytest.param('"jan kowalski"@example.com', "quoted local parts", id="quoted-local"),
        pytest.param('"jan@home"@example.com', "quoted local parts", id="quoted-local-with-at"),
        pytest.param("Jan <jan@example.com>", "'<'", id="display-name"),
        pytest.param("j" * 65 + "@example.com", "the local part is longer than 64 octets", id="local-over-64"),
        # invisible and control characters, whitespace, more than one address
        pytest.param("ja\u200bn@example.com", "U+200B ZERO WIDTH SPACE", id="zero-width-local"),
        pytest.param("jan@exa\u200bmple.com", "U+200B ZERO WIDTH SPACE", id="zero-width-domain"),
        pytest.param("\ufeffjan@example.com", "U+FEFF", id="bom"),
        pytest.param("jan@example.com\u202e", "U+202E", id="rtl-override"),
        pytest.param("jan@example.com\x1b", "control character '\\x1b' (U+001B)", id="escape-char"),
        pytest.param("jan@example.com\x85", "line break", id="nel"),
        pytest.param("jan@example.com\u2028", "line break", id="line-separator"),
        pytest.param("jan@example.com ", "leading or trailing whitespace", id="trailing-space"),
        pytest.param("\tjan@example.com", "leading or trailing whitespace", id="leading-tab"),
        pytest.param("jan@exam ple.com", "whitespace", id="inner-space"),
        pytest.param("jan@exam\u00a0ple.com", "U+00A0 NO-BREAK SPACE", id="nbsp"),
        pytest.param(
            "jan@example.com@evil.example", "only one address may be given, and it has 2 '@'", id="two-at-signs"
        ),
        pytest.param("jan\uff20example.com", "full-width '\uff20'", id="fullwidth-at"),
        pytest.param("jan%40example.com", "percent-encoded", id="percent-encoded-at"),
        # lengths: RFC 5321 limits
        pytest.param(
            "j@" + ".".join(["a" * 63] * 3) + "." + "b" * 61, "longer than 254 characters", id="over-254-chars"
        ),
        # 163 characters, but 259 octets once the domain is in its ASCII form (what SMTP carries)
        pytest.param(
            "j" * 64 + "@" + ".".join(["zażółćgęśląjaźń"] * 6) + ".pl",
            "longer than 254 octets",
            id="over-254-octets-idn",
        ),
        pytest.param("jan@" + "ł" * 60 + ".pl", "longer than 63 characters in its ASCII form", id="idn-label-over-63"),
    ],
)
def test_recipient_refusals_say_what_is_wrong(value, reason):
    with pytest.raises(InfaktValidationError) as caught:
        validate_recipient(value)
    message = str(caught.value)
    assert reason in message
    assert message.startswith("invalid recipient ")
    assert caught.value.field == "recipient"
    assert "jan@" not in message and "jan%40" not in message and "jan\uff20" not in message  # the address stays masked


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("jan@exa&mple.com", id="bad-domain"),
        pytest.param("ja\u200bn@example.com", id="zero-width"),
        pytest.param("jan..kowalski@example.com", id="bad-local"),
    ],
)
def test_a_refused_address_is_shown_masked(value):
    with pytest.raises(InfaktValidationError) as caught:
        validate_recipient(value)
    local = value.partition("@")[0]
    shown = repr(local[:1] + "***@" + value.partition("@")[2])
    assert f"invalid recipient {shown}:" in str(caught.value)
    assert caught.value.value == local[:1] + "***@" + value.partition("@")[2]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param("None", "it has no '@'", id="None"),  # a Jinja template that rendered None as text
        pytest.param("", "it is empty", id="empty"),
        pytest.param("   ", "it is empty", id="blank"),
        pytest.param("12345", "it has no '@'", id="digits"),
        pytest.param("jan.kowalski.example.com", "it has no '@'", id="no-at"),
    ],
)
def test_a_value_that_is_no_address_is_shown_as_typed(value, reason):
    with pytest.raises(InfaktValidationError) as caught:
        validate_recipient(value)
    message = str(caught.value)
    assert f"invalid recipient {value!r}: {reason}" in message
    assert "***" not in message
    assert caught.value.value == value


def test_a_long_value_is_cut_in_the_message():
    with pytest.raises(InfaktValidationError) as caught:
        validate_recipient("x" * 5000)
    message = str(caught.value)
    assert len(message) < 400
    assert "5000 characters" in message


# -- recipient: properties (fixed seed, bounded: a few seconds) ---------------------------------------

_ATEXT = string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~"
_LOCAL = st.lists(st.text(alphabet=_ATEXT, min_size=1, max_size=10), min_size=1, max_size=3).map(".".join)
_LABEL = st.one_of(
    st.from_regex(r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?", fullmatch=True),
    st.text(alphabet="ąćęłńóśźżäöüßéèçø", min_size=1, max_size=8),  # internationalized labels
)
_TLD = st.one_of(st.from_regex(r"[a-zA-Z]{2,6}", fullmatch=True), st.sampled_from(["pl", "xn--p1ai", "中国"]))
_DOMAIN = st.builds(lambda labels, tld: ".".join([*labels, tld]), st.lists(_LABEL, min_size=1, max_size=3), _TLD)
_ADDRESS = st.builds(lambda local, domain: f"{local}@{domain}", _LOCAL, _DOMAIN)
_NOT_IN_A_HOST_NAME = [*"/?&%#_ ,;\"<>()[]\\:!$*+=~'@\uff20", "\u200b", "\ufeff", "\x00", "\n", "\t", "\u00a0"]


@settings(derandomize=True, max_examples=300, deadline=None)
@given(_ADDRESS)
def test_property_addresses_made_by_the_rules_pass_unchanged(address):
    assert validate_recipient(address) == address


@settings(derandomize=True, max_examples=300, deadline=None)
@given(_ADDRESS, st.sampled_from(_NOT_IN_A_HOST_NAME), st.integers(min_value=0))
def test_property_one_bad_character_in_the_domain_is_refused_and_masked(address, bad, where):
    local, _, domain = address.partition("@")
    at = where % (len(domain) + 1)
    value = f"{local}@{domain[:at]}{bad}{domain[at:]}"
    with pytest.raises(InfaktValidationError) as caught:
        validate_recipient(value)
    message = str(caught.value)
    assert message.startswith("invalid recipient ")
    assert value not in message and repr(value)[1:-1] not in message
    if len(local) > 1:
        assert f"{local}@" not in message


@settings(derandomize=True, max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=40), st.builds(lambda a, b: f"{a}@{b}", st.text(max_size=20), st.text(max_size=20))))
def test_property_any_text_is_accepted_as_is_or_refused_clearly(value):
    try:
        accepted = validate_recipient(value)
    except InfaktValidationError as exc:
        message = str(exc)
        assert exc.field == "recipient" and message.startswith("invalid recipient ")
        if not errors.looks_like_address(value):
            assert f"invalid recipient {value!r}:" in message  # not an address: shown as typed
        local = value.partition("@")[0]
        if "@" in value and len(local) > 1:
            assert f"{local}@" not in message  # an address: masked
        return
    assert accepted is value
    local, at, domain = value.partition("@")
    assert at and "@" not in domain and local and "." in domain
    assert not any(ch.isspace() or not ch.isprintable() for ch in value)


@pytest.mark.parametrize(
    ("validate", "value"),
    [
        (validate_doc_type, "jan.kowalski@example.com"),
        (validate_delivery_type, "jan.kowalski@example.com"),
        (validate_invoice_id, "jan.kowalski@example.com"),
        (validate_invoice_id, ["jan.kowalski@example.com"]),
    ],
)
def test_an_address_typed_into_another_field_is_masked(validate, value):
    with pytest.raises(InfaktValidationError) as caught:
        validate(value)
    assert "kowalski" not in str(caught.value) and "kowalski" not in repr(caught.value.value)
    assert "j***@example.com" in str(caught.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([1, 2], "a list is not an invoice id (one task handles one invoice; for several, map the task"),
        ((1,), "a tuple is not an invoice id"),
        ("[1, 2]", "this is a list rendered as text, not an invoice id"),
        ("['7', '8']", "this is a list rendered as text"),
        ("-3", "invalid invoice_id '-3': invoice ids are greater than zero"),
        ("- 3", "invoice ids are greater than zero"),
        ("abc", "invalid invoice_id 'abc': not a number"),
    ],
)
def test_invoice_id_messages_say_what_to_do(value, expected):
    with pytest.raises(InfaktValidationError) as raised:
        validate_invoice_id(value, "v3")
    assert expected in str(raised.value)
    if "list" in expected or "tuple" in expected:
        assert ".expand(invoice_id=[...])" in str(raised.value)


@pytest.mark.parametrize(("text", "value"), [("True", True), ("False", False), (" true ", True), ("FALSE", False)])
def test_send_copy_takes_a_bool_as_plain_jinja_renders_it(text, value):
    assert validate_send_copy(text) is value
