"""Intake checks: normalisation of valid records, and every reason an invalid one is rejected."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.intake import COLUMNS, CleanFields, check_record

VALID: dict[str, Any] = {
    "id": "L1",
    "first_name": " Zoë ",
    "last_name": "Ørsted",
    "email": " Zoe.Orsted@Acme.IO ",
    "title": "CTO",
    "company": "Acme, Inc.",
    "domain": "https://www.Acme.io/about",
    "industry": "Software",
    "employees": "1,200",
    "country": "dk",
    "notes": "Met at a fair.\nLikes commas, a lot.",
}


def valid(**changes: object) -> dict[str, object]:
    return {**VALID, **changes}


def test_a_valid_record_is_cleaned() -> None:
    """Text is stripped, email lower-cased, domain normalised, country upper-cased."""
    assert check_record(VALID) == CleanFields(
        first_name="Zoë",
        last_name="Ørsted",
        email="zoe.orsted@acme.io",
        title="CTO",
        company="Acme, Inc.",
        domain="acme.io",
        industry="Software",
        employees=1200,
        country="DK",
        notes="Met at a fair.\nLikes commas, a lot.",
    )


def test_missing_optional_fields_become_empty_and_the_domain_comes_from_the_email() -> None:
    """Without title, industry, country, last name, notes or domain, a record is still valid."""
    fields = {"first_name": "Ana", "email": "ana@www.lumen.dev", "company": "L", "employees": 5}

    assert check_record(fields) == CleanFields(
        first_name="Ana",
        last_name="",
        email="ana@www.lumen.dev",
        title="",
        company="L",
        domain="lumen.dev",
        industry="",
        employees=5,
        country="",
        notes="",
    )


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("acme.io", "acme.io"),
        ("  ACME.IO  ", "acme.io"),
        ("www.acme.io", "acme.io"),
        ("http://acme.io", "acme.io"),
        ("https://www.acme.co.uk/about?x=1#top", "acme.co.uk"),
        ("acme.io:8080/path", "acme.io"),
        ("acme.io.", "acme.io"),
        ("münchen-bau.de", "münchen-bau.de"),
        ("xn--mnchen-bau-zhb.de", "xn--mnchen-bau-zhb.de"),
        ("", "acme.io"),
        (None, "acme.io"),
    ],
)
def test_the_domain_is_normalised(domain: str | None, expected: str) -> None:
    """The domain loses scheme, ``www.``, port and path, or comes from the email."""
    checked = check_record(valid(domain=domain, email="zoe@acme.io"))

    assert not isinstance(checked, list)
    assert checked["domain"] == expected


@pytest.mark.parametrize(
    "employees", ["1200", "1,200", " 1200 ", "1200.0", "1,200.00", "+1200", 1200, 1200.0]
)
def test_employee_counts_may_be_written_in_several_ways(employees: object) -> None:
    """Text or numbers, with thousands separators or a zero fraction, give a whole count."""
    checked = check_record(valid(employees=employees))

    assert not isinstance(checked, list)
    assert checked["employees"] == 1200


FORMULA = "which a spreadsheet runs as a formula; correct the address"
REJECTIONS: list[tuple[str, dict[str, object], str]] = [
    ("email missing", {"email": None}, "email is missing"),
    ("email blank", {"email": "   "}, "email is missing"),
    ("email without @", {"email": "not-an-email"}, "email 'not-an-email' is not a valid address"),
    ("email without domain", {"email": "bob@"}, "email 'bob@' is not a valid address"),
    ("email without local", {"email": "@acme.io"}, "email '@acme.io' is not a valid address"),
    (
        "email with spaces",
        {"email": "ana at acme.io"},
        "email 'ana at acme.io' is not a valid address",
    ),
    ("email double dot", {"email": "a..b@acme.io"}, "email 'a..b@acme.io' is not a valid address"),
    ("email two @", {"email": "a@b@acme.io"}, "email 'a@b@acme.io' is not a valid address"),
    ("email dotless", {"email": "ana@localhost"}, "email 'ana@localhost' is not a valid address"),
    ("email bad label", {"email": "ana@-acme.io"}, "email 'ana@-acme.io' is not a valid address"),
    (
        "email starting with =",
        {"email": "=1+1@ember-labs.ai"},
        f"email '=1+1@ember-labs.ai' starts with '=', {FORMULA}",
    ),
    (
        "email starting with +",
        {"email": "+cmd@acme.io"},
        f"email '+cmd@acme.io' starts with '+', {FORMULA}",
    ),
    (
        "email starting with -",
        {"email": "-2+3@acme.io"},
        f"email '-2+3@acme.io' starts with '-', {FORMULA}",
    ),
    ("company missing", {"company": None}, "company is missing"),
    ("company blank", {"company": " \t "}, "company is missing"),
    ("first_name missing", {"first_name": ""}, "first_name is missing"),
    ("employees missing", {"employees": None}, "employees is missing"),
    ("employees blank", {"employees": "  "}, "employees is missing"),
    ("employees words", {"employees": "many"}, "employees 'many' is not a number"),
    ("employees bad grouping", {"employees": "12,00"}, "employees '12,00' is not a number"),
    ("employees zero", {"employees": "0"}, "employees '0' must be at least 1"),
    ("employees negative", {"employees": "-3"}, "employees '-3' must be at least 1"),
    ("employees fraction", {"employees": "12.5"}, "employees '12.5' is not a whole number"),
    ("employees float", {"employees": 12.5}, "employees 12.5 is not a whole number"),
    ("employees nan", {"employees": float("nan")}, "employees nan is not a number"),
    ("employees bool", {"employees": True}, "employees must be a number, not bool"),
    ("employees huge", {"employees": 10**30}, "employees must be between 1 and 10,000,000"),
    (
        "employees too many",
        {"employees": "20,000,000"},
        "employees '20,000,000' must be at most 10,000,000",
    ),
    (
        "notes too long",
        {"notes": "n" * 10_001},
        "notes is 10,001 characters long, over the limit of 10,000",
    ),
    ("title too long", {"title": "t" * 257}, "title is 257 characters long, over the limit of 256"),
    ("id too long", {"id": "i" * 300}, "id is 300 characters long, over the limit of 256"),
    ("id not text", {"id": 4.5}, "id must be text or a whole number, not float"),
    ("id of dots", {"id": ".."}, "id '..' cannot name the lead's page in a URL; choose another"),
    ("not text", {"company": 42}, "company must be text, not int"),
    (
        "control character",
        {"first_name": "Zo\x07ë"},
        "first_name contains a control character U+0007",
    ),
    (
        "line break in a name",
        {"last_name": "A\nB"},
        "last_name contains a control character U+000A",
    ),
    ("lone surrogate", {"title": "CT\ud800O"}, "title contains an unpaired surrogate U+D800"),
    (
        "bidirectional override",
        {"last_name": "Evil\u202eexe.doc"},
        "last_name contains an invisible format character U+202E (RIGHT-TO-LEFT OVERRIDE)",
    ),
    (
        "isolate in the notes",
        {"notes": "Fine.\n\u2067reversed\u2069"},
        "notes contains an invisible format character U+2067 (RIGHT-TO-LEFT ISOLATE)",
    ),
    (
        "zero width space in a company",
        {"company": "Acme\u200bCorp"},
        "company contains an invisible format character U+200B (ZERO WIDTH SPACE)",
    ),
    ("bad domain", {"domain": "not a domain"}, "domain 'not a domain' is not a valid web domain"),
    ("ip domain", {"domain": "10.0.0.1"}, "domain '10.0.0.1' is not a valid web domain"),
    ("reader error", {"_error": "line 7: not a JSON object"}, "line 7: not a JSON object"),
]


@pytest.mark.parametrize(
    ("changes", "reason"), [(c, r) for _, c, r in REJECTIONS], ids=[n for n, _, _ in REJECTIONS]
)
def test_each_problem_is_rejected_with_its_reason(changes: dict[str, object], reason: str) -> None:
    """A record with one problem is rejected with exactly that problem's reason."""
    assert check_record(valid(**changes)) == [reason]


