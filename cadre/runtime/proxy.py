"""The faithful proxy to an OpenAI-compatible upstream, awaited on the server's loop.

Once the engine has planned a request (routed, admitted to the model's queue) and the
chosen backend passes every parameter on (`accepts_any_field`: the `openai` backend, or a
failover chain of them), the client's request goes upstream as it came: its messages,
the sampling fields it set and every other parameter, nothing added. A whole request is
asked whole and a stream streamed; usage and finish_reason are the upstream's own. The
only field cadre adds is `stream_options.include_usage` on streams (for the cost and the
decision log), and the usage chunk it brings is dropped when the client did not ask.
"""
from __future__ import annotations

from collections.abc import AsyncIterator

from cadre.runtime.errors import BackendError
from cadre.runtime.types import Usage


def usage_from(data: dict) -> Usage | None:
    usage = data.get("usage")
    if not isinstance(usage, dict):
        return None
    return Usage(int(usage.get("prompt_tokens") or usage.get("input_tokens") or 0),
                 int(usage.get("completion_tokens") or usage.get("output_tokens") or 0))


def call_ids(message_or_delta: dict) -> list[str]:
    return [c["id"] for c in message_or_delta.get("tool_calls") or () if isinstance(c, dict) and c.get("id")]


class Proxy:
    """One planned request to an upstream: `whole()`, `chunks()`, or the Responses forms."""

    def __init__(self, handle, backend, body: dict, release, forced_call: bool, on_calls=None):
        self.handle, self.backend, self.body, self.release = handle, backend, body, release
        self.forced_call, self.remember = forced_call, on_calls or (lambda model, ids: None)

    @property
    def native_responses(self) -> bool:
        """Whether the upstream takes /v1/responses itself (its `api: responses` option)."""
        return getattr(getattr(self.backend, "options", None), "api", "chat") == "responses"

    async def whole(self) -> dict:
        """The upstream's chat.completion JSON."""
        try:
            data = await self.backend.ajson(self.body)
            choices = data.get("choices") or []
            if not choices or not isinstance(choices[0], dict):
                raise BackendError(f"model {self.handle.model!r}: the upstream's answer has no choices",
                                   client_safe=True)
            self.handle.settle(usage_from(data), choices[0].get("finish_reason") or "stop")
            ids = [i for c in choices for i in call_ids(c.get("message") or {})]
            self._check_call(bool(ids))
            self.on_calls(ids)
            return data
        except Exception as exc:
            self.handle.failed(exc)
            raise
        finally:
            await self.release()

    async def chunks(self) -> AsyncIterator[dict]:
        """The upstream's chat.completion.chunk events, as they come."""
        body = {**self.body, "stream": True}
        if getattr(getattr(self.backend, "options", None), "stream_usage", True):
            body["stream_options"] = {**(self.body.get("stream_options") or {}), "include_usage": True}
        ended, ids = False, []
        try:
            async for chunk in self.backend.aevents(body):
                if self.handle.cancelled.is_set():
                    self.handle.settle(finish_reason="cancelled")
                    return
                self.handle.settle(usage_from(chunk))
                for choice in chunk.get("choices") or ():
                    if choice.get("finish_reason"):
                        ended = True
                        self.handle.settle(finish_reason=choice["finish_reason"])
                    ids += call_ids(choice.get("delta") or {})
                yield chunk
            if not ended:
                from cadre.runtime.backends.openai_wire import truncated

                raise truncated(self.handle.model)
            self._check_call(bool(ids))
            self.on_calls(ids)
        except Exception as exc:
            self.handle.failed(exc)
            raise
        finally:
            await self.release()

    async def responses_whole(self, body: dict) -> dict:
        """A native upstream's whole Responses object."""
        try:
            data = await self.backend.ajson(body, "/responses")
            self.handle.settle(usage_from(data))
            self.on_calls([i.get("call_id") for i in data.get("output") or () if i.get("type") == "function_call"])
            return data
        except Exception as exc:
            self.handle.failed(exc)
            raise
        finally:
            await self.release()

    async def responses_events(self, body: dict) -> AsyncIterator[dict]:
        """A native upstream's Responses stream events."""
        try:
            async for event in self.backend.aevents({**body, "stream": True}, "/responses"):
                response = event.get("response") or {}
                if event.get("type") == "response.completed":
                    self.handle.settle(usage_from(response))
                    self.on_calls([i.get("call_id") for i in response.get("output") or ()
                                   if i.get("type") == "function_call"])
                yield event
        except Exception as exc:
            self.handle.failed(exc)
            raise
        finally:
            await self.release()

    def on_calls(self, ids) -> None:
        """Remember which model made these tool calls (the turn with their results comes back)."""
        self.remember(self.handle.model, [i for i in ids if i])

    def _check_call(self, called: bool) -> None:
        if self.forced_call and not called and self.handle.finish_reason != "cancelled":
            raise BackendError(f"model {self.handle.model!r} answered without the tool call that "
                               "tool_choice requires", client_safe=True)
