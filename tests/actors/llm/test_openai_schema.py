"""The pure parts of the OpenAI backend: strict schemas, prices, retry-after and redaction."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel, Field

from actors.llm import reply_schema
from actors.llm._openai_errors import redact, retry_after_seconds
from actors.llm._pricing import PRICES, Price, cost_usd
from actors.llm._strict_schema import KEPT, strict_schema
from messages import Stage, UsageError


def walk(node: Any) -> list[dict[str, Any]]:
    """Every schema object in ``node``, nested ones included."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        found.append(node)
        for key, value in node.items():
            if key in ("properties", "$defs"):
                for sub in value.values():
                    found.extend(walk(sub))
            elif key == "items":
                found.extend(walk(value))
            elif key == "anyOf":
                for sub in value:
                    found.extend(walk(sub))
    return found


@pytest.mark.parametrize("stage", [Stage.RESEARCH, Stage.SCORING, Stage.WRITING])
def test_every_object_is_closed_and_requires_all_its_properties(stage: Stage) -> None:
    """Each object in a stage's strict schema forbids extras and requires every property."""
    schema = strict_schema(reply_schema(stage))
    objects = [node for node in walk(schema) if node.get("type") == "object"]
    assert objects
    for node in objects:
        assert node["additionalProperties"] is False
        assert node["required"] == list(node["properties"])


@pytest.mark.parametrize("stage", [Stage.RESEARCH, Stage.SCORING, Stage.WRITING])
def test_only_supported_keywords_remain(stage: Stage) -> None:
    """No keyword outside the strict-mode subset survives the rewrite."""
    for node in walk(strict_schema(reply_schema(stage))):
        assert set(node) <= KEPT, set(node) - KEPT


def test_dropped_constraints_move_into_the_description() -> None:
    """minLength is not accepted by strict mode, so it is dropped and told in the description."""
    schema = strict_schema(reply_schema(Stage.WRITING))
    assert schema["properties"]["subject"] == {
        "title": "Subject",
        "type": "string",
        "description": "Constraints: minLength=1.",
    }


def test_supported_bounds_are_kept() -> None:
    """minimum/maximum and minItems are strict-mode keywords and stay as they are."""
    scoring = strict_schema(reply_schema(Stage.SCORING))
    assert scoring["properties"]["score"]["minimum"] == 0
    assert scoring["properties"]["score"]["maximum"] == 100
    research = strict_schema(reply_schema(Stage.RESEARCH))
    assert research["$defs"]["ClaimReply"]["properties"]["evidence_ids"]["minItems"] == 1
    assert research["properties"]["claims"]["items"] == {"$ref": "#/$defs/ClaimReply"}


class Inner(BaseModel):
    name: str


class Outer(BaseModel):
    inner: Inner = Field(description="The inner one.")
    note: str | None = None
    tags: list[str] = Field(default_factory=list, max_length=3)


def test_optional_fields_become_required_and_nullable_and_refs_with_siblings_inline() -> None:
    """A defaulted field is required yet nullable; a described $ref is inlined; defaults go."""
    schema = strict_schema(Outer.model_json_schema())
    assert schema["required"] == ["inner", "note", "tags"]
    assert schema["properties"]["note"] == {
        "anyOf": [{"type": "string"}, {"type": "null"}],
        "title": "Note",
    }
    assert schema["properties"]["inner"] == {
        "description": "The inner one.",
        "properties": {"name": {"title": "Name", "type": "string"}},
        "required": ["name"],
        "title": "Inner",
        "type": "object",
        "additionalProperties": False,
    }
    assert schema["properties"]["tags"]["maxItems"] == 3


def test_the_input_schema_is_not_modified() -> None:
    """The rewrite works on a copy: the contract's schema stays as pydantic made it."""
    original = reply_schema(Stage.WRITING)
    strict_schema(original)
    assert original == reply_schema(Stage.WRITING)


def test_open_ended_objects_are_refused() -> None:
    """A dict field cannot be strict, and the error names where it is and what to do."""

    class Loose(BaseModel):
        counts: dict[str, int]

    with pytest.raises(UsageError) as caught:
        strict_schema(Loose.model_json_schema())
    assert str(caught.value) == (
        "The reply schema at #/properties/counts allows open-ended properties "
        "(additionalProperties={'type': 'integer'}); strict structured output needs every "
        "property named. Use a model with named fields instead of a dict."
    )


def test_a_non_object_root_is_refused() -> None:
    """Strict structured output needs an object at the root."""
    with pytest.raises(UsageError, match=r"root has type='array'"):
        strict_schema({"type": "array", "items": {"type": "string"}})


def test_a_known_model_and_its_dated_snapshot_have_the_same_price() -> None:
    """gpt-4o-mini and gpt-4o-mini-2024-07-18 cost the same; the longer family wins."""
    expected = (1000 * 0.15 + 500 * 0.60) / 1e6
    assert cost_usd("gpt-4o-mini", 1000, 500) == pytest.approx(expected)
    assert cost_usd("gpt-4o-mini-2024-07-18", 1000, 500) == pytest.approx(expected)
    assert cost_usd("gpt-4o-2024-08-06", 1_000_000, 0) == pytest.approx(
        PRICES["gpt-4o"].input_per_m
    )


def test_an_unknown_model_has_no_cost() -> None:
    """A model not in the table costs None, never a guess."""
    assert cost_usd("llama3.1:8b", 1000, 500) is None
    assert cost_usd("gpt-4o-audio-preview", 1000, 500) is None


def test_prices_can_be_overridden() -> None:
    """prices= replaces the table."""
    assert cost_usd("local", 2_000_000, 1_000_000, prices={"local": Price(1.0, 2.0)}) == 4.0


NOW = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "300"}, 0.3),
        ({"Retry-After": "2"}, 2.0),
        ({"retry-after": "1.5", "retry-after-ms": "250"}, 0.25),
        ({"retry-after": "Tue, 01 Jan 2030 12:00:07 GMT"}, 7.0),
        ({"retry-after": "Tue, 01 Jan 2030 11:59:00 GMT"}, 0.0),
        ({"retry-after": "soon"}, None),
        ({"retry-after-ms": "-5"}, None),
        ({"retry-after-ms": "nan"}, None),
        ({}, None),
    ],
)
def test_retry_after_is_read_from_either_header(
    headers: dict[str, str], expected: float | None
) -> None:
    """retry-after-ms (ms) wins over retry-after (seconds or HTTP date); garbage advises none."""
    assert retry_after_seconds(headers, now=NOW) == expected


def test_redaction_removes_the_key_bearer_tokens_and_key_like_strings() -> None:
    """A given secret, a bearer token and anything shaped like sk-... are scrubbed."""
    text = "key sk-test-SECRET123, header Bearer abc.def, masked sk-proj-****1234, custom hunter2"
    assert redact(text, ["hunter2"]) == (
        "key sk-[REDACTED], header Bearer [REDACTED], masked sk-[REDACTED], custom [REDACTED]"
    )
