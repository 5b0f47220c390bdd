"""Header mapping: export columns to lead fields, whatever their order, case or spacing."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.intake import EXPORTS, ColumnMap, InputError, map_headers, parse_map, read_records
from actors.intake._headers import KNOWN, key, map_keys
from messages import UsageError

HUBSPOT_HEADER = [
    "Record ID", "First Name", "Last Name", "Email", "Job Title", "Company Name",
    "Website URL", "Industry", "Number of Employees", "Country/Region", "Lead Status",
    "Contact owner", "Create Date",
]  # fmt: skip

KNOWN_HEADERS = sorted({h for table in EXPORTS.values() for hs in table.values() for h in hs})
UNKNOWN = st.sampled_from(
    ["Lead Status", "Owner", "Created Date", "Phone Number", "Lifecycle Stage", "Twitter"]
)


def restyle(header: str, draw: st.DrawFn) -> str:
    """The header in another case, with spaces, underscores or punctuation moved about."""
    cased = "".join(c.upper() if draw(st.booleans()) else c.lower() for c in header)
    words = [w for w in cased.replace("_", " ").split(" ") if w]
    glue = draw(st.sampled_from([" ", "  ", "_", "", "-", " - "]))
    return (
        draw(st.sampled_from(["", " ", "\t"])) + glue.join(words) + draw(st.sampled_from(["", " "]))
    )


@st.composite
def headers_and_restyled(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    """Distinct known headers (one per field) and unknown ones, and the same list shuffled
    and restyled."""
    by_field: dict[str, str] = {}
    for header in draw(st.lists(st.sampled_from(KNOWN_HEADERS), min_size=1, max_size=12)):
        by_field.setdefault(KNOWN[key(header)][0], header)
    unknown = draw(st.lists(UNKNOWN, unique=True, max_size=3))
    headers = [*by_field.values(), *unknown]
    shuffled = draw(st.permutations(headers))
    return headers, [restyle(h, draw) for h in shuffled]


@given(headers_and_restyled())
def test_any_order_case_and_spacing_of_known_headers_maps_the_same(
    pair: tuple[list[str], list[str]],
) -> None:
    """Shuffling, re-casing and re-spacing the headers changes nothing of what is mapped:
    each known header fills the same field, each unknown one is reported as ignored."""
    headers, restyled = pair
    original = ColumnMapView.of(headers)
    again = ColumnMapView.of(restyled)

    assert again.fields == original.fields
    assert again.ignored_keys == original.ignored_keys


class ColumnMapView:
    """What a column map says, independent of column order and spelling."""

    def __init__(self, column_map: ColumnMap) -> None:
        pairs = zip(column_map.headers, column_map.fields, strict=True)
        self.fields = {key(h): f for h, f in column_map.mapped.items()}
        self.ignored_keys = sorted(key(h) for h, f in pairs if f is None)

    @staticmethod
    def of(headers: list[str]) -> ColumnMapView:
        return ColumnMapView(map_keys(headers))


@given(st.lists(UNKNOWN, min_size=1, unique=True), st.permutations(HUBSPOT_HEADER))
def test_an_unknown_header_is_reported_and_never_used(
    unknown: list[str], header: list[str]
) -> None:
    """Every column that fills no field is listed in the summary, and fills nothing."""
    column_map = map_headers([*header, *unknown], name="leads.csv")

    for name in unknown:
        assert column_map.fields[column_map.headers.index(name)] is None
        assert name in column_map.summary()


def test_a_hubspot_header_maps_and_says_what_it_ignored() -> None:
    """A HubSpot contacts export maps ten columns and names the three it leaves."""
    column_map = map_headers(HUBSPOT_HEADER, name="hubspot.csv")

    assert column_map.mapped == {
        "Record ID": "id", "First Name": "first_name", "Last Name": "last_name",
        "Email": "email", "Job Title": "title", "Company Name": "company",
        "Website URL": "website", "Industry": "industry", "Number of Employees": "employees",
        "Country/Region": "country",
    }  # fmt: skip
    assert column_map.summary() == (
        "mapped 10 columns; ignored 3: Lead Status, Contact owner, Create Date"
    )


@pytest.mark.parametrize(
    ("header", "mapped"),
    [
        (
            ["First Name", "Last Name", "Title", "Company / Account", "Email", "No. of Employees"],
            ["first_name", "last_name", "title", "company", "email", "employees"],
        ),
        (
            ["Person - Name", "Person - Email - Work", "Organization - Name", "Person - Job title"],
            ["full_name", "email", "company", "title"],
        ),
        (
            ["First Name", "Last Name", "Title", "Company", "Email", "# Employees", "Website"],
            ["first_name", "last_name", "title", "company", "email", "employees", "website"],
        ),
        (
            ["Full Name", "Job Title", "Company Name", "Company Domain", "Company Headcount"],
            ["full_name", "title", "company", "domain", "employees"],
        ),
    ],
    ids=["salesforce", "pipedrive", "apollo", "sales-navigator"],
)
def test_each_vendors_export_maps(header: list[str], mapped: list[str]) -> None:
    """Salesforce, Pipedrive, Apollo and Sales Navigator headers fill the lead's fields."""
    assert list(map_headers(header, name="x.csv").mapped.values()) == mapped


