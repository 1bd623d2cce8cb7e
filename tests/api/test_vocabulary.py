"""Vocabulary: canonical values pass, everything else is refused with a message that helps."""

from __future__ import annotations

import pytest

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
    validate_print_type,
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
        (validate_print_type, "print_type", "orginal", vocabulary.PRINT_TYPES),
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
        (validate_print_type, "KOPIA", "copy"),
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
        ("-3", "v2", "not a number"),
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
        ("jan.kowalski@localhost", "plausible"),
        ("jan kowalski@example.com", "plausible"),
        ("jan.kowalski.example.com", "plausible"),
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
