"""The user-facing docs match the code, in Datasette's manner: a test fails when something
is added to the code and not to its page.

- docs/cli.md: every command and option (generated from ``--help``, checked current);
- docs/architecture.md: every message kind, failure kind (with its path) and outcome, and
  the one-way imports between the packages;
- docs/run-directory.md: every file and table the code makes in a run directory;
- docs/service.md: every route of the real app but the console's pages;
- docs/testing.md: its example test passes;
- README.md and every page: the README stays short and links every page, every relative
  link and anchor resolves, every test file named exists, every table is well formed, and
  every ``run.py`` command shown is one the CLI takes.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import shlex
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
import typer
from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute
from typer.core import TyperGroup

import messages
from actors import PENDING
from cli import app
from console import create_app
from supervision.system import Gate, System
from tests.support.paths import ROOT

DOCS = ROOT / "docs"


def test_the_command_line_reference_is_current() -> None:
    """docs/cli.md is what scripts/cli_reference.py makes from the commands' --help."""
    path = ROOT / "scripts" / "cli_reference.py"
    spec = importlib.util.spec_from_file_location("cli_reference", path)
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.TARGET == DOCS / "cli.md"
    assert script.reference() == script.TARGET.read_text("utf-8"), (
        "docs/cli.md is out of date: run python scripts/cli_reference.py"
    )


def test_every_command_and_option_says_what_it_is_for() -> None:
    """No command or option reaches the reference without its own help text."""
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    missing: list[str] = []
    groups = [("run.py", root)]
    while groups:
        path, group = groups.pop()
        for name, command in group.commands.items():
            where = f"{path} {name}"
            if not (command.help or "").strip():
                missing.append(where)
            if isinstance(command, TyperGroup):
                groups.append((where, command))
                continue
            for param in command.params:
                text = getattr(param, "help", None)
                if param.param_type_name == "option" and not (text or "").strip():
                    missing.append(f"{where} {param.opts[0]}")
    assert missing == []


# docs/architecture.md: the contracts, the taxonomy and the outcomes, as the code has them.

LAYERS = ("messages", "bus", "actors", "supervision", "console", "cli")
"""The packages from the bottom floor up: each may import only those before it."""


def page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def tables(text: str, heading: str) -> list[dict[str, list[str]]]:
    """The tables of the section under ``heading`` (up to the next ``## ``), each row keyed
    by its first cell's first word without backticks, as its cells; header rows left out."""
    section = text.split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0]
    found: list[dict[str, list[str]]] = []
    rows: dict[str, list[str]] | None = None
    for line in section.splitlines():
        if not line.startswith("|"):
            rows = None
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if rows is None:
            rows = {}
            found.append(rows)
        elif set(cells[0]) != {"-"}:
            rows[cells[0].split(" ")[0].strip("`")] = cells
    return found


def test_every_message_kind_is_in_the_architecture() -> None:
    """Each registered message kind has a row of the contracts, naming its type."""
    on_bus, parts = tables(page("architecture.md"), "## Message contracts")
    rows = on_bus | parts
    # Tests register message types of their own; the contracts are the package's.
    contracts = [t for t in messages.registry if t.__module__.split(".")[0] == "messages"]
    missing = [
        f"{t.kind_name()} ({t.__name__})"
        for t in contracts
        if t.kind_name() not in rows or f"`{t.__name__}`" not in rows[t.kind_name()]
    ]
    assert missing == []
    assert set(rows) <= {t.kind_name() for t in contracts}


def test_every_exported_message_type_is_in_the_architecture() -> None:
    """Each message type ``messages`` exports is registered, so the contracts list it."""
    exported = [getattr(messages, name) for name in messages.__all__]
    types = [t for t in exported if isinstance(t, type) and issubclass(t, messages.Message)]
    registered = set(messages.registry)
    assert [t.__name__ for t in types if t is not messages.Message and t not in registered] == []


def test_every_failure_kind_has_its_path_in_the_architecture() -> None:
    """The taxonomy's table is the policy table: detection, path, end and queue per kind."""
    (rows,) = tables(page("architecture.md"), "## The failure taxonomy")
    for kind, policy in messages.POLICIES.items():
        assert kind.value in rows, kind
        _, detected, path, ends, waits = rows[kind.value]
        assert detected == policy.detected_by, kind
        assert path == policy.path, kind
        assert ends == (f"`{policy.exhausted.value}`" if policy.exhausted else "—"), kind
        assert waits == (policy.queue.value if policy.queue is not messages.Queue.NONE else "—")
    assert set(rows) == {kind.value for kind in messages.FailureKind}


