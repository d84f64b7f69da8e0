"""Request bodies as JSON, with the checks `json.loads` does not make: nesting depth
(deep nesting is a RecursionError), integers past Python's 4,300-digit limit, and lone
UTF-16 surrogates (`"\\ud800"` is valid JSON but not text; it breaks every encoder
downstream). Each is a 400, never a 500.
"""
from __future__ import annotations

import json

from pydantic import BaseModel, ValidationError

from cadre.server.errors import ApiError, invalid_params

MAX_DEPTH = 64


def _invalid(message: str) -> ApiError:
    return ApiError(400, message, None, "invalid_json")


def load_json(raw: bytes):
    """The parsed body; ApiError(400) for anything a later layer could not handle."""
    try:
        data = json.loads(raw)
    except UnicodeDecodeError:
        raise _invalid("request body is not valid JSON (it is not UTF-8)") from None
    except RecursionError:
        raise _invalid(f"request body is nested too deeply (at most {MAX_DEPTH} levels)") from None
    except ValueError as exc:  # JSONDecodeError, and int() past sys.get_int_max_str_digits()
        if "digits" in str(exc) and not isinstance(exc, json.JSONDecodeError):
            raise _invalid("request body holds an integer with too many digits") from None
        raise _invalid("request body is not valid JSON") from None
    check_shape(data)
    return data


def check_shape(data) -> None:
    """Depth at most MAX_DEPTH and no lone surrogates, checked without recursion."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _invalid(f"request body is nested too deeply (at most {MAX_DEPTH} levels)")
        if isinstance(value, str):
            _text(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                _text(key)
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)


def _text(value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _invalid("request body holds a lone UTF-16 surrogate (e.g. \\ud800), which is not text") from None


def object_of(raw: bytes) -> dict:
    """A body as a JSON object, with every check above; 400 otherwise."""
    data = load_json(raw)
    if not isinstance(data, dict):
        raise ApiError(400, "request body must be a JSON object", None, "invalid_json")
    return data


def validate(raw: bytes, model: type[BaseModel]):
    """Parse and validate a JSON body: bad JSON or fields → 400."""
    data = object_of(raw)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid_params(exc.errors()) from None


async def read_object(request) -> dict:
    """A request's body as a JSON object (see `object_of`)."""
    return object_of(await request.body())


async def parse_body(request, model: type[BaseModel]):
    """Read and validate a JSON body (any content type): bad JSON or fields → 400."""
    return validate(await request.body(), model)
