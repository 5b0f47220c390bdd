"""The one CSV writer for every CSV Leadwright writes: ``export``, ``report --csv`` and the
console's ``/crm.csv``.

Lead data is untrusted, and a spreadsheet runs a cell that starts with ``=``, ``+``, ``-``
or ``@`` as a formula (``=HYPERLINK(...)``, ``@SUM(...)``, a DDE ``+cmd|...``); a tab or a
carriage return in front can hide one. So, as OWASP's guidance on CSV injection says, such
a text cell is written with a leading apostrophe, which makes the spreadsheet show it as
text. Numbers are written as they are: a number is never a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import final

from actors import CrmRow
from supervision.system._stores import Stores

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a text cell may not start with as it is: a spreadsheet would read a formula."""


def safe_cell(value: object) -> object:
    """``value`` as a CSV cell: text that a spreadsheet would run gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


@final
@dataclass(frozen=True, slots=True)
class CsvTable:
    """CSV text, and how many rows it holds under its header."""

    text: str
    rows: int


def csv_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> CsvTable:
    """``header`` and ``rows`` as CSV, every text cell made safe for a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([safe_cell(name) for name in header])
    count = 0
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
        count += 1
    return CsvTable(out.getvalue(), count)


def crm_table(stores: Stores) -> CsvTable:
    """The CRM's rows as CSV, one line per finished lead."""
    columns = list(CrmRow.__dataclass_fields__)
    rows = stores.crm.rows()
    return csv_table(columns, ([row.get(key) for key in columns] for row in rows))