def test_every_outcome_is_in_the_architecture() -> None:
    """The outcomes' table has a row for each outcome, and for pending, and no other."""
    (rows,) = tables(page("architecture.md"), "## Outcomes")
    assert set(rows) == {o.value for o in messages.Outcome} | {PENDING}


def imported_packages(path: Path) -> set[str]:
    """The Leadwright packages ``path`` imports (absolute imports)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & {*LAYERS, "run"}


def test_imports_flow_one_way_as_the_architecture_draws_them() -> None:
    """No package imports one above it in the layers of docs/architecture.md."""
    upward = [
        f"{path.relative_to(ROOT)} imports {name}"
        for floor, package in enumerate(LAYERS)
        for path in sorted((ROOT / package).rglob("*.py"))
        for name in imported_packages(path)
        if name == "run" or LAYERS.index(name) > floor
    ]
    assert upward == []
    drawn = "  ─►  ".join(reversed(LAYERS[:-1]))
    assert f"run.py, cli  ─►  {drawn}" in page("architecture.md")


# docs/run-directory.md: every file and table the code makes in a run directory.

PACKAGES_SOURCE = [path for package in LAYERS for path in sorted((ROOT / package).rglob("*.py"))]
RUN_FILE = re.compile(r'^[A-Z_]*(?:FILE|DIR|CACHE)S? = "([^"]+)"', re.MULTILINE)
TABLE = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+)")


def test_every_file_of_a_run_directory_is_documented() -> None:
    """Each file or folder name the code declares (``*_FILE``, ``*_DIR``) is listed."""
    doc = page("run-directory.md")
    names = {m for path in PACKAGES_SOURCE for m in RUN_FILE.findall(path.read_text("utf-8"))}
    assert names
    assert sorted(n for n in names if f"`{n}`" not in doc and f"`{n}/`" not in doc) == []


def test_every_table_of_the_run_directory_is_documented() -> None:
    """Each table the code creates has a row of its own in the page."""
    (journal,) = tables(page("run-directory.md"), "## The tables of `journal.sqlite`")
    tables_made = {m for path in PACKAGES_SOURCE for m in TABLE.findall(path.read_text("utf-8"))}
    assert "contacts" in tables_made  # crm.sqlite's, described with its file
    assert sorted(tables_made - {"contacts"} - set(journal)) == []


# docs/service.md: every route of the API, as the app serves it.


def api_routes(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    """The app's routes, those of the routers it includes too, console pages left out."""
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI keeps included routers
        if isinstance(included, APIRouter):
            yield from api_routes(included.routes)
        elif isinstance(route, APIRoute) and not route.endpoint.__module__.startswith(
            "console._ui"
        ):
            yield route


@pytest.mark.anyio
async def test_every_route_of_the_api_is_in_the_service_page(system: System) -> None:
    """Each method and path the app answers outside the console has its heading or row."""
    app = create_app(system, Gate(), "a-token-long-enough-for-serve")
    found = list(api_routes(app.routes))
    routes = {f"{method} {r.path_format}" for r in found for method in r.methods or ()}
    schema = {f"{m.upper()} {p}" for p, ops in app.openapi()["paths"].items() for m in ops}
    assert schema <= routes
    assert any(route.startswith("POST /v1/") for route in routes)
    doc = page("service.md")
    assert sorted(route for route in routes if f"`{route}`" not in doc) == []


# docs/testing.md: its example is a test that passes.


def test_the_example_of_testing_an_actor_runs() -> None:
    """The page's first Python block, a test of an actor on the test bus, passes as shown."""
    code = page("testing.md").split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(code, str(DOCS / "testing.md"), "exec"), namespace)
    (test,) = [value for name, value in namespace.items() if name.startswith("test_")]
    anyio.run(test, backend="asyncio")


# The README and the links between the pages.

