"""docs/workspace.md is the reference for intake's headers and the workspace's options:
it must list every header the tables recognise and every option this area adds."""

from __future__ import annotations

import pytest

from actors.intake import EXPORTS
from supervision.system.samples import path as sample_path
from tests.support.paths import ROOT

DOC = (ROOT / "docs" / "workspace.md").read_text("utf-8")


def test_every_recognised_header_is_documented_in_its_field_row() -> None:
    """Each header of each export table appears, in backticks, on its field's row."""
    rows = {
        line.split("|")[1].strip().strip("`"): line
        for line in DOC.splitlines()
        if line.startswith("| `")
    }
    for table in EXPORTS.values():
        for field, headers in table.items():
            for header in headers:
                assert f"`{header}`" in rows[field], (field, header)


@pytest.mark.parametrize(
    "option",
    ["init", "--workspace", "--map", "--sources-ttl", "--allow-private-sources", "kb,web"],
)
def test_every_option_of_this_area_is_documented(option: str) -> None:
    """The page names each command and option a user of their own leads needs."""
    assert f"`{option}" in DOC or f"{option} " in DOC


def test_the_workspace_template_fields_are_documented() -> None:
    """Every key the starter leadwright.toml sets has a row in the reference."""
    template = (sample_path("leads.csv").parent / "workspace" / "leadwright.toml").read_text(
        "utf-8"
    )
    keys = [
        line.split("=")[0].strip()
        for line in template.splitlines()
        if "=" in line and not line.startswith(("#", " ", '"')) and line[0].isalpha()
    ]
    assert keys
    for key in keys:
        assert f"{key}`" in DOC, key
