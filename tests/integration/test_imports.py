"""Import time: a process loads the heavy libraries only once it uses them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.paths import ROOT

HEAVY = ("openai", "scipy", "matplotlib", "numpy", "httpx2", "trafilatura", "courlan")
"""Each takes from a tenth of a second to a second to import."""


def python(code: str) -> str:
    """What ``code`` prints, run by a fresh interpreter from the repository root."""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.mark.slow
def test_importing_the_command_line_loads_no_heavy_library() -> None:
    """``import run`` (what every command pays) imports neither openai, scipy nor matplotlib."""
    code = f"import sys, run; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    assert python(code) == "[]"


@pytest.mark.slow
def test_a_lazy_module_is_imported_when_first_used() -> None:
    """``lazy_module`` imports nothing until an attribute is read, then gives the real one."""
    code = (
        "import sys\n"
        "from actors.runtime import lazy_module\n"
        "wave = lazy_module('wave')\n"
        "before = 'wave' in sys.modules\n"
        "error = wave.Error\n"
        "print(before, 'wave' in sys.modules, error is sys.modules['wave'].Error)"
    )
    assert python(code) == "False True True"


@pytest.mark.slow
def test_the_openai_backend_still_loads_openai_when_built() -> None:
    """Building ``OpenAiLlm`` imports the SDK and makes its real client."""
    code = (
        "import sys\n"
        "from actors.llm import OpenAiLlm\n"
        "before = 'openai' in sys.modules\n"
        "llm = OpenAiLlm(model='gpt-4o-mini', api_key='sk-test', base_url='http://127.0.0.1:9')\n"
        "print(before, type(llm.client).__module__.split('.')[0])"
    )
    assert python(code) == "False openai"
