"""`clean_schema`: examples for each rule, and property tests over generated JSON schemas."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from switchyard.translate import clean_schema
from switchyard.translate.schema import KEYWORDS, TYPES

RESPONSE_KEYWORDS = KEYWORDS | {"additionalProperties"}


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "string", "const": "a"}, {"type": "string", "enum": ["a"]}),
        ({"enum": [1, 2.5, True, None]}, {"type": "string", "enum": ["1", "2.5", "true"], "nullable": True}),
        ({"type": "integer", "enum": [1, 2]}, {"type": "integer", "enum": ["1", "2"]}),
        (
            {"type": ["number", "null"], "enum": [0.5, None]},
            {"type": "number", "enum": ["0.5"], "nullable": True},
        ),
        ({"type": ["integer", "null"]}, {"type": "integer", "nullable": True}),
        ({"type": ["string", "integer"]}, {"type": "string", "description": "(accepts: string | integer)"}),
        (
            {"anyOf": [{"type": "string"}, {"type": "null"}], "description": "d"},
            {"type": "string", "nullable": True, "description": "d"},
        ),
        ({"oneOf": [{"const": "a"}, {"const": "b"}]}, {"type": "string", "enum": ["a", "b"]}),
        (
            {"anyOf": [{"type": "string"}, {"type": "object", "properties": {"x": {"type": "number"}}}]},
            {
                "type": "object",
                "properties": {"x": {"type": "number"}},
                "description": "(accepts: string | object)",
            },
        ),
        (
            {
                "allOf": [
                    {"type": "object", "properties": {"a": {"type": "string"}}},
                    {"properties": {"b": {"type": "string"}}, "required": ["b"]},
                ]
            },
            {
                "type": "object",
                "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
                "required": ["b"],
            },
        ),
        (
            {
                "type": "string",
                "minLength": 1,
                "maxLength": 5,
                "pattern": "^a",
                "format": "email",
                "default": "a@b",
                "description": "Mail",
            },
            {
                "type": "string",
                "description": 'Mail (format: "email"; pattern: "^a"; minLength: 1; maxLength: 5; default: "a@b")',
            },
        ),
        (
            {"type": "integer", "minimum": 0, "exclusiveMaximum": 10},
            {"type": "integer", "description": "(minimum: 0; exclusiveMaximum: 10)"},
        ),
        (
            {"title": "Name", "type": "string", "x-mcp-header": "h", "deprecated": True, "$comment": "c"},
            {"type": "string", "description": "Name"},
        ),
        ({"type": "array", "items": [{"type": "string"}]}, {"type": "array", "items": {"type": "string"}}),
        (
            {"type": "array", "prefixItems": [{"type": "integer"}]},
            {"type": "array", "items": {"type": "integer"}},
        ),
        (
            {"properties": {"a": {"type": "string"}}, "required": ["a", "ghost", "a"]},
            {"properties": {"a": {"type": "string"}}, "type": "object", "required": ["a"]},
        ),
        (
            {"type": "object", "additionalProperties": {"type": "string"}, "propertyNames": {"pattern": "x"}},
            {"type": "object"},
        ),
        ({"type": "STRING"}, {"type": "string"}),
        ({"$ref": "https://example.com/remote.json", "description": "r"}, {"description": "r"}),
    ],
)
def test_rules(schema: dict[str, Any], expected: dict[str, Any]) -> None:
    assert clean_schema(schema, target="gemini") == expected


def test_local_refs_are_inlined_and_cycles_stopped() -> None:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "root": {"$ref": "#/$defs/Node"},
            "old": {"$ref": "#/definitions/Leaf", "description": "legacy"},
        },
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {"child": {"$ref": "#/$defs/Node"}, "name": {"type": "string"}},
            }
        },
        "definitions": {"Leaf": {"type": "integer", "description": "a leaf"}},
    }
    assert clean_schema(schema, target="gemini") == {
        "type": "object",
        "properties": {
            "root": {
                "type": "object",
                "properties": {
                    "child": {"type": "object", "description": "(recursive: Node)"},
                    "name": {"type": "string"},
                },
            },
            "old": {"type": "integer", "description": "legacy"},
        },
    }


def test_additional_properties_false_kept_only_for_response_schemas() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False}
    assert "additionalProperties" not in clean_schema(schema, target="gemini")
    assert clean_schema(schema, target="gemini", for_response=True) is schema


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        (
            {"type": "object"},
            {
                "type": "object",
                "properties": {
                    "reason": {
                        "type": "string",
                        "description": "Brief explanation of why you are calling this tool",
                    }
                },
                "required": ["reason"],
            },
        ),
        (
            {"type": "object", "properties": {}},
            {
                "type": "object",
                "properties": {
                    "reason": {
                        "type": "string",
                        "description": "Brief explanation of why you are calling this tool",
                    }
                },
                "required": ["reason"],
            },
        ),
        (
            {
                "type": "object",
                "properties": {"o": {"type": "object", "properties": {"x": {"type": "string"}}}},
                "required": ["o"],
            },
            {
                "type": "object",
                "properties": {
                    "o": {
                        "type": "object",
                        "properties": {
                            "x": {"type": "string"},
                            "_": {"type": "boolean", "description": "Placeholder; always pass true"},
                        },
                        "required": ["_"],
                    }
                },
                "required": ["o"],
            },
        ),
    ],
)
def test_claude_objects_always_require_something(schema: dict[str, Any], expected: dict[str, Any]) -> None:
    assert clean_schema(schema, target="claude") == expected
    assert "required" not in clean_schema(schema, target="gemini") or schema.get("required")


def test_already_clean_input_is_returned_without_copying() -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "description": "Find files",
        "properties": {
            "pattern": {"type": "string", "description": "glob"},
            "kinds": {"type": "array", "items": {"type": "string", "enum": ["file", "dir"]}},
            "limit": {"type": "integer", "nullable": True},
        },
        "required": ["pattern"],
    }
    assert clean_schema(schema, target="gemini") is schema
    assert clean_schema(schema, target="claude") is schema
    # A dirty leaf copies only the path to it; clean siblings are shared, not copied.
    dirty = {**schema, "properties": {**schema["properties"], "extra": {"type": "string", "format": "uri"}}}
    cleaned = clean_schema(dirty, target="gemini")
    assert cleaned is not dirty
    assert cleaned["properties"]["kinds"] is schema["properties"]["kinds"]


# -- property tests ------------------------------------------------------------------------------

NAMES = st.text(alphabet="abcxyz_-$ .", min_size=1, max_size=6)
SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=4),
)
TYPE_NAMES = st.sampled_from(["string", "number", "integer", "boolean", "array", "object", "null"])
JUNK_KEYS = st.sampled_from(
    [
        "$schema",
        "$id",
        "$comment",
        "title",
        "x-foo",
        "x-mcp-header",
        "deprecated",
        "readOnly",
        "examples",
        "default",
        "format",
        "pattern",
        "minLength",
        "maximum",
        "propertyNames",
        "patternProperties",
        "if",
        "then",
        "not",
        "contentEncoding",
        "discriminator",
    ]
)


def leaf() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.fixed_dictionaries({"type": TYPE_NAMES}),
        st.fixed_dictionaries({"type": st.lists(TYPE_NAMES, min_size=1, max_size=3)}),
        st.fixed_dictionaries({"const": SCALAR}),
        st.fixed_dictionaries({"enum": st.lists(SCALAR, min_size=1, max_size=4)}),
        st.fixed_dictionaries(
            {
                "$ref": st.sampled_from(
                    ["#/$defs/A", "#/definitions/B", "#", "#/$defs/missing", "other.json#/x"]
                )
            }
        ),
        st.builds(lambda k, v: {k: v}, JUNK_KEYS, SCALAR),
    )


def extend(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.builds(
            lambda props, req, extra: {"type": "object", "properties": props, "required": req, **extra},
            st.dictionaries(NAMES, children, max_size=4),
            st.lists(NAMES, max_size=3),
            st.dictionaries(JUNK_KEYS, SCALAR, max_size=2),
        ),
        st.builds(lambda items: {"type": "array", "items": items}, children),
        st.builds(lambda branches: {"anyOf": branches}, st.lists(children, min_size=1, max_size=3)),
        st.builds(lambda branches: {"oneOf": branches}, st.lists(children, min_size=1, max_size=3)),
        st.builds(lambda branches: {"allOf": branches}, st.lists(children, min_size=1, max_size=3)),
        st.builds(lambda child, desc: {**child, "description": desc}, children, st.text(max_size=5)),
    )


SCHEMAS = st.recursive(leaf(), extend, max_leaves=12)
ROOTS = st.builds(
    lambda root, defs_a, defs_b: {**root, "$defs": {"A": defs_a}, "definitions": {"B": defs_b}},
    SCHEMAS,
    SCHEMAS,
    SCHEMAS,
)


def walk(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Every schema node reachable in a cleaned schema."""
    nodes = [schema]
    for child in (schema.get("properties") or {}).values():
        nodes.extend(walk(child))
    if isinstance(schema.get("items"), dict):
        nodes.extend(walk(schema["items"]))
    return nodes


