"""OpenAI `tools` / `tool_choice` → Gemini `tools` / `toolConfig` (protocols/antigravity.md §4, §8.2).

Declared function names must be what OpenAI accepts (`^[a-zA-Z0-9_-]{1,64}$`): anything else is the
400 OpenAI gives, naming the tool, instead of a name a strict client later chokes on. Names the
upstream still refuses (`[A-Za-z_][A-Za-z0-9_.:-]{0,63}`: a leading digit) and names met only in
history are sanitised and restored on the way back.
The mapping is a pure function of the request's `tools`, so the response side rebuilds it
(`tool_name_map`) instead of carrying state between the two directions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from switchyard.errors import InvalidRequest
from switchyard.translate.fields import wrong_type
from switchyard.translate.profile import ModelProfile
from switchyard.translate.schema import (
    CLAUDE_NESTED_PLACEHOLDER,
    CLAUDE_ROOT_PLACEHOLDER,
    Target,
    clean_schema,
)

MAX_NAME_LENGTH = 64
_NAME_OK = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]{0,63}")
_NAME_BAD_CHARS = re.compile(r"[^A-Za-z0-9_.:-]")
_OPENAI_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""What OpenAI accepts as a declared function name; others are refused as OpenAI refuses them."""

BUILTIN_TOOLS = {"codeExecution": "codeExecution", "googleSearch": "googleSearch", "urlContext": "urlContext"}
"""Function names that switch on an upstream built-in tool instead of declaring a function."""

_EMPTY_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}


def sanitize_function_name(name: str) -> str:
    """The upstream-safe spelling of a function name (idempotent; unchanged when already valid)."""
    if _NAME_OK.fullmatch(name):
        return name
    cleaned = _NAME_BAD_CHARS.sub("_", name)
    if not cleaned or not (cleaned[0].isalpha() or cleaned[0] == "_") or not cleaned[0].isascii():
        cleaned = "_" + cleaned
    return cleaned[:MAX_NAME_LENGTH]


@dataclass(slots=True)
class ToolSet:
    """The translated tools of one request and the original → upstream name mapping."""

    tools: list[dict[str, Any]] = field(default_factory=list)
    upstream_names: dict[str, str] = field(default_factory=dict)
    has_functions: bool = False

    def upstream_name(self, name: str) -> str:
        """The name to send for a function (declared or only seen in history)."""
        return self.upstream_names.get(name) or sanitize_function_name(name)


