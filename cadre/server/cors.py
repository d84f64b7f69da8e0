"""Starlette's CORS middleware, with a refused preflight answered in OpenAI's error JSON
rather than plain text ("Disallowed CORS origin")."""
from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from cadre.server.errors import error_response


class JsonCORSMiddleware(CORSMiddleware):
    """CORS for the named origins; a disallowed preflight is a 400 with error JSON."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        what = response.body.decode("utf-8", "replace").removeprefix("Disallowed CORS ")
        headers = {k: v for k, v in response.headers.items() if k.lower().startswith(("access-control", "vary"))}
        return error_response(400, f"CORS preflight refused: {what} not allowed", None, "cors_refused",
                              headers)
