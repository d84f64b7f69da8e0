"""Streaming /v1/responses: a chat answer's pieces (text, and tool-call deltas as
OpenAI's dicts) as the Responses event types: response.created, response.in_progress,
response.output_item.added, response.content_part.added, response.output_text.delta,
response.output_text.done, response.content_part.done, response.function_call_arguments.delta,
response.function_call_arguments.done, response.output_item.done and response.completed
(an error midway is an `error` event).
"""
from __future__ import annotations

import json
from collections.abc import AsyncIterator

from cadre.server.errors import to_api_error
from cadre.server.responses_translate import call_item, message_item, new_id
from cadre.server.streaming import _END, filtered_deltas, next_piece


async def proxy_pieces(chunks) -> AsyncIterator:
    """Text and tool-call deltas of an upstream's chat chunks (the first choice)."""
    try:
        async for chunk in chunks:
            for choice in chunk.get("choices") or ():
                if choice.get("index", 0) != 0:
                    continue
                delta = choice.get("delta") or {}
                if delta.get("content"):
                    yield delta["content"]
                for call in delta.get("tool_calls") or ():
                    yield dict(call)
    finally:
        await chunks.aclose()


def local_pieces(pools, handle):
    """(async pieces, the synchronous iterator) of a local model's answer."""
    iterator = filtered_deltas(handle, [])

    async def source():
        while (piece := await next_piece(pools, iterator)) is not _END:
            yield piece
    return source(), iterator


class EventWriter:
    """The events of one streamed response, numbered in order."""

    def __init__(self, turn, handle):
        self.turn, self.handle, self.seq = turn, handle, 0
        self.output: list[dict] = []
        self.message: dict | None = None           # the open message item
        self.calls: dict[int, dict] = {}           # tool-call index → its item

    def _event(self, kind: str, **fields) -> str:
        payload = {"type": kind, "sequence_number": self.seq, **fields}
        self.seq += 1
        return f"event: {kind}\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n"

    def _snapshot(self, status: str) -> dict:
        from cadre.server.responses_translate import response_object

        return response_object(self.turn.id, self.turn.body, self.handle.model, [], None, "stop", status)

    async def events(self, first, source) -> AsyncIterator[str]:
        yield self._event("response.created", response=self._snapshot("in_progress"))
        yield self._event("response.in_progress", response=self._snapshot("in_progress"))
        try:
            piece = first
            while piece is not _END:
                for event in self._piece(piece):
                    yield event
                piece = await anext(source, _END)
        except Exception as exc:
            err = to_api_error(exc)
            yield self._event("error", code=err.code, message=err.message, param=err.param)
            return
        for event in self._close_all():
            yield event
        done = self.turn.finish(self.handle.model, list(self.output), self.handle.usage, self.handle.finish_reason)
        yield self._event("response.completed", response=done)

    def _piece(self, piece):
        if isinstance(piece, str):
            if self.message is None:
                yield from self._open_message()
            self.message["content"][0]["text"] += piece
            yield self._event("response.output_text.delta", item_id=self.message["id"], output_index=self._index(
                self.message), content_index=0, delta=piece, logprobs=[])
            return
        index = int(piece.get("index", len(self.calls)))
        fn = piece.get("function") or {}
        if index not in self.calls:
            item = call_item({"id": piece.get("id"), "function": {"name": fn.get("name", ""), "arguments": ""}},
                             new_id("fc"), "in_progress")
            self.calls[index] = item
            self.output.append(item)
            yield self._event("response.output_item.added", output_index=self._index(item), item=dict(item))
        item = self.calls[index]
        if fn.get("name") and not item["name"]:
            item["name"] = fn["name"]
        if fn.get("arguments"):
            item["arguments"] += fn["arguments"]
            yield self._event("response.function_call_arguments.delta", item_id=item["id"],
                              output_index=self._index(item), delta=fn["arguments"])

    def _open_message(self):
        self.message = message_item("", new_id("msg"), "in_progress")
        self.output.append(self.message)
        empty = {**self.message, "content": []}
        yield self._event("response.output_item.added", output_index=self._index(self.message), item=empty)
        yield self._event("response.content_part.added", item_id=self.message["id"],
                          output_index=self._index(self.message), content_index=0,
                          part={"type": "output_text", "text": "", "annotations": []})

    def _close_all(self):
        if self.message is not None:
            item, index = self.message, self._index(self.message)
            part = item["content"][0]
            item["status"] = "completed"
            yield self._event("response.output_text.done", item_id=item["id"], output_index=index, content_index=0,
                              text=part["text"], logprobs=[])
            yield self._event("response.content_part.done", item_id=item["id"], output_index=index,
                              content_index=0, part=part)
            yield self._event("response.output_item.done", output_index=index, item=item)
        for item in self.calls.values():
            item["status"] = "completed"
            index = self._index(item)
            yield self._event("response.function_call_arguments.done", item_id=item["id"], output_index=index,
                              name=item["name"], arguments=item["arguments"])
            yield self._event("response.output_item.done", output_index=index, item=item)

    def _index(self, item: dict) -> int:
        return next(i for i, x in enumerate(self.output) if x is item)