def plain_property_paths(schema: Any, path: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Property paths through plain object nodes (no ref/composition), which must all survive."""
    if not isinstance(schema, dict) or any(k in schema for k in ("$ref", "allOf", "anyOf", "oneOf")):
        return set()
    paths: set[tuple[str, ...]] = set()
    properties = schema.get("properties")
    if isinstance(properties, dict):
        for name, child in properties.items():
            paths.add((*path, name))
            paths |= plain_property_paths(child, (*path, name))
    if isinstance(schema.get("items"), dict):
        paths |= plain_property_paths(schema["items"], (*path, "[]"))
    return paths


def output_paths(schema: dict[str, Any], path: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    paths: set[tuple[str, ...]] = set()
    for name, child in (schema.get("properties") or {}).items():
        paths.add((*path, name))
        paths |= output_paths(child, (*path, name))
    if isinstance(schema.get("items"), dict):
        paths |= output_paths(schema["items"], (*path, "[]"))
    return paths


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=ROOTS, target=st.sampled_from(["gemini", "claude"]), for_response=st.booleans())
def test_cleaned_schemas_use_only_allowed_keywords_and_keep_property_names(
    schema: dict[str, Any], target: Any, for_response: bool
) -> None:
    snapshot = copy.deepcopy(schema)
    cleaned = clean_schema(schema, target=target, for_response=for_response)
    assert schema == snapshot, "the input was mutated"
    allowed = RESPONSE_KEYWORDS if for_response else KEYWORDS
    for node in walk(cleaned):
        assert set(node) <= allowed, set(node) - allowed
        if "type" in node:
            assert node["type"] in TYPES
        if "enum" in node:
            assert node["type"] in ("string", "integer", "number", "boolean")
            assert all(isinstance(v, str) for v in node["enum"]) and node["enum"]
        if "required" in node:
            assert set(node["required"]) <= set(node.get("properties") or {})
        if "additionalProperties" in node:
            assert node["additionalProperties"] is False
        if target == "claude" and node.get("type") == "object":
            assert node.get("required"), node
    assert plain_property_paths(schema) <= output_paths(cleaned)
    # Cleaning is idempotent, and a clean schema comes back as the same object.
    assert clean_schema(cleaned, target=target, for_response=for_response) == cleaned
    assert clean_schema(cleaned, target=target, for_response=for_response) is cleaned
