"""The ASGI app of ``serve``: the API, health, readiness and metrics over one live system."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from console._api import install_api
from console._api_input import problem
from console._limits import BodyLimit, HttpLimits, StreamSlots
from console._metrics import registry_for
from console._security import require_token
from console._throttle import Throttle
from console._ui import install_console
from console._ui_session import SessionPolicy
from supervision.system import Gate, System


def create_app(
    system: System,
    gate: Gate,
    token: str,
    *,
    limits: HttpLimits | None = None,
    throttle: Throttle | None = None,
) -> FastAPI:
    """The app; ``token`` guards everything but ``/healthz`` and ``/readyz``; ``limits``
    caps forms and event streams (``HttpLimits()`` when not given); ``throttle`` counts
    failed tokens per client address (``Throttle()`` when not given)."""
    limits = HttpLimits() if limits is None else limits
    app = FastAPI(
        title="Leadwright",
        summary="Leads in as events; research, scoring, drafts and the CRM behind a validator.",
        version="1",
        # No redirect is built from the Host header a client sends (/healthz/ is a 404,
        # not a redirect to whatever host it named), the schema needs the token like the
        # API it describes, and no page loads a script from elsewhere: no /docs, /redoc.
        redirect_slashes=False,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.token = token
    app.state.throttle = Throttle() if throttle is None else throttle
    app.state.log = system.log
    app.state.streams = StreamSlots(limits.max_streams)
    # A client that sniffs a type may render an LLM's text as HTML: every answer, JSON and
    # plain text included, says its type is the one to use, as the console's pages do.
    app.add_middleware(NoSniff)
    app.add_middleware(BodyLimit, limit=limits.form_bytes)
    app.state.form_fields = limits.form_fields
    install_api(app, system, gate)
    registry = registry_for(system)
    install_console(
        app, system, SessionPolicy(idle_s=limits.session_idle_s, max_s=limits.session_max_s)
    )

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(require_token)])
    async def openapi() -> JSONResponse:
        """The API's OpenAPI schema; read it with any OpenAPI viewer."""
        return JSONResponse(app.openapi())

    @app.get("/healthz", response_class=PlainTextResponse)
    async def healthz() -> str:
        """Alive."""
        return "ok\n"

    @app.get("/readyz", response_class=PlainTextResponse, responses={503: {}})
    async def readyz() -> Response:
        """Accepting leads: open, and room in the inbox."""
        if gate.open and system.inbox_room() > 0:
            return PlainTextResponse("ready\n")
        return PlainTextResponse("not accepting leads\n", status_code=503)

    @app.get("/metrics", response_class=PlainTextResponse, dependencies=[Depends(require_token)])
    async def metrics() -> Response:
        """Prometheus text format."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors: list[dict[str, Any]] = [
            {"loc": [str(part) for part in e.get("loc", ())], "msg": str(e.get("msg", ""))}
            for e in exc.errors()[:50]
        ]
        return problem(422, "the request is invalid", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = problem(exc.status_code, str(exc.detail))
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    return app


class NoSniff:
    """ASGI middleware: ``X-Content-Type-Options: nosniff`` on every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
            await send(message)

        await self.app(scope, receive, with_header)