def test_a_reader_error_is_the_only_reason() -> None:
    """A record the reader could not read is rejected for that alone, whatever else it has."""
    assert check_record({"_error": "line 3: 5 values, but the header names 4 columns"}) == [
        "line 3: 5 values, but the header names 4 columns"
    ]


def test_every_reason_is_reported_together() -> None:
    """A record with many problems is rejected with all of them, in column order."""
    fields = {"first_name": " ", "email": "bob@", "employees": "many", "notes": "n" * 10_001}

    assert check_record(fields) == [
        "first_name is missing",
        "email 'bob@' is not a valid address",
        "company is missing",
        "employees 'many' is not a number",
        "notes is 10,001 characters long, over the limit of 10,000",
    ]


ANY_TEXT = st.text(st.characters(exclude_categories=()))  # surrogates and controls too
SCALAR = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), ANY_TEXT, st.binary(), st.builds(object)
)
ANY_VALUE = SCALAR | st.lists(SCALAR, max_size=3) | st.dictionaries(ANY_TEXT, SCALAR, max_size=3)
FIELD_VALUE = ANY_VALUE | st.sampled_from(list(VALID.values()))  # some fields valid
ANY_KEY = st.sampled_from(["_error", *COLUMNS]) | ANY_TEXT
ANY_FIELDS = st.fixed_dictionaries({}, optional=dict.fromkeys(COLUMNS, FIELD_VALUE)) | (
    st.dictionaries(ANY_KEY, ANY_VALUE, max_size=4)
)


