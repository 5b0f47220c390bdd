"""Each package's public names, in trio's manner (``trio/_tests/test_exports.py``): a package
lists its public names in ``__all__``, and that list is true, tidy and whole.

Every package of the six layers whose name has no ``_`` part is checked: every name in
``__all__`` exists and is public; ``__all__`` is sorted as ruff sorts it and holds no name
twice; ``from package import *`` gives exactly ``__all__``; and every class or function
that the package's own modules define and its ``__init__`` re-exports is listed.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
import types
from collections.abc import Iterator

import pytest

LAYERS = ("messages", "bus", "actors", "supervision", "console", "cli")


def public_packages() -> Iterator[str]:
    """Every package of the layers, subpackages included, but the private ones."""
    for layer in LAYERS:
        yield layer
        root = importlib.import_module(layer)
        for found in pkgutil.walk_packages(root.__path__, f"{layer}."):
            if found.ispkg and not any(part.startswith("_") for part in found.name.split(".")):
                yield found.name


PACKAGES = list(public_packages())


def exported(package: types.ModuleType) -> list[str]:
    names = getattr(package, "__all__", None)
    assert isinstance(names, list), f"{package.__name__} has no __all__ list"
    return names


def undefined_or_private(package: types.ModuleType) -> list[str]:
    """The names of ``__all__`` that the package does not define, or that are private."""
    return [
        name for name in exported(package) if name.startswith("_") or not hasattr(package, name)
    ]


def ruff_order(name: str) -> tuple[int, str]:
    """Where ruff (RUF022) puts a name: constants, then classes, then the rest."""
    if len(name) > 1 and name.isupper():
        return (0, name)
    return (1, name) if name[:1].isupper() else (2, name)


def star_import(package: types.ModuleType) -> set[str]:
    """The names ``from package import *`` binds."""
    namespace: dict[str, object] = {}
    exec(f"from {package.__name__} import *", namespace)
    return set(namespace) - {"__builtins__"}


def unlisted(package: types.ModuleType) -> list[str]:
    """Public classes and functions of the package's own modules that its namespace
    holds but ``__all__`` does not list."""
    own = package.__name__
    listed = set(exported(package))
    return sorted(
        name
        for name, value in vars(package).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and (value.__module__ == own or value.__module__.startswith(f"{own}."))
        and name not in listed
    )


@pytest.fixture(params=PACKAGES)
def package(request: pytest.FixtureRequest) -> types.ModuleType:
    return importlib.import_module(request.param)


def test_the_packages_of_every_layer_are_checked() -> None:
    """The walk finds the layers and their public subpackages, and no private one."""
    assert {"actors.llm.testing", "supervision.system", "supervision.evaluation"} <= set(PACKAGES)
    assert set(LAYERS) <= set(PACKAGES)
    assert not [name for name in PACKAGES if "._" in name]


def test_every_name_in_all_exists_and_is_public(package: types.ModuleType) -> None:
    """``__all__`` names only what the package defines, and nothing private."""
    assert undefined_or_private(package) == []


def test_all_is_sorted_and_names_each_once(package: types.ModuleType) -> None:
    """``__all__`` is in ruff's order (constants, classes, the rest) with no name twice."""
    names = exported(package)
    assert len(set(names)) == len(names)
    assert names == sorted(names, key=ruff_order)


def test_a_star_import_gives_exactly_all(package: types.ModuleType) -> None:
    """``from package import *`` works, and binds the names of ``__all__``, no more."""
    assert star_import(package) == set(exported(package))


def test_every_class_and_function_re_exported_is_listed(package: types.ModuleType) -> None:
    """A class or function of the package that its ``__init__`` imports is public: it is
    in ``__all__`` (or the import is a mistake)."""
    assert unlisted(package) == []


def test_a_name_in_all_that_nothing_defines_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The checks fail on a package whose ``__all__`` names something it lost (as
    ``public_host`` once was), and on one that re-exports a function without listing it."""
    lost = types.ModuleType("lost")
    lost.__all__ = ["public_host"]  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "lost", lost)
    assert undefined_or_private(lost) == ["public_host"]
    with pytest.raises(AttributeError, match="public_host"):
        star_import(lost)

    silent = types.ModuleType("silent")
    silent.__all__ = []  # type: ignore[attr-defined]

    def helper() -> None: ...

    helper.__module__ = "silent._helpers"
    silent.helper = helper  # type: ignore[attr-defined]
    assert unlisted(silent) == ["helper"]