README = ROOT / "README.md"
PAGES = [README, ROOT / "CHANGELOG.md", *sorted(DOCS.glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def without_code(text: str) -> str:
    return FENCE.sub("", text)


def anchor(heading: str) -> str:
    """The id GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    headings = re.findall(r"^#+ (.+)$", without_code(path.read_text("utf-8")), re.MULTILINE)
    return {anchor(heading) for heading in headings}


def test_the_readme_fits_a_newcomers_reading() -> None:
    """The README stays a first page (about 100 lines), the rest in docs/."""
    assert len(README.read_text("utf-8").splitlines()) <= 120


def test_every_page_of_the_docs_is_linked_from_the_readme() -> None:
    """A page under docs/ that the README does not link is a page nobody finds."""
    linked = set(LINK.findall(README.read_text("utf-8")))
    pages = [f"docs/{path.name}" for path in sorted(DOCS.glob("*.md"))]
    assert [page for page in pages if page not in linked] == []
    assert "CHANGELOG.md" in linked


@pytest.mark.parametrize("path", PAGES, ids=lambda path: path.name)
def test_every_relative_link_points_to_a_file_and_heading_that_exist(path: Path) -> None:
    """Each link to a file of the repository finds it, and its #fragment a heading there."""
    broken = []
    for target in LINK.findall(without_code(path.read_text("utf-8"))):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        file, _, fragment = target.partition("#")
        found = (path.parent / file).resolve() if file else path
        missing = fragment and found.suffix == ".md" and fragment not in anchors(found)
        if not found.exists() or missing:
            broken.append(target)
    assert broken == []


@pytest.mark.parametrize("path", [*PAGES, ROOT / "scripts" / "test"], ids=lambda path: path.name)
def test_every_test_file_a_page_names_exists(path: Path) -> None:
    """A page that sends the reader to a test file (``tests/.../test_x.py``) names one that
    is there: moving a test moves the pages' pointers to it."""
    named = re.findall(r"tests/[\w/]+\.py", path.read_text("utf-8"))
    assert [name for name in named if not (ROOT / name).is_file()] == []


@pytest.mark.parametrize("path", PAGES, ids=lambda path: path.name)
def test_every_table_row_has_as_many_cells_as_its_header(path: Path) -> None:
    """A ``|`` left unescaped in a cell would shift the columns of its row."""
    bad = []
    width = 0
    for number, line in enumerate(without_code(path.read_text("utf-8")).splitlines(), 1):
        if not line.startswith("|"):
            width = 0
            continue
        cells = len(re.split(r"(?<!\\)\|", line.strip())) - 2
        if width == 0:
            width = cells
        elif cells != width:
            bad.append(f"{path.name}:{number}")
    assert bad == []


def command_lines(text: str) -> Iterator[list[str]]:
    """The arguments of every ``python run.py`` or ``leadwright`` command in the code
    blocks of ``text`` (continued lines joined, pipes and ``&&`` split apart)."""
    for block in FENCE.findall(text):
        for line in block.replace("\\\n", " ").splitlines():
            for segment in re.split(r"&&|\|\||[|;&]", line):
                if "run.py" not in segment and "leadwright " not in segment:
                    continue
                try:
                    tokens = shlex.split(segment, comments=True)
                except ValueError:
                    continue
                while tokens and (tokens[0] == "$" or re.match(r"^[A-Z_]+=", tokens[0])):
                    tokens.pop(0)
                if tokens[:2] == ["python", "run.py"]:
                    yield tokens[2:]
                elif tokens[:1] == ["leadwright"]:
                    yield tokens[1:]


COMMANDS = typer.main.get_command(app)
"""The command tree, built once for every page's commands: building it takes a while."""


def misuse(args: list[str]) -> str | None:
    """Why ``args`` are not a command line the CLI takes (an unknown command or option)."""
    command = COMMANDS
    rest = list(args)
    while isinstance(command, TyperGroup) and rest and not rest[0].startswith("-"):
        found = command.commands.get(rest[0])
        if found is None:
            return f"no command {rest[0]!r} in {' '.join(args)}"
        command = found
        rest.pop(0)
    options = {"--help", "-h"} | {
        name for param in command.params for name in (*param.opts, *param.secondary_opts)
    }
    for token in rest:
        name = token.split("=", 1)[0]
        if name.startswith("-") and name != "-" and name not in options:
            return f"no option {name} of {command.name!r} in {' '.join(args)}"
    return None


@pytest.mark.parametrize("path", PAGES, ids=lambda path: path.name)
def test_every_command_shown_is_one_the_cli_takes(path: Path) -> None:
    """Each ``run.py`` line of a code block names a real command and its real options."""
    lines = list(command_lines(path.read_text("utf-8")))
    assert [reason for args in lines if (reason := misuse(args)) is not None] == []
