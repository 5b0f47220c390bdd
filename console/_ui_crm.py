"""The CRM as a page: a page of rows at a time, sorted by fit, date or company, filtered by
outcome and fit band, and searched by name, company and email, all in SQL on the server;
and the whole CRM as CSV. A parameter that makes no sense is a 422 saying which, never a
500."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from actors import CrmPage, CrmQuery, CrmSort
from console._ui_page import BadQuery, Ui, page_number
from messages import UsageError
from supervision.system import export_csv

router = APIRouter(include_in_schema=False)
PAGE_ROWS = 50
"""CRM rows a page shows."""
_PARAMETERS = ("q", "outcome", "fit", "sort", "order")
_SORTS: dict[str, CrmSort] = {"fit": "fit", "date": "date", "company": "company"}


@dataclass(frozen=True, slots=True)
class CrmView:
    """One page of the CRM and what the page needs to link to others."""

    found: CrmPage
    query: dict[str, str]
    """The query's own parameters (search, filters, sort), without the page."""
    page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.found.total // PAGE_ROWS))

    @property
    def first(self) -> int:
        """The number of the page's first row, from 1 (0 when it has none)."""
        return (self.page - 1) * PAGE_ROWS + 1 if self.found.rows else 0

    @property
    def last(self) -> int:
        return (self.page - 1) * PAGE_ROWS + len(self.found.rows)

    def link(self, **changes: str | int) -> str:
        """This view's URL with ``changes``; a new sort or filter starts at page 1."""
        query = self.query | {name: str(value) for name, value in changes.items()}
        if "page" not in changes:
            query.pop("page", None)
        return "/crm?" + urlencode({k: v for k, v in query.items() if v and v != "1"})

    def sorted_by(self, column: str) -> str:
        """The link of a column's heading: sort by it, or turn its order around."""
        same = self.query.get("sort", "date") == column
        descending = self.query.get("order", "desc") != "asc"
        flipped = "asc" if same and descending else "desc"
        if column == "company" and not same:
            flipped = "asc"  # A to Z first
        return self.link(sort=column, order=flipped)


def crm_query(params: dict[str, str]) -> tuple[CrmQuery, int]:
    """The query and page number of ``/crm``'s parameters; ``BadQuery`` saying which
    parameter is wrong."""
    page = page_number(params.get("page"))
    order = params.get("order", "desc") or "desc"
    if order not in ("asc", "desc"):
        raise BadQuery(f"order must be asc or desc, not {order[:40]!r}")
    sort = params.get("sort", "date") or "date"
    column = _SORTS.get(sort)
    if column is None:
        raise BadQuery(f"sort must be fit, date or company, not {sort[:40]!r}")
    try:
        query = CrmQuery(
            search=params.get("q", ""),
            outcome=params.get("outcome", ""),
            fit=params.get("fit", ""),
            sort=column,
            descending=order == "desc",
            limit=PAGE_ROWS,
            offset=(page - 1) * PAGE_ROWS,
        )
    except UsageError as exc:
        raise BadQuery(str(exc)) from None
    return query, page


@router.get("/crm", response_class=HTMLResponse)
async def crm(request: Request, ui: Ui) -> Response:
    session = ui.need(request)
    params = {name: request.query_params.get(name, "") for name in (*_PARAMETERS, "page")}
    params = {name: value for name, value in params.items() if value}
    try:
        query, page = crm_query(params)
    except BadQuery as exc:
        return ui.page(request, "bad.html", session, 422, error=str(exc), back="/crm")
    found = await anyio.to_thread.run_sync(lambda: ui.stores.crm.search(query))
    kept = {name: params[name] for name in _PARAMETERS if name in params}
    return ui.page(request, "crm.html", session, crm=CrmView(found, kept, page))


@router.get("/crm.csv")
async def crm_csv(request: Request, ui: Ui) -> Response:
    ui.need(request)
    text = await anyio.to_thread.run_sync(lambda: export_csv(ui.stores))
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="crm.csv"'},
    )