def test_a_second_column_for_a_field_is_ignored_and_the_preferred_one_wins() -> None:
    """Apollo's ``Company Name for Emails`` gives way to ``Company``, and says so."""
    column_map = map_headers(["Company Name for Emails", "Email", "Company"], name="x.csv")

    assert column_map.mapped == {"Email": "email", "Company": "company"}
    assert column_map.ignored == ("Company Name for Emails (a second company column)",)


def test_map_options_cover_the_rest_and_win_over_the_tables() -> None:
    """``--map "Header=field"`` maps an unknown column, or re-maps a known one."""
    overrides = parse_map(["Mail Address = email", "Company Name for Emails=company"])
    column_map = map_headers(
        ["Mail Address", "Company", "Company Name for Emails", "Firma"], overrides, name="x.csv"
    )

    assert column_map.mapped == {"Mail Address": "email", "Company Name for Emails": "company"}
    assert column_map.ignored == ("Company (a second company column)", "Firma")


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("email", '--map \'email\': write it as "Header=field", such as "Mail=email"'),
        ("=email", '--map \'=email\': write it as "Header=field", such as "Mail=email"'),
        (
            "Lead Source=source",
            "--map 'Lead Source=source': 'source' is not a lead field; use one of id, "
            "first_name, last_name, full_name, email, title, company, domain, website, "
            "industry, employees, country, notes",
        ),
    ],
)
def test_a_bad_map_option_is_one_line_naming_the_fix(option: str, message: str) -> None:
    """A ``--map`` that is no pair, or names no lead field, is refused before reading."""
    with pytest.raises(UsageError) as raised:
        parse_map([option])
    assert str(raised.value) == message


def test_a_map_option_for_a_column_the_file_lacks_is_an_input_error(tmp_path: Path) -> None:
    """A ``--map`` naming no column of the header is refused with the columns there are."""
    path = tmp_path / "leads.csv"
    path.write_text("Email,Company\na@b.co,B\n", encoding="utf-8")

    with pytest.raises(InputError) as raised:
        read_records(path, columns=parse_map(["Mail=email"]))
    assert str(raised.value) == (
        f"{path}: --map names a column the header lacks (mail); its columns are Email, Company"
    )


def test_the_reader_maps_a_csv_and_tells_the_mapping_once(tmp_path: Path) -> None:
    """Records carry lead fields, not export headers, and the mapping is told once, before
    the first record."""
    path = tmp_path / "export.csv"
    path.write_text(
        "First Name,E-Mail Address,Company Name,Lead Status\n"
        "Ana,ana@acme.io,Acme,Open\nBo,bo@acme.io,Acme,New\n",
        encoding="utf-8",
    )
    told: list[ColumnMap] = []

    records = list(read_records(path, on_columns=told.append))

    assert [r.fields for r in records] == [
        {"first_name": "Ana", "email": "ana@acme.io", "company": "Acme"},
        {"first_name": "Bo", "email": "bo@acme.io", "company": "Acme"},
    ]
    assert [m.summary() for m in told] == ["mapped 3 columns; ignored 1: Lead Status"]


def test_jsonl_keys_are_matched_like_headers_and_told_once() -> None:
    """A JSON lead may use export names too; the first object's keys are reported."""
    stdin = io.StringIO(
        '{"First Name": "Ana", "Email": "ana@acme.io", "Owner": "Kim"}\n{"email": "b@acme.io"}\n'
    )
    told: list[ColumnMap] = []

    records = list(read_records("-", stdin=stdin, on_columns=told.append))

    assert [r.fields for r in records] == [
        {"first_name": "Ana", "email": "ana@acme.io"},
        {"email": "b@acme.io"},
    ]
    assert [m.summary() for m in told] == ["mapped 2 columns; ignored 1: Owner"]


def test_no_header_maps_to_two_fields() -> None:
    """The tables are consistent: a header key fills one field, whichever export lists it."""
    for table in EXPORTS.values():
        for field, headers in table.items():
            for header in headers:
                assert KNOWN[key(header)][0] == field


def test_a_header_of_the_fields_own_names_is_plain() -> None:
    """A header of exactly the lead fields' names maps as it reads: nothing to report."""
    assert map_headers(["id", "email", "company"], name="x.csv").plain
    assert not map_headers(["id", "Email", "company"], name="x.csv").plain
    assert not map_headers(["email", "Owner"], name="x.csv").plain
