"""Structured output on every kind of server: a ladder of modes, and what each one sends.

    rung                  response_format sent                          schema in the prompt
    json_schema           {"type": "json_schema", "json_schema": ...}   no
    json_object_schema    {"type": "json_object", "schema": ...}        yes
    json_object           {"type": "json_object"}                       yes
    prompt                (none)                                        yes

``--structured auto`` starts at the top and steps down a rung each time the server
refuses one (``refuses_response_format``); ``json_schema`` and ``prompt`` pin one rung;
``json_object`` means the two json_object rungs, with the schema first. Whatever the
rung, the reply is parsed, validated by pydantic and then by the validator: a weaker mode
never weakens a guarantee.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, final

from messages import UsageError, without_credentials


class StructuredMode(StrEnum):
    """What ``--structured`` picks: a rung of the ladder, or ``auto`` for all of them."""

    AUTO = "auto"
    JSON_SCHEMA = "json_schema"
    JSON_OBJECT = "json_object"
    PROMPT = "prompt"


class Rung(StrEnum):
    """One way of asking for JSON, from the strongest to the weakest."""

    JSON_SCHEMA = "json_schema"
    JSON_OBJECT_SCHEMA = "json_object_schema"
    JSON_OBJECT = "json_object"
    PROMPT = "prompt"


LADDER: tuple[Rung, ...] = tuple(Rung)
"""Every rung, strongest first."""

_RUNGS: dict[StructuredMode, tuple[Rung, ...]] = {
    StructuredMode.AUTO: LADDER,
    StructuredMode.JSON_SCHEMA: (Rung.JSON_SCHEMA,),
    StructuredMode.JSON_OBJECT: (Rung.JSON_OBJECT_SCHEMA, Rung.JSON_OBJECT),
    StructuredMode.PROMPT: (Rung.PROMPT,),
}

MODES_FILE = "structured_modes.json"
"""Where a run directory remembers the rung that worked, per base URL and model."""

_REFUSAL_STATUSES = frozenset({400, 422, 500})
_REFUSAL_WORDS = ("response_format", "json_schema", "structured output")


def structured_mode(value: StructuredMode | str) -> StructuredMode:
    """``value`` as a mode, or a ``UsageError`` naming the choices."""
    try:
        return StructuredMode(value)
    except ValueError:
        choices = "|".join(mode.value for mode in StructuredMode)
        raise UsageError(f"structured={value!r} is not a mode; pick one of {choices}") from None


def rungs(mode: StructuredMode) -> tuple[Rung, ...]:
    """The rungs ``mode`` may use, strongest first."""
    return _RUNGS[mode]


def response_format(rung: Rung, name: str, schema: Mapping[str, Any]) -> dict[str, Any] | None:
    """The ``response_format`` for ``rung`` (``schema`` already strict), or None for none."""
    match rung:
        case Rung.JSON_SCHEMA:
            return {
                "type": "json_schema",
                "json_schema": {"name": name, "schema": dict(schema), "strict": True},
            }
        case Rung.JSON_OBJECT_SCHEMA:
            return {"type": "json_object", "schema": dict(schema)}
        case Rung.JSON_OBJECT:
            return {"type": "json_object"}
        case Rung.PROMPT:
            return None


def schema_instruction(schema: Mapping[str, Any]) -> str:
    """A compact description of ``schema`` for the prompt, saying to reply with JSON alone."""
    return (
        "Reply with exactly one JSON object and nothing else (no prose, no code fence), "
        f"of this shape: {describe_schema(schema)}"
    )


def describe_schema(schema: Mapping[str, Any]) -> str:
    """``schema`` as a one-line sketch: ``{"score": integer 0..100, "tags": [string]}``."""
    return _sketch(schema, schema)


def _sketch(node: Mapping[str, Any], root: Mapping[str, Any]) -> str:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = root.get("$defs", {}).get(ref.removeprefix("#/$defs/"))
        if isinstance(target, Mapping):
            return _sketch(target, root)
    if isinstance(node.get("anyOf"), list):
        return " | ".join(_sketch(sub, root) for sub in node["anyOf"] if isinstance(sub, Mapping))
    if "enum" in node:
        return "|".join(json.dumps(value) for value in node["enum"])
    kind = node.get("type")
    if kind == "object" or "properties" in node:
        properties = node.get("properties", {})
        fields = ", ".join(f"{json.dumps(k)}: {_sketch(v, root)}" for k, v in properties.items())
        return "{" + fields + "}"
    if kind == "array":
        items = node.get("items")
        inner = _sketch(items, root) if isinstance(items, Mapping) else "any"
        least = node.get("minItems")
        return f"[{inner}, at least {least}]" if least else f"[{inner}]"
    text = str(kind or "any")
    low, high = node.get("minimum"), node.get("maximum")
    if low is not None and high is not None:
        text += f" {low}..{high}"
    elif low is not None:
        text += f" >= {low}"
    elif high is not None:
        text += f" <= {high}"
    if node.get("minLength"):
        text += " (not empty)"
    return text


class StatusError(Protocol):
    """What ``refuses_response_format`` reads of an ``openai.APIStatusError``."""

    status_code: int
    message: str
    body: object


def refuses_response_format(exc: StatusError) -> bool:
    """True when the error says the server does not take the ``response_format`` we sent.

    That is a 400, 422 or 500 whose body names ``response_format`` (or ``json_schema``,
    or structured output), as llama.cpp's server, vLLM and others answer a mode they lack.
    """
    if exc.status_code not in _REFUSAL_STATUSES:
        return False
    text = f"{exc.message} {json.dumps(exc.body, default=str)}".lower()
    return any(word in text for word in _REFUSAL_WORDS)


def strip_fence(text: str) -> str:
    """The JSON inside a Markdown code fence, as prompt-only replies often wrap it."""
    stripped = text.strip()
    if not stripped.startswith("```"):
        return text
    body = stripped.split("\n", 1)[1] if "\n" in stripped else ""
    return body.rsplit("```", 1)[0].strip()


@final
class ModeMemory:
    """The rung that worked, per base URL and model, kept in one JSON file.

    A run directory holds one, so the next run against the same server starts on the
    rung that worked instead of being refused again. Its methods do blocking file I/O:
    call them through ``anyio.to_thread``.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    @staticmethod
    def key(base_url: str, model: str) -> str:
        # Never a base URL with its credentials: the file is written to the run directory.
        return f"{without_credentials(base_url).rstrip('/')} {model}"

    def recall(self, base_url: str, model: str) -> Rung | None:
        """The rung remembered for ``model`` at ``base_url``, or None."""
        value = self._read().get(self.key(base_url, model))
        try:
            return Rung(value) if isinstance(value, str) else None
        except ValueError:
            return None

    def remember(self, base_url: str, model: str, rung: Rung) -> None:
        """Keep ``rung`` for ``model`` at ``base_url`` (written atomically)."""
        known = self._read()
        known[self.key(base_url, model)] = rung.value
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".tmp")
        partial.write_text(json.dumps(known, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        partial.replace(self.path)

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}
