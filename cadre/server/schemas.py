"""Request and response bodies of the OpenAI-compatible API, as pydantic models.

Chat completion requests keep unknown fields: an `openai` upstream gets every parameter
the client set, and a local model refuses what it cannot honour with a 400 naming it
(cadre/runtime/params.py). Other requests forbid unknown fields (a typo is a 400).
Nothing the client left out gets a value here: unset sampling fields stay None.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cadre.server.toolschema import schema_problem, tool_choice_problem

class Strict(BaseModel):
    """Base of every request body: unknown fields are an error."""

    model_config = ConfigDict(extra="forbid")


class TextPart(Strict):
    type: Literal["text"]
    text: str


class ImageUrl(Strict):
    url: str
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(Strict):
    type: Literal["image_url"]
    image_url: ImageUrl


class FunctionCall(Strict):
    name: str
    arguments: str


class ToolCall(Strict):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class ChatMessage(BaseModel):
    """One chat message in OpenAI's format (content is text or a list of parts).

    Unknown message fields are ignored, not rejected: clients echo back assistant
    messages with extra fields (`refusal`, `annotations`, ...).
    """

    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart | ImagePart] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None

    @field_validator("content")
    @classmethod
    def _not_too_empty(cls, v):
        if isinstance(v, list) and not v:
            raise ValueError("content parts must not be empty")
        return v


class FunctionDef(Strict):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None

    @field_validator("parameters")
    @classmethod
    def _json_schema(cls, v):
        problem = schema_problem(v) if v is not None else None
        if problem:
            raise ValueError(problem)
        return v


class ToolDef(Strict):
    type: Literal["function"]
    function: FunctionDef


class NamedToolChoice(Strict):
    type: Literal["function"]
    function: dict[str, str]

    @field_validator("function")
    @classmethod
    def _has_name(cls, v):
        if not v.get("name"):
            raise ValueError("tool_choice.function needs a name")
        return v


class TextFormat(Strict):
    type: Literal["text"]


class JsonObjectFormat(Strict):
    type: Literal["json_object"]


class JsonSchemaSpec(Strict):
    name: str = Field(min_length=1, max_length=64)
    description: str | None = None
    schema_: dict[str, Any] = Field(default_factory=dict, alias="schema")
    strict: bool | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class JsonSchemaFormat(Strict):
    type: Literal["json_schema"]
    json_schema: JsonSchemaSpec


class StreamOptions(Strict):
    include_usage: bool = False


class Sampling(Strict):
    """Fields shared by chat and text completions; unset ones stay None (not sent upstream)."""

    model: str = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    stream: bool = False
    stream_options: StreamOptions | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    user: str | None = None

    @field_validator("stop")
    @classmethod
    def _stops(cls, v):
        stops = [v] if isinstance(v, str) else (v or [])
        if len(stops) > 4 or any(not s for s in stops):
            raise ValueError("stop takes at most 4 non-empty strings")
        return v

    def stop_list(self) -> list[str]:
        """The stop sequences as a list."""
        return [self.stop] if isinstance(self.stop, str) else list(self.stop or [])


class ChatCompletionRequest(Sampling):
    """POST /v1/chat/completions."""

    model_config = ConfigDict(extra="allow")  # unknown parameters: passed upstream, refused locally

    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    n: int | None = Field(default=None, ge=1, le=128)
    presence_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    frequency_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    logit_bias: dict[str, float] | None = None
    store: bool | None = None
    tools: list[ToolDef] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    metadata: dict[str, str] | None = None
    response_format: TextFormat | JsonObjectFormat | JsonSchemaFormat | None = None

    def client_fields(self) -> dict:
        """Every parameter the client set beyond model, messages and sampling (unknown
        ones included), as it sent them: what an upstream gets and a local model checks."""
        from cadre.runtime.params import CORE

        out = {k: v for k, v in self.model_dump(exclude_unset=True, by_alias=True).items() if k not in CORE}
        if self.tools:
            out["tools"] = [t.model_dump(exclude_none=True) for t in self.tools]
        if isinstance(self.tool_choice, BaseModel):
            out["tool_choice"] = self.tool_choice.model_dump()
        if self.response_format is not None:
            out["response_format"] = self.response_format.model_dump(exclude_none=True, by_alias=True)
        return {k: v for k, v in out.items() if v is not None}

    @model_validator(mode="after")
    def _tool_choice_fits(self):
        choice = self.tool_choice.model_dump() if isinstance(self.tool_choice, BaseModel) else self.tool_choice
        problem = tool_choice_problem(choice, [t.function.name for t in self.tools or []])
        if problem:
            raise ValueError(problem)
        return self

    def engine_messages(self) -> list[dict]:
        """Messages as plain dicts for the engine, without unset fields; `content` is
        always present ('' for an assistant turn that only made tool calls), and the
        newer `developer` role is passed on as `system`."""
        out = [{"content": "", **m.model_dump(exclude_none=True)} for m in self.messages]
        for message in out:
            if message["role"] == "developer":
                message["role"] = "system"
        return out


class CompletionRequest(Sampling):
    """POST /v1/completions (one prompt; `echo`, `suffix`, `n` and `logprobs` are not supported)."""

    prompt: str | list[str]
    max_tokens: int | None = Field(default=16, ge=1)  # OpenAI's own default for completions

    @field_validator("prompt")
    @classmethod
    def _one_prompt(cls, v):
        if isinstance(v, list):
            if len(v) != 1:
                raise ValueError("cadre answers one prompt per request")
            return v[0]
        return v


class RouteRequest(Strict):
    """POST /v1/route: text or chat messages to route (no generation)."""

    model: str = "auto"
    input: str | None = None
    messages: list[ChatMessage] | None = None

    def text(self) -> str:
        """The text the router sees: `input`, else the last user message."""
        if self.input is not None:
            return self.input
        return last_user_text([m.model_dump(exclude_none=True) for m in self.messages or []])


def last_user_text(messages: list[dict]) -> str:
    """Text of the last user message (text parts joined), or '' when there is none."""
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content") or ""
            if isinstance(content, list):
                return " ".join(p["text"] for p in content if p.get("type") == "text")
            return content
    return ""


# ---- responses (plain dicts are built from these shapes; kept as models for docs/tests) ----

class RouteResponse(BaseModel):
    object: Literal["route"] = "route"
    route: str
    score: float
    scores: dict[str, float]
    reason: str


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]
