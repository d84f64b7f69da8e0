"""`POST /v1/feedback`: attach an outcome to a routed request of the decision log.

Body: `{"id": "<x-cadre-request-id>", "score": 0..1, "model": optional}`. An unknown id
is 404, a bad score or field 400, both as OpenAI's error JSON; nothing is written then.
"""
from __future__ import annotations


from fastapi import APIRouter, Request

from cadre.server.errors import ApiError
from cadre.server.jsonbody import read_object

feedback_routes = APIRouter()
FIELDS = {"id", "score", "model"}


@feedback_routes.post("/v1/feedback")
async def feedback(request: Request):
    """Append one feedback record for a logged request id."""
    from cadre.runtime.gateway.decisions import FeedbackError

    log = getattr(request.app.state.engine.gateway, "log", None)
    if log is None:
        raise ApiError(400, "this server keeps no decision log (gateway.decision_log is off)",
                       None, "no_decision_log")
    data = await _body(request)
    try:
        record = await request.app.state.pools.run("route", log.feedback, data.get("id"),
                                                   data.get("score"), data.get("model"))
    except FeedbackError as exc:
        code = "unknown_request_id" if exc.status == 404 else "invalid_feedback"
        raise ApiError(exc.status, str(exc), exc.param, code) from None
    return {"object": "feedback", "id": record["id"], "score": record["score"], "model": record["model"]}


async def _body(request: Request) -> dict:
    data = await read_object(request)  # the JSON checks every body gets (depth, digits, surrogates)
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise ApiError(400, f"unknown field(s) {unknown}; feedback takes id, score and model",
                       unknown[0], "invalid_feedback")
    return data