@given(ANY_FIELDS)
def test_check_record_never_raises(fields: dict[str, object]) -> None:
    """Any dict of any values gives clean fields or a non-empty list of reasons."""
    checked = check_record(fields)

    assert (
        checked if isinstance(checked, list) else set(checked) == set(CleanFields.__annotations__)
    )


NAME = st.text(
    st.characters(exclude_categories=("Cc", "Cs", "Cf")), min_size=1, max_size=256
).filter(lambda name: name.strip() != "")


@given(first_name=NAME, last_name=NAME, company=NAME)
def test_any_unicode_name_is_accepted(first_name: str, last_name: str, company: str) -> None:
    """Names and companies in any script are accepted, stripped and otherwise unchanged."""
    checked = check_record(valid(first_name=first_name, last_name=last_name, company=company))

    assert not isinstance(checked, list)
    assert (checked["first_name"], checked["last_name"], checked["company"]) == (
        first_name.strip(),
        last_name.strip(),
        company.strip(),
    )


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        ("ｚｏｅ＠ａｃｍｅ．ｉｏ", "zoe@acme.io"),
        ("Zoe\u0308@Acme.io", "zoë@acme.io"),
        ("ana@MÜNCHEN-bau.de", "ana@xn--mnchen-bau-9db.de"),
        ("ana@xn--mnchen-bau-9db.de", "ana@xn--mnchen-bau-9db.de"),
        ("ann+news@acme.io", "ann+news@acme.io"),
    ],
)
def test_an_email_is_kept_in_one_form(written: str, kept: str) -> None:
    """Emails are NFKC-normalised and lower-cased with an IDNA (ASCII) domain, so one
    mailbox has one spelling; plus-addressing is kept as written."""
    checked = check_record(valid(email=written))
    assert not isinstance(checked, list)
    assert checked["email"] == kept


def test_an_email_whose_domain_is_no_valid_idn_is_refused() -> None:
    """A domain that IDNA cannot encode is not a valid address."""
    assert check_record(valid(email="ana@a\u00dfb\u0301-.de")) == [
        "email 'ana@a\u00dfb\u0301-.de' is not a valid address"
    ]
