"""Every failure as OpenAI's error JSON: {"error": {"message", "type", "param", "code"}}.

Exception handlers map cadre's errors to HTTP statuses; anything unexpected is logged
with its traceback and answered with a plain 500 that names no internals.
"""
from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from cadre.errors import CadreError
from cadre.server.redact import backend_message, redact

log = logging.getLogger("cadre.server")

_TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
          405: "invalid_request_error", 408: "invalid_request_error", 409: "invalid_request_error", 413: "invalid_request_error", 429: "rate_limit_error",
          500: "server_error", 502: "server_error", 503: "server_error"}

HTTP_CODES = {413: "request_too_large", 405: "method_not_allowed", 408: "request_timeout"}  # error codes of HTTPExceptions


class ApiError(Exception):
    """An error answered as OpenAI's error JSON with this status."""

    def __init__(self, status: int, message: str, param: str | None = None,
                 code: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code
        self.headers = headers or {}


def error_body(status: int, message: str, param: str | None = None, code: str | None = None) -> dict:
    """The OpenAI error object for one failure."""
    return {"error": {"message": message, "type": _TYPES.get(status, "server_error"),
                      "param": param, "code": code}}


def error_response(status: int, message: str, param: str | None = None, code: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    """A JSONResponse holding the OpenAI error object."""
    return JSONResponse(error_body(status, message, param, code), status_code=status, headers=headers)


def error_bytes(status: int, message: str, code: str | None = None) -> bytes:
    """The error object already encoded, for raw ASGI middleware."""
    return json.dumps(error_body(status, message, None, code)).encode()


def invalid_params(errors: list[dict]) -> ApiError:
    """The first pydantic problem as a 400 naming the parameter (e.g. `messages.0.role`)."""
    first = errors[0] if errors else {"msg": "invalid request", "loc": ()}
    param = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or None
    if first.get("type") == "json_invalid":
        return ApiError(400, "request body is not valid JSON", None, "invalid_json")
    if first.get("type") == "extra_forbidden":
        return ApiError(400, f"unrecognized request argument: {param}", param, "unknown_parameter")
    msg = first.get("msg", "invalid value").removeprefix("Value error, ")
    return ApiError(400, f"{param}: {msg}" if param else msg, param, "invalid_value")


def to_api_error(exc: Exception) -> ApiError:
    """Map an exception raised by the engine to an ApiError (unexpected → logged 500)."""
    from cadre.runtime.errors import BackendError, ModelFilesMissing, Overloaded, UnknownModel

    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, UnknownModel):
        return ApiError(404, str(exc), "model", "model_not_found")
    if isinstance(exc, Overloaded):
        retry = max(1, round(float(getattr(exc, "retry_after", 1) or 1)))
        return ApiError(429, str(exc) or "model queue is full", None, "queue_full",
                        {"Retry-After": str(retry)})
    if isinstance(exc, BackendError) and getattr(exc, "upstream_status", None) in (400, 404, 413, 422):
        # the upstream refused what the client sent (a faithful proxy): the client's error, said as such
        return ApiError(exc.upstream_status, redact(exc.upstream_message), None, "upstream_refused")
    if isinstance(exc, ModelFilesMissing):  # known but not trained yet: say how, not where
        log.error("model files missing: %s", exc)
        return ApiError(503, exc.client_message, "model", "model_files_missing")
    if isinstance(exc, BackendError):
        log.error("backend failed: %s", exc)  # the log keeps paths and internals; the client does not
        message = redact(str(exc)) if exc.client_safe else backend_message(str(exc))
        return ApiError(502, message, None, "backend_error")
    if isinstance(exc, CadreError):
        message = redact(str(exc))
        if message != str(exc):
            log.info("request refused: %s", exc)
        return ApiError(400, message, getattr(exc, "param", None), getattr(exc, "code", None) or "invalid_request")
    log.error("engine failed", exc_info=exc)
    return ApiError(500, "the server failed to answer this request; see its log", None,
                    "internal_error")


def install_error_handlers(app: FastAPI) -> None:
    """Register handlers so that no failure leaves the app as a traceback or HTML page."""

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError):
        err = invalid_params(list(exc.errors()))
        return error_response(err.status, err.message, err.param, err.code)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 404 and message == "Not Found":
            message = "no such endpoint"
        code = HTTP_CODES.get(exc.status_code)
        return error_response(exc.status_code, message, None, code, getattr(exc, "headers", None))

    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError):
        return error_response(exc.status, exc.message, exc.param, exc.code, exc.headers)

    @app.exception_handler(Exception)
    async def _any(_: Request, exc: Exception):
        # Last resort (a bug in the server itself): still JSON, still logged.
        err = to_api_error(exc)
        return error_response(err.status, err.message, err.param, err.code, err.headers)
