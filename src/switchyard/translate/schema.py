"""JSON Schema → the upstream's `Schema` subset, by allow-list (protocols/antigravity.md §8.3).

Why an allow-list: every keyword the upstream does not know is a 400 ("Unknown name `const`",
`$ref`, `propertyNames`, `x-mcp-header`, ...: field-notes 4), and new MCP servers invent new ones
weekly. So only `KEYWORDS` survive; what carries meaning is translated first:

- local `$ref` into `$defs`/`definitions` (or `#`) is inlined; a cycle becomes a described object;
- `allOf` is merged; `anyOf`/`oneOf` collapse to one branch (a `null` branch becomes `nullable`,
  enum-only branches merge into one string enum);
- `type: [a, "null"]` → `type: a, nullable: true`; `const` → one-value enum; enum values → strings
  (the upstream accepts string enums only) under the declared scalar type (string when none);
- constraints (`minLength`, `pattern`, `format`, `default`, ...) become a hint in `description`,
  so the model still sees them;
- Claude (tool mode VALIDATED): every object needs a required property, so an empty root object
  gets `reason` and other objects without `required` get a `_` placeholder.

Never mutates its input, keeps every property name, and returns the input object itself (no
copy) for any sub-schema that is already clean. Apply to schemas only, never to call arguments.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

KEYWORDS = frozenset({"type", "description", "nullable", "enum", "properties", "required", "items"})
"""Every keyword a cleaned schema may contain (plus `additionalProperties: false` in response schemas)."""

TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object"})
_ENUM_TYPES = frozenset({"string", "number", "integer", "boolean"})

HINT_KEYWORDS = (
    "format",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "default",
    "examples",
    "example",
)
"""Constraints the upstream refuses but the model should still read: moved into `description`."""

CLAUDE_ROOT_PLACEHOLDER = "reason"
CLAUDE_NESTED_PLACEHOLDER = "_"
_REASON_SCHEMA = {"type": "string", "description": "Brief explanation of why you are calling this tool"}
_UNDERSCORE_SCHEMA = {"type": "boolean", "description": "Placeholder; always pass true"}
_BRANCH_PREFERENCE = ("object", "array", "string", "number", "integer", "boolean")

Target = Literal["gemini", "claude"]


def clean_schema(schema: Mapping[str, Any], *, target: Target, for_response: bool = False) -> dict[str, Any]:
    """The allow-listed equivalent of a JSON Schema; see the module docstring for the rules."""
    cleaner = _Cleaner(schema, target=target, for_response=for_response)
    return cleaner.clean(schema, root=True)


class _Cleaner:
    """One cleaning pass: holds the root (for `$ref`) and the chain of refs being expanded."""

    def __init__(self, root: Mapping[str, Any], *, target: Target, for_response: bool) -> None:
        self.root = root
        self.claude = target == "claude"
        self.for_response = for_response
        self.expanding: list[str] = []
        self.placeholders = self.claude

    def clean(self, node: Any, *, root: bool = False) -> dict[str, Any]:
        if not isinstance(node, dict):
            return {}
        if "$ref" in node:
            return self._ref(node, root=root)
        if "allOf" in node:
            return self.clean(self._merge_all_of(node), root=root)
        for key in ("anyOf", "oneOf"):
            if key in node:
                return self.clean(self._collapse(node, key), root=root)
        return self._clean_plain(node, root=root)

    # -- composition ---------------------------------------------------------------------------

    def _ref(self, node: dict[str, Any], *, root: bool) -> dict[str, Any]:
        ref = node["$ref"]
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        if not isinstance(ref, str) or ref in self.expanding:
            name = ref.rsplit("/", 1)[-1] if isinstance(ref, str) else "schema"
            return self.clean(
                {"type": "object", "description": f"(recursive: {name})", **siblings}, root=root
            )
        target = self._resolve(ref)
        self.expanding.append(ref)
        try:
            return self.clean({**target, **siblings} if isinstance(target, dict) else siblings, root=root)
        finally:
            self.expanding.pop()

    def _resolve(self, ref: str) -> Any:
        """A local JSON pointer (`#`, `#/$defs/x`, `#/definitions/x`); anything else resolves to {}."""
        if not ref.startswith("#"):
            return {}
        node: Any = self.root
        for token in ref[1:].lstrip("/").split("/") if ref != "#" else []:
            token = token.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and token in node:
                node = node[token]
            else:
                return {}
        return node

    def _merge_all_of(self, node: dict[str, Any]) -> dict[str, Any]:
        merged = {key: value for key, value in node.items() if key != "allOf"}
        branches = node["allOf"] if isinstance(node["allOf"], list) else []
        required = list(merged.get("required") or []) if isinstance(merged.get("required"), list) else []
        for raw, branch in zip(branches, self._clean_branches(branches), strict=True):
            # A branch may hold only `required` (its properties live in a sibling); cleaning it alone
            # would drop that list, so take it from the raw branch too.
            raw_required = raw.get("required") if isinstance(raw, dict) else None
            for name in [
                *branch.get("required", ()),
                *(raw_required if isinstance(raw_required, list) else ()),
            ]:
                if name not in required:
                    required.append(name)
            for key, value in branch.items():
                if key == "properties":
                    merged["properties"] = {**value, **(merged.get("properties") or {})}
                elif key != "required":
                    merged.setdefault(key, value)
        if required:
            merged["required"] = required
        return merged

    def _collapse(self, node: dict[str, Any], key: str) -> dict[str, Any]:
        rest = {k: v for k, v in node.items() if k != key}
        raw = node[key] if isinstance(node[key], list) else []
        nullable = any(_is_null_schema(branch) for branch in raw)
        branches = self._clean_branches([b for b in raw if not _is_null_schema(b)])
        if nullable:
            rest["nullable"] = True
        if not branches:
            return rest
        if all("enum" in b and set(b) <= {"type", "enum", "description"} for b in branches):
            values = [v for b in branches for v in b["enum"]]
            chosen: dict[str, Any] = {"type": "string", "enum": list(dict.fromkeys(values))}
        elif len(branches) == 1:
            chosen = branches[0]
        else:
            chosen = _best_branch(branches)
            kinds = list(dict.fromkeys(str(b.get("type", "any")) for b in branches))
            rest["description"] = _join(rest.get("description"), f"(accepts: {' | '.join(kinds)})")
        if chosen.get("nullable"):
            rest["nullable"] = True
        return {**chosen, **rest}

    def _clean_branches(self, branches: list[Any]) -> list[dict[str, Any]]:
        """Branches are cleaned before merging without Claude placeholders: a branch's missing
        `required` may be supplied by a sibling, and the merged node gets its own check."""
        saved, self.placeholders = self.placeholders, False
        try:
            return [self.clean(branch) for branch in branches]
        finally:
            self.placeholders = saved

    # -- one node ------------------------------------------------------------------------------

    def _clean_plain(self, node: dict[str, Any], *, root: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        hints: list[str] = []
        nullable = node.get("nullable") is True
        kind = node.get("type")
        if isinstance(kind, list):
            kinds = [k for k in kind if isinstance(k, str)]
            nullable = nullable or "null" in kinds
            kinds = [k.lower() for k in kinds if k.lower() in TYPES]
            kind = kinds[0] if kinds else None
            if len(kinds) > 1:
                hints.append("accepts: " + " | ".join(kinds))
        if isinstance(kind, str):
            if kind.lower() == "null":
                nullable = True
            elif kind.lower() in TYPES:
                out["type"] = kind if kind.islower() else kind.lower()
        description = node.get("description")
        if not isinstance(description, str):
            title = node.get("title")
            description = title if isinstance(title, str) and title else None
        if description is not None:
            out["description"] = description
        if nullable:
            out["nullable"] = node["nullable"] if node.get("nullable") is True else True
        enum = self._enum(node)
        if enum is not None:
            values, enum_nullable = enum
            if enum_nullable:
                out["nullable"] = True
            if values:
                # Values travel as strings (the upstream's enum is a list of strings), but the
                # declared type stays, so an integer enum still asks the model for an integer.
                if out.get("type") not in _ENUM_TYPES:
                    out["type"] = "string"
                out["enum"] = values
        self._object_keys(node, out)
        items = node.get("items", node.get("prefixItems"))
        if isinstance(items, list):
            items = items[0] if items else None
        if isinstance(items, dict):
            out["items"] = self.clean(items)
            out.setdefault("type", "array")
        if self.for_response and node.get("additionalProperties") is False:
            out["additionalProperties"] = node["additionalProperties"]
        hints.extend(f"{key}: {_hint_value(node[key])}" for key in HINT_KEYWORDS if key in node)
        if hints:
            out["description"] = _join(out.get("description"), "(" + "; ".join(hints) + ")")
        if self.placeholders and out.get("type") == "object":
            _require_something(out, root=root)
        if len(out) == len(node) and all(node.get(key) is value for key, value in out.items()):
            return node
        return out

    def _enum(self, node: dict[str, Any]) -> tuple[list[str], bool] | None:
        """String enum values (reusing the input list when already all strings) and nullability."""
        if "const" in node:
            raw: Any = [node["const"]]
        elif isinstance(node.get("enum"), list):
            raw = node["enum"]
        else:
            return None
        if all(isinstance(v, str) for v in raw) and "const" not in node:
            return raw, False
        values = [v if isinstance(v, str) else json.dumps(v) for v in raw if v is not None]
        return list(dict.fromkeys(values)), any(v is None for v in raw)

    def _object_keys(self, node: dict[str, Any], out: dict[str, Any]) -> None:
        properties = node.get("properties")
        if isinstance(properties, dict):
            cleaned = {name: self.clean(child) for name, child in properties.items()}
            same = all(cleaned[name] is child for name, child in properties.items())
            out["properties"] = properties if same else cleaned
            out.setdefault("type", "object")
        required = node.get("required")
        if isinstance(required, list) and "properties" in out:
            names = [
                n for n in dict.fromkeys(r for r in required if isinstance(r, str)) if n in out["properties"]
            ]
            if names:
                out["required"] = required if names == required else names


def _require_something(out: dict[str, Any], *, root: bool) -> None:
    """Claude VALIDATED mode needs one required property per object (§8.3 placeholders)."""
    if out.get("required"):
        return
    properties = dict(out.get("properties") or {})
    if root and not properties:
        name, schema = CLAUDE_ROOT_PLACEHOLDER, _REASON_SCHEMA
    else:
        name, schema = CLAUDE_NESTED_PLACEHOLDER, _UNDERSCORE_SCHEMA
    properties.setdefault(name, dict(schema))
    out["properties"] = properties
    out["required"] = [name]


def _is_null_schema(branch: Any) -> bool:
    if not isinstance(branch, dict):
        return False
    return branch.get("type") == "null" or ("const" in branch and branch["const"] is None)


def _best_branch(branches: list[dict[str, Any]]) -> dict[str, Any]:
    """The most informative branch: an object (with most properties), then an array, then scalars."""
    for kind in _BRANCH_PREFERENCE:
        matching = [b for b in branches if b.get("type") == kind]
        if matching:
            return max(matching, key=lambda b: len(b.get("properties") or ()))
    return branches[0]


def _hint_value(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except ValueError:
        return str(value)


def _join(description: Any, hint: str) -> str:
    return f"{description} {hint}" if isinstance(description, str) and description else hint
