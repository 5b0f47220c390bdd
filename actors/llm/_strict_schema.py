"""Pydantic's JSON Schema rewritten into the subset OpenAI's strict structured output accepts.

Strict mode (``"strict": true``) compiles the schema into a grammar, so it takes only a
subset of JSON Schema. The rewrite:

- every object gets ``additionalProperties: false`` and lists all its properties in
  ``required`` (an optional field stays optional by being nullable, never by absence);
- ``$defs`` are kept and a bare ``$ref`` stays a ref, which strict mode accepts; a ``$ref``
  with sibling keywords (``description``, say) is inlined, as strict mode forbids siblings;
- ``const`` becomes a one-value ``enum``, and a one-entry ``allOf`` is unwrapped;
- keywords outside the supported set are dropped, and the dropped constraints are
  appended to the node's ``description`` so the model still reads them.

Kept, because the Structured Outputs guide lists them as supported: ``type``,
``properties``, ``required``, ``additionalProperties``, ``items``, ``enum``, ``anyOf``,
``$ref``, ``$defs``, ``title``, ``description``; for strings ``pattern`` and ``format``;
for numbers ``minimum``, ``maximum``, ``exclusiveMinimum``, ``exclusiveMaximum`` and
``multipleOf``; for arrays ``minItems`` and ``maxItems``. Dropped: ``default``,
``examples``, ``minLength``, ``maxLength``, ``uniqueItems`` and anything else. Nothing
dropped is lost: ``parse_reply`` validates every reply against the pydantic model, so a
violated constraint still surfaces as ``SchemaMismatch``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from messages import UsageError

KEPT: frozenset[str] = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "anyOf",
        "$ref",
        "$defs",
        "title",
        "description",
        "pattern",
        "format",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minItems",
        "maxItems",
    }
)
"""The keywords strict mode accepts; any other is dropped."""

_QUIET_DROPS = frozenset({"default", "examples"})
"""Dropped without a note in the description: they constrain nothing."""


def strict_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``schema`` that OpenAI's strict structured output accepts.

    Raises ``UsageError`` for what strict mode cannot express: a root that is not an
    object, or an object with open-ended properties (a ``dict[str, X]`` field).
    """
    root = copy.deepcopy(dict(schema))
    if root.get("type") != "object":
        raise UsageError(
            f"The reply schema's root has type={root.get('type')!r}; strict structured "
            "output needs an object at the root."
        )
    return _node(root, root=root, path="#")


def _node(node: dict[str, Any], *, root: Mapping[str, Any], path: str) -> dict[str, Any]:
    all_of = node.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], Mapping):
        # Older pydantic wraps a described ref as allOf: [{$ref}]; unwrap it.
        node = {**all_of[0], **{k: v for k, v in node.items() if k != "allOf"}}
    ref = node.get("$ref")
    if isinstance(ref, str) and len(node) > 1:
        # Strict mode forbids keywords beside a $ref: inline the target, siblings winning.
        node = {**_resolve(root, ref), **{k: v for k, v in node.items() if k != "$ref"}}
    if "const" in node:
        node = {**node, "enum": [node["const"]]}
        del node["const"]
    out: dict[str, Any] = {}
    dropped: list[str] = []
    for key, value in node.items():
        if key in KEPT:
            out[key] = value
        elif key not in _QUIET_DROPS and key != "const":
            dropped.append(f"{key}={value!r}")
    if dropped:
        note = f"Constraints: {', '.join(dropped)}."
        out["description"] = f"{out['description']} {note}" if "description" in out else note

    if isinstance(out.get("$defs"), Mapping):
        out["$defs"] = {
            name: _node(dict(sub), root=root, path=f"{path}/$defs/{name}")
            for name, sub in out["$defs"].items()
        }
    if out.get("type") == "object" or "properties" in out:
        extra = out.get("additionalProperties", False)
        if extra is not False:
            raise UsageError(
                f"The reply schema at {path} allows open-ended properties "
                f"(additionalProperties={extra!r}); strict structured output needs every "
                "property named. Use a model with named fields instead of a dict."
            )
        properties = out.get("properties", {})
        out["properties"] = {
            name: _node(dict(sub), root=root, path=f"{path}/properties/{name}")
            for name, sub in properties.items()
        }
        out["required"] = list(properties)
        out["additionalProperties"] = False
    if isinstance(out.get("items"), Mapping):
        out["items"] = _node(dict(out["items"]), root=root, path=f"{path}/items")
    if isinstance(out.get("anyOf"), list):
        out["anyOf"] = [
            _node(dict(sub), root=root, path=f"{path}/anyOf/{i}")
            for i, sub in enumerate(out["anyOf"])
        ]
    return out


def _resolve(root: Mapping[str, Any], ref: str) -> dict[str, Any]:
    if not ref.startswith("#/"):
        raise UsageError(f"The reply schema has $ref={ref!r}; only local '#/...' refs work.")
    target: Any = root
    for part in ref[2:].split("/"):
        if not isinstance(target, Mapping) or part not in target:
            raise UsageError(f"The reply schema's $ref={ref!r} points at nothing.")
        target = target[part]
    if not isinstance(target, Mapping):
        raise UsageError(f"The reply schema's $ref={ref!r} is not a schema object.")
    return dict(target)
