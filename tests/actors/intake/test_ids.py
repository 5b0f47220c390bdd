"""Lead ids: the explicit id, else a digest of the normalised email, else of the content."""

from __future__ import annotations

import hashlib

import idna
import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.intake import fingerprint, lead_id_for


def test_the_derived_id_is_a_digest_of_the_email() -> None:
    """Without an id, the lead id is ``L-`` and 16 hex digits of the email's SHA-256."""
    digest = hashlib.sha256(b"ana@acme.io").hexdigest()[:16]

    assert lead_id_for({"email": "ana@acme.io"}) == f"L-{digest}"
    assert lead_id_for({"email": "ana@acme.io"}) == "L-8142f7db8ac5e0de"


def test_the_derived_id_ignores_case_and_surrounding_whitespace() -> None:
    """The same address in another case or with padding gets the same id."""
    assert lead_id_for({"email": "  Ana@ACME.io\t"}) == lead_id_for({"email": "ana@acme.io"})


@pytest.mark.parametrize(
    "written",
    [
        "ｚｏｅ＠ａｃｍｅ．ｉｏ",  # fullwidth
        "zoe@acme.io",
        "ZOE@Acme.IO",
    ],
)
def test_the_derived_id_ignores_unicode_width(written: str) -> None:
    """Fullwidth letters and case are one address: NFKC before the digest."""
    assert lead_id_for({"email": written}) == lead_id_for({"email": "zoe@acme.io"})


def test_the_derived_id_ignores_composition_and_idn_spelling() -> None:
    """A composed or decomposed accent, and an IDN domain or its punycode, are one address."""
    punycode = idna.encode("münchen-bau.de").decode()
    same = [
        "zoë@münchen-bau.de",
        "zoe\u0308@münchen-bau.de",
        f"zoë@{punycode}",
        "ZOË@MÜNCHEN-BAU.DE",
    ]
    assert len({lead_id_for({"email": email}) for email in same}) == 1


def test_plus_addressing_is_another_address() -> None:
    """What ``+`` means is up to each provider, so ``ann+news@`` is not ``ann@``."""
    assert lead_id_for({"email": "ann+news@acme.io"}) != lead_id_for({"email": "ann@acme.io"})


def test_different_emails_get_different_ids() -> None:
    """Two addresses get two ids."""
    assert lead_id_for({"email": "ana@acme.io"}) != lead_id_for({"email": "bo@acme.io"})


@pytest.mark.parametrize(("value", "expected"), [("  L0042 ", "L0042"), (42, "42")])
def test_an_explicit_id_wins_over_the_email(value: object, expected: str) -> None:
    """A non-empty ``id`` (stripped, or a whole number) is the lead id, whatever the email."""
    assert lead_id_for({"id": value, "email": "ana@acme.io"}) == expected


@pytest.mark.parametrize("value", ["", "   ", None, True, 4.5, 10**300])
def test_a_blank_or_unusable_id_falls_back_to_the_email(value: object) -> None:
    """An empty, non-text or absurd ``id`` is ignored in favour of the email."""
    assert lead_id_for({"id": value, "email": "ana@acme.io"}) == lead_id_for(
        {"email": "ana@acme.io"}
    )


@pytest.mark.parametrize("fields", [{}, {"email": "  "}, {"email": 7}, {"id": "", "email": None}])
def test_without_id_or_email_the_id_is_a_digest_of_the_content(fields: dict[str, object]) -> None:
    """With neither id nor email, the lead id is ``R-`` and the start of the fingerprint."""
    assert lead_id_for(fields) == f"R-{fingerprint(fields)[:16]}"


def test_the_fingerprint_ignores_how_a_value_was_typed_but_not_what_it_says() -> None:
    """A CSV's text and JSONL's numbers give one fingerprint; another value gives another."""
    csv = {"email": "a@b.co", "employees": "120", "notes": " hi "}
    assert fingerprint(csv) == fingerprint({"email": "a@b.co", "employees": 120, "notes": "hi"})
    assert fingerprint(csv) != fingerprint({"email": "a@b.co", "employees": 121, "notes": "hi"})


@given(
    st.dictionaries(
        st.sampled_from(["id", "email", "other"]),
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.floats(),
            st.text(st.characters(exclude_categories=())),
            st.binary(),
        ),
    ),
)
def test_lead_id_for_never_raises_and_is_stable(fields: dict[str, object]) -> None:
    """Any fields give a non-empty id, the same every time."""
    lead_id = lead_id_for(fields)

    assert lead_id
    assert lead_id == lead_id_for(dict(fields))