def _function_tools(body: Mapping[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """(index, function object) of each `tools[]` entry, validated; built-ins included."""
    tools = body.get("tools")
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise wrong_type("tools", "an array", tools)
    found = []
    for index, tool in enumerate(tools):
        param = f"tools[{index}]"
        if not isinstance(tool, dict):
            raise wrong_type(param, "an object", tool)
        kind = tool.get("type", "function")
        if kind != "function":
            raise InvalidRequest(
                f"Unsupported tool type '{kind}'; only 'function' tools", param=f"{param}.type"
            )
        function = tool.get("function")
        if not isinstance(function, dict):
            raise wrong_type(f"{param}.function", "an object", function)
        name = function.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidRequest(
                f"'{param}.function.name' must be a non-empty string", param=f"{param}.function.name"
            )
        if name not in BUILTIN_TOOLS and not _OPENAI_NAME.fullmatch(name):
            raise InvalidRequest(
                f"Invalid 'tools[{index}].function.name' {name!r}: string does not match pattern. "
                f"Expected a string that matches the pattern '^[a-zA-Z0-9_-]{{1,64}}$'.",
                param=f"tools[{index}].function.name",
            )
        found.append((index, function))
    return found


def _unique_names(functions: list[tuple[int, dict[str, Any]]]) -> dict[str, str]:
    """original → upstream name; distinct originals that sanitise alike get `_2`, `_3` suffixes."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for _, function in functions:
        original = function["name"]
        if original in names or original in BUILTIN_TOOLS:
            continue
        candidate = base = sanitize_function_name(original)
        counter = 2
        while candidate in taken:
            suffix = f"_{counter}"
            candidate = base[: MAX_NAME_LENGTH - len(suffix)] + suffix
            counter += 1
        names[original] = candidate
        taken.add(candidate)
    return names


def tools_from_openai(body: Mapping[str, Any], *, model: ModelProfile) -> ToolSet:
    """`tools` → one `functionDeclarations` tool plus one object per built-in; duplicates dropped."""
    functions = _function_tools(body)
    if not functions:
        return ToolSet()
    if model.image_output:
        raise InvalidRequest(f"The image model '{model.id}' does not accept tools", param="tools")
    names = _unique_names(functions)
    target: Target = "claude" if model.is_claude else "gemini"
    declarations: list[dict[str, Any]] = []
    builtins: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, function in functions:
        original = function["name"]
        if original in seen:
            continue
        seen.add(original)
        if original in BUILTIN_TOOLS:
            builtins.append({BUILTIN_TOOLS[original]: {}})
            continue
        parameters = function.get("parameters")
        if parameters is not None and not isinstance(parameters, dict):
            raise wrong_type(f"tools[{index}].function.parameters", "an object", parameters)
        declaration: dict[str, Any] = {"name": names[original]}
        description = function.get("description")
        if isinstance(description, str) and description:
            declaration["description"] = description
        cleaned = clean_schema(parameters or _EMPTY_PARAMETERS, target=target)
        if "type" not in cleaned:
            # A tool's arguments are an object; Claude refuses a schema without `type` (§12.5).
            cleaned = {"type": "object", **cleaned}
        declaration["parameters"] = cleaned
        declarations.append(declaration)
    if declarations and any("googleSearch" in tool or "urlContext" in tool for tool in builtins):
        raise InvalidRequest(
            "googleSearch and urlContext cannot be combined with function tools upstream; send them alone",
            param="tools",
        )
    tools = [{"functionDeclarations": declarations}] if declarations else []
    return ToolSet(tools=tools + builtins, upstream_names=names, has_functions=bool(declarations))


def tool_config_from_openai(
    body: Mapping[str, Any], toolset: ToolSet, *, model: ModelProfile
) -> dict[str, Any] | None:
    """`tool_choice` → `toolConfig.functionCallingConfig` (Claude: VALIDATED instead of AUTO, §4)."""
    choice = body.get("tool_choice")
    default_mode = "VALIDATED" if model.is_claude else "AUTO"
    if choice is None:
        mode_config: dict[str, Any] | None = {"mode": default_mode} if model.is_claude else None
    elif choice == "none":
        mode_config = {"mode": "NONE"}
    elif choice == "auto":
        mode_config = {"mode": default_mode}
    elif choice == "required":
        mode_config = {"mode": "ANY"}
    elif isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        name = choice["function"].get("name")
        if not isinstance(name, str) or name not in toolset.upstream_names:
            raise InvalidRequest(
                f"tool_choice names the function '{name}', which is not in 'tools'", param="tool_choice"
            )
        mode_config = {"mode": "ANY", "allowedFunctionNames": [toolset.upstream_names[name]]}
    else:
        raise InvalidRequest(
            "Invalid 'tool_choice': expected 'none', 'auto', 'required' or {'type':'function','function':{'name':...}}",
            param="tool_choice",
        )
    if not toolset.has_functions:
        if mode_config is not None and mode_config["mode"] == "ANY":
            raise InvalidRequest(
                "tool_choice requires a function tool, but 'tools' declares none", param="tool_choice"
            )
        return None
    return {"functionCallingConfig": mode_config} if mode_config is not None else None


def tool_name_map(body: Mapping[str, Any]) -> dict[str, str]:
    """upstream → original function names, only where they differ (the response side restores them)."""
    try:
        functions = _function_tools(body)
    except InvalidRequest:
        return {}
    return {
        upstream: original for original, upstream in _unique_names(functions).items() if upstream != original
    }


def claude_placeholder_args(body: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    """upstream name → argument keys that exist only because of Claude's schema placeholders.

    The response side removes them so the client's tool never sees `_` or an invented `reason`.
    """
    try:
        functions = _function_tools(body)
    except InvalidRequest:
        return {}
    names = _unique_names(functions)
    result: dict[str, frozenset[str]] = {}
    for _, function in functions:
        if function["name"] not in names:
            continue
        parameters = function.get("parameters")
        properties = parameters.get("properties") if isinstance(parameters, dict) else None
        declared = set(properties) if isinstance(properties, dict) else set()
        added = {CLAUDE_ROOT_PLACEHOLDER, CLAUDE_NESTED_PLACEHOLDER} - declared
        result[names[function["name"]]] = frozenset(added)
    return result
