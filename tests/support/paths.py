"""Where the tests find the repository's files: its root and the sample inputs."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The repository's root (the folder that holds ``run.py``)."""
EXAMPLES = ROOT / "examples"
"""The sample leads, ICP, knowledge base and evaluation sets."""
