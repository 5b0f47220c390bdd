"""A run's settings: one section per concept, kept as the flat ``settings.json`` every
version has written."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import pytest

from actors.llm import LlmKind, StructuredMode
from messages import UsageError
from supervision.system import (
    SETTINGS_FILE,
    EvidenceSettings,
    LlmSettings,
    RunFiles,
    RunLimits,
    RunSettings,
    Sources,
)

EARLIER = {
    "llm": "openai",
    "model": "gpt-4o-mini",
    "structured": "json_object",
    "provider_down_limit": 120.0,
    "fallback_model": None,
    "concurrency": 16,
    "timeout": 30.0,
    "latency_ms": 0.0,
    "chaos": 0.1,
    "seed": 3,
    "rpm": 100,
    "tpm": None,
    "kb": "/somewhere/companies.json",
    "icp": "/somewhere/icp.toml",
    "sources": "kb,web",
    "sources_ttl": 604800.0,
    "allow_private_sources": False,
    "research_ttl": 3600.0,
    "prices": None,
    "compact_every": 100,
    "compact_minutes": 10.0,
    "crm_fault_rate": 0.0,
    "baseline": None,
    "rules": None,
    "ops_retry": 4,
    "workspace": None,
    "prompts": None,
}
"""A ``settings.json`` as the version before the sections wrote it."""


def test_an_earlier_settings_file_loads_into_the_sections(tmp_path: Path) -> None:
    """Each key of an earlier ``settings.json`` lands in its section, as its real type."""
    (tmp_path / SETTINGS_FILE).write_text(json.dumps(EARLIER, indent=2), encoding="utf-8")

    settings = RunSettings.load(tmp_path)

    assert settings.llm.backend is LlmKind.OPENAI
    assert settings.llm.structured is StructuredMode.JSON_OBJECT
    assert (settings.llm.seed, settings.llm.rpm, settings.llm.chaos) == (3, 100, 0.1)
    assert settings.evidence.sources is Sources.KB_WEB
    assert settings.evidence.kb == Path("/somewhere/companies.json")
    assert settings.files.icp == Path("/somewhere/icp.toml")
    assert settings.limits == RunLimits()


def test_settings_are_written_back_as_the_same_flat_file(tmp_path: Path) -> None:
    """Loaded and saved again, an earlier file is the same JSON, key for key, in order."""
    (tmp_path / SETTINGS_FILE).write_text(json.dumps(EARLIER, indent=2), encoding="utf-8")

    RunSettings.load(tmp_path).save(tmp_path / "again")

    text = (tmp_path / "again" / SETTINGS_FILE).read_text(encoding="utf-8")
    assert text == json.dumps(EARLIER, indent=2) + "\n"


def test_a_file_of_an_older_version_with_fewer_keys_takes_the_defaults(tmp_path: Path) -> None:
    """Keys an older version did not write yet take their defaults."""
    older = {key: EARLIER[key] for key in ("llm", "model", "kb", "icp")}
    (tmp_path / SETTINGS_FILE).write_text(json.dumps(older), encoding="utf-8")

    settings = RunSettings.load(tmp_path)

    assert settings.limits == RunLimits()
    assert settings.evidence.research_ttl == EvidenceSettings().research_ttl


def test_every_field_of_every_section_has_its_key_in_the_file() -> None:
    """No setting is left out of ``settings.json``: the flat keys cover every field."""
    flat = RunSettings().flat()
    sections = (LlmSettings, EvidenceSettings, RunLimits, RunFiles)
    assert len(flat) == sum(len(fields(section)) for section in sections)


@pytest.mark.parametrize(
    ("change", "wrong"),
    [
        ({"timeout": 0}, "timeout: Input should be greater than 0"),
        ({"llm": "gpt"}, "backend: Input should be 'offline', 'openai' or 'local'"),
        ({"color": "red"}, "unknown settings: color"),
    ],
)
def test_settings_that_cannot_work_are_refused_saying_which(
    change: dict[str, object], wrong: str
) -> None:
    """A bad value or an unknown key is a ``ValueError`` naming it."""
    with pytest.raises(ValueError, match=wrong):
        RunSettings.from_flat(EARLIER | change)


def test_an_unreadable_settings_file_is_one_line_saying_to_run_again(tmp_path: Path) -> None:
    """A file that is not the settings of a run is a ``UsageError``, not a traceback."""
    (tmp_path / SETTINGS_FILE).write_text("[1, 2]", encoding="utf-8")

    with pytest.raises(UsageError, match=r"unreadable run settings .*; run again to rewrite it"):
        RunSettings.load(tmp_path)
