"""Checks on a chat request's tools that pydantic's field types cannot make: a tool's
`parameters` must be a JSON Schema (of an object, as OpenAI requires), and
`tool_choice` must name an offered tool ("required" or a named function need tools).
"""
from __future__ import annotations

JSON_TYPES = {"object", "array", "string", "number", "integer", "boolean", "null"}
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SUBSCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties")


def schema_problem(schema, where: str = "parameters") -> str | None:
    """Why `schema` is not a JSON Schema of an object, or None when it is one."""
    if not isinstance(schema, dict):
        return f"{where} must be a JSON Schema object, not {type(schema).__name__}"
    if schema.get("type", "object") != "object":
        return f"{where} must be a JSON Schema with \"type\": \"object\""
    return _problem(schema, where)


def _problem(schema, where: str) -> str | None:
    if isinstance(schema, bool):
        return None  # true/false are valid schemas
    if not isinstance(schema, dict):
        return f"{where} must be a JSON Schema (an object), not {type(schema).__name__}"
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind] if kind is not None else []
    if any(not isinstance(k, str) or k not in JSON_TYPES for k in kinds):
        return f"{where}.type must be one of {sorted(JSON_TYPES)}"
    required = schema.get("required")
    if required is not None and not (isinstance(required, list) and all(isinstance(r, str) for r in required)):
        return f"{where}.required must be a list of property names"
    for key in _SUBSCHEMA_MAPS:
        if key in schema:
            if not isinstance(schema[key], dict):
                return f"{where}.{key} must be an object of schemas"
            for name, sub in schema[key].items():
                problem = _problem(sub, f"{where}.{key}.{name}")
                if problem:
                    return problem
    for key in _SUBSCHEMA_LISTS:
        if key in schema:
            if not isinstance(schema[key], list):
                return f"{where}.{key} must be a list of schemas"
            for i, sub in enumerate(schema[key]):
                problem = _problem(sub, f"{where}.{key}.{i}")
                if problem:
                    return problem
    for key in ("items", "additionalProperties", "not"):
        if key in schema:
            problem = _problem(schema[key], f"{where}.{key}")
            if problem:
                return problem
    return None


def tool_choice_problem(tool_choice, tool_names: list[str]) -> str | None:
    """Why `tool_choice` does not fit the offered tools, or None."""
    if tool_choice == "required" and not tool_names:
        return 'tool_choice "required" needs at least one tool in `tools`'
    name = tool_choice.get("function", {}).get("name") if isinstance(tool_choice, dict) else None
    if name is not None and name not in tool_names:
        offered = ", ".join(tool_names) if tool_names else "none"
        return f"tool_choice names the tool {name!r}, which is not in `tools` (offered: {offered})"
    return None
