"""`POST /v1/feedback`: attach an outcome to a routed request of the decision log.

Body: `{"id": "<x-cadre-request-id>", "token": "<x-cadre-feedback-token>", "score": 0..1,
"model": optional}`: the id and the token come from the routed response's headers, so only
its caller can post feedback on it. An unknown id is 404, a wrong token 403, a request that
already has its most feedback records 409, a bad field or a body over MAX_BODY_BYTES 400,
all as OpenAI's error JSON; nothing is written then.
"""
from __future__ import annotations


from fastapi import APIRouter, Request

from cadre.server.errors import ApiError
from cadre.server.jsonbody import object_of

feedback_routes = APIRouter()
FIELDS = {"id", "token", "score", "model"}
MAX_BODY_BYTES = 4096


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
        record = await request.app.state.pools.run("route", log.feedback, data.get("id"), data.get("score"),
                                                   data.get("model"), data.get("token"))
    except FeedbackError as exc:
        raise ApiError(exc.status, str(exc), exc.param, exc.code) from None
    return {"object": "feedback", "id": record["id"], "score": record["score"], "model": record["model"]}


async def _body(request: Request) -> dict:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(400, f"feedback body is larger than {MAX_BODY_BYTES} bytes", None, "invalid_feedback")
    data = object_of(raw)  # the JSON checks every body gets (depth, digits, surrogates)
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise ApiError(400, f"unknown field(s) {[u[:40] for u in unknown[:5]]}; feedback takes id, token, "
                       f"score and model", unknown[0][:40], "invalid_feedback")
    return data
