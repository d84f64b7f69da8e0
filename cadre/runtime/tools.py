"""The built-in tools (OpenAI function schemas), parsing a model's tool calls, running
them through the manager, and the bounded tool loop.

Small primaries write calls as `<tool_call>{json}</tool_call>` (SmolLM2's format, a JSON
object or a list), or as bare/fenced JSON; both are read. Invalid JSON arguments, an
unknown tool or a tool that raises become an error message fed back to the model, never
a crash.
"""
from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from cadre.builtin_tools import (  # noqa: F401 (the instructions are part of this module's API)
    BUILTIN_TOOLS,
    CODE_INSTRUCTION,
    ENHANCE_INSTRUCTION,
    SUMMARY_INSTRUCTION,
    TRANSLATE_INSTRUCTION,
    instruction_for,
)
from cadre.runtime.errors import BackendError, BudgetError, Overloaded, ToolError


TOOL_SCHEMAS = {name: tool.schema() for name, tool in BUILTIN_TOOLS.items()}

TOOL_PROMPT = (
    "You are an expert in composing functions. You are given a question and a set of possible functions. "
    "Based on the question, you will need to make one or more function/tool calls to achieve the purpose. "
    "If none of the functions can be used, answer the question directly.\n\n"
    "You have access to the following tools:\n<tools>{tools}</tools>\n\n"
    "To call tools, answer ONLY in this format:\n"
    '<tool_call>[{{"name": "func_name1", "arguments": {{"argument1": "value1"}}}}]</tool_call>'
)
_BLOCK = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)
_FENCE = re.compile(r"```(?:json|JSON)?[ \t]*\n(.*?)```", re.DOTALL)  # ```python fences are code, not calls


@dataclass
class ToolCall:
    """One parsed call; `arguments` is the JSON text, as in OpenAI's format."""

    name: str
    arguments: str
    id: str = field(default_factory=lambda: f"call_{uuid.uuid4().hex[:12]}")

    def to_openai(self) -> dict:
        """The OpenAI `tool_calls` entry."""
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": self.arguments}}


def tool_prompt(tools: list[dict]) -> str:
    """The system prompt that offers tools to a model without native function calling."""
    return TOOL_PROMPT.format(tools=json.dumps([t.get("function", t) for t in tools]))


def parse_tool_calls(text: str) -> tuple[list[ToolCall], list[str]]:
    """Tool calls written in a model's text, and a message per call that could not be read."""
    blocks = _BLOCK.findall(text or "")
    if not blocks:
        stripped = (text or "").strip()
        fenced = [b for b in _FENCE.findall(stripped) if b.strip()[:1] in "[{"]
        blocks = fenced if fenced else ([stripped] if stripped[:1] in "[{" else [])
    calls, errors = [], []
    for block in blocks:
        if not block.strip() or block.strip() == "[]":
            continue
        try:
            data = json.loads(block)
        except json.JSONDecodeError as exc:
            errors.append(f"tool call is not valid JSON ({exc.msg} at column {exc.colno}): {block[:80]!r}")
            continue
        for item in data if isinstance(data, list) else [data]:
            call = _call(item)
            calls.append(call) if isinstance(call, ToolCall) else errors.append(call)
    return calls, errors


def _call(item) -> ToolCall | str:
    if isinstance(item, dict) and "function" in item and isinstance(item["function"], dict):
        item = item["function"]
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        return f"tool call needs a name: {json.dumps(item)[:80]}"
    args = item.get("arguments", item.get("parameters", item.get("args", {})))
    return ToolCall(item["name"], args if isinstance(args, str) else json.dumps(args))


def check_call(call: ToolCall, schemas: dict[str, dict]) -> dict:
    """The call's arguments as a dict, checked against its schema; ToolError when invalid."""
    if call.name not in schemas:
        raise ToolError(f"unknown tool {call.name!r}; tools: {', '.join(schemas)}")
    try:
        args = json.loads(call.arguments) if call.arguments.strip() else {}
    except json.JSONDecodeError as exc:
        raise ToolError(f"{call.name}: arguments are not valid JSON ({exc.msg}): {call.arguments[:80]!r}") from None
    if not isinstance(args, dict):
        raise ToolError(f"{call.name}: arguments must be a JSON object, got {type(args).__name__}")
    return check_args(call.name, args, schemas)


def check_args(name: str, args: dict, schemas: dict[str, dict] = TOOL_SCHEMAS) -> dict:
    """Arguments with every required key and no unknown one; ToolError otherwise."""
    if name not in schemas:
        raise ToolError(f"unknown tool {name!r}; tools: {', '.join(schemas)}")
    params = schemas[name].get("function", schemas[name]).get("parameters", {})
    missing = [p for p in params.get("required", []) if p not in args]
    if missing:
        raise ToolError(f"{name}: missing argument(s) {missing}")
    unknown = sorted(set(args) - set(params.get("properties", {})))
    if unknown and params.get("properties"):
        raise ToolError(f"{name}: unknown argument(s) {unknown}")
    return args


@dataclass
class ToolOutcome:
    """What a tool returned (or the error it gave), and which model or tool produced it."""

    name: str
    text: str
    model: str
    ok: bool = True


@dataclass
class Prepared:
    """A model acquired for one answer: stream from `backend`, then call `release()`."""

    name: str
    backend: object
    messages: list[dict]
    note: str
    release: Callable[[], None]


class ToolBox:
    """Runs the built-in tools, borrowing specialists from the manager."""

    def __init__(self, manager):
        self.manager = manager
        self.schemas = dict(TOOL_SCHEMAS)
        self.impl = {name: getattr(self, f"_{name}") for name in BUILTIN_TOOLS}

    def add_tool(self, schema: dict, fn: Callable[..., tuple[str, str] | str]) -> None:
        """Add a tool: an OpenAI function schema and a function of its arguments returning
        text (or (text, model)); a duplicate name is rejected."""
        name = schema.get("function", schema)["name"]
        if name in self.impl:
            raise ValueError(f"tool {name!r} already exists")
        self.schemas[name] = schema if "function" in schema else {"type": "function", "function": schema}
        self.impl[name] = fn

    def run(self, name: str, arguments: str | dict) -> ToolOutcome:
        """Run one tool; every failure (bad JSON, unknown tool, a tool that raises) is an outcome."""
        try:
            args = (check_args(name, arguments, self.schemas) if isinstance(arguments, dict)
                    else check_call(ToolCall(name, arguments), self.schemas))
            out = self.impl[name](**args)
            text, model = out if isinstance(out, tuple) else (str(out), f"tool:{name}")
            return ToolOutcome(name, text, model)
        except ToolError as exc:
            return ToolOutcome(name, f"error: {exc}", f"tool:{name}", ok=False)
        except (BackendError, BudgetError, Overloaded) as exc:
            return ToolOutcome(name, f"error: {exc}", f"tool:{name}", ok=False)
        except Exception as exc:  # a tool that raises must not take the engine down
            return ToolOutcome(name, f"error: tool {name} raised {type(exc).__name__}: {exc}", f"tool:{name}", ok=False)

    # ---------------------------------------------------------------- model-backed tools
    def prepare(self, capability: str, user_text: str, instruction: str) -> Prepared:
        """Acquire the best model for a capability, else the primary; Q/A specialists get the
        text as it is, chat models an instruction. A specialist whose recorded score loses to
        the primary's (or that is unscored) is skipped unless forced (cadre.runtime.gates)."""
        gate = self._gate(capability)
        note = gate.reason if gate is not None else ""
        try:
            if gate is not None and not gate.allowed:
                raise _Gated()
            name, backend = self.manager.acquire_any(capability)
        except _Gated:
            name, backend = self.manager.acquire_any("primary_chat")
        except (BackendError, BudgetError, Overloaded) as exc:
            has = self.manager.registry.for_capability(capability) is not None
            note = f"{capability} model failed: {_short(exc)}" if has else f"no {capability} model"
            name, backend = self.manager.acquire_any("primary_chat")
        is_qa = getattr(backend, "encoder", None) is not None
        content = user_text if is_qa else instruction.format(text=user_text)
        return Prepared(name, backend, [{"role": "user", "content": content}], note,
                        lambda: self.manager.release(name))

    def _gate(self, capability: str):
        """The score gate of the model that would serve a capability (None: nothing to gate)."""
        from cadre.runtime.gates import verdict

        registry = self.manager.registry
        spec = registry.for_capability(capability)
        if spec is None:
            return None
        found = verdict(spec, registry.primary().name)
        return found if found.gated else None

    def ask(self, capability: str, user_text: str, instruction: str, max_tokens: int = 256) -> tuple[str, str]:
        """Prepare, answer and release: (text, model name)."""
        prepared = self.prepare(capability, user_text, instruction)
        try:
            text, _, _ = prepared.backend.chat(prepared.messages, max_tokens=max_tokens)
        finally:
            prepared.release()
        return text.strip(), prepared.name

    def _model_tool(self, name: str, text: str, **values) -> tuple[str, str]:
        """A model-backed tool: its capability's model, with its instruction (builtin_tools)."""
        return self.ask(BUILTIN_TOOLS[name].capability, text, instruction_for(name, **values))

    def _generate_code(self, prompt: str, language: str | None = None) -> tuple[str, str]:
        return self._model_tool("generate_code", f"{prompt} (in {language})" if language else prompt)

    def _enhance_prompt(self, prompt: str) -> tuple[str, str]:
        return self._model_tool("enhance_prompt", prompt)

    def _summarize(self, text: str, max_sentences: int = 3) -> tuple[str, str]:
        return self._model_tool("summarize", text, n=max_sentences)

    def _translate(self, text: str, target_language: str) -> tuple[str, str]:
        return self._model_tool("translate", text, lang=target_language)

    # ---------------------------------------------------------------- exact tools
    def _solve_math(self, problem: str) -> tuple[str, str]:
        from cadre.runtime.math_sandbox import solve_math_safely

        return solve_math_safely(problem), "tool:solve_math"

    def _describe_image(self, image=None, features: str | None = None) -> tuple[str, str]:
        from cadre.runtime.vision import describe_image

        from cadre.runtime.image_input import ImageRejected

        source = image if image is not None else features
        if source is None:
            raise ToolError("describe_image needs `image` or `features`")
        images = getattr(self, "images", None)  # the engine's policy: no disk reads by default
        if images is not None:
            try:
                source = images.prepare(source)
            except ImageRejected as exc:
                raise ToolError(f"describe_image: {exc}") from None
        result = describe_image(source, self.manager, allow_paths=images is None)
        return result.text, result.model


class _Gated(Exception):
    """The specialist is gated out: the primary serves."""


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) < 120 else text[:117] + "..."


@dataclass
class LoopResult:
    """The tool loop's outcome: final text, the steps taken, and calls left for the client."""

    text: str
    steps: list[dict] = field(default_factory=list)
    client_calls: list[ToolCall] = field(default_factory=list)
    rounds: int = 0
    raw: str = ""


def run_tool_loop(generate: Callable[[list[dict]], str], toolbox: ToolBox, messages: list[dict],
                  tools: list[dict], max_steps: int = 3, client_tools: set[str] = frozenset()) -> LoopResult:
    """Ask the model, run the offered built-in tools it calls, feed the results back, repeat
    (at most `max_steps` rounds). Calls to the client's own tools end the loop and are
    returned for the client to run."""
    offered = {t.get("function", t).get("name") for t in tools}
    convo = _with_system(messages, tool_prompt(tools))
    result = LoopResult("")
    for _ in range(max_steps):
        result.rounds += 1
        result.raw = text = generate(convo)
        calls, errors = parse_tool_calls(text)
        if not calls and not errors:
            result.text = text
            return result
        result.client_calls = [c for c in calls if c.name in client_tools]
        if result.client_calls:
            return result
        convo.append({"role": "assistant", "content": text})
        for call in calls:
            outcome = (toolbox.run(call.name, call.arguments) if call.name in offered else
                       ToolOutcome(call.name, f"error: unknown tool {call.name!r}; tools: {', '.join(sorted(offered))}",
                                   f"tool:{call.name}", ok=False))
            result.steps.append({"tool": call.name, "arguments": call.arguments, "ok": outcome.ok,
                                 "model": outcome.model, "result": outcome.text[:500]})
            convo.append({"role": "tool", "tool_call_id": call.id, "content": outcome.text})
        for error in errors:
            result.steps.append({"tool": None, "ok": False, "result": error})
            convo.append({"role": "tool", "content": f"error: {error}"})
    result.text = _last_tool_text(result) or result.raw
    return result


def _last_tool_text(result: LoopResult) -> str:
    ok = [s["result"] for s in result.steps if s.get("ok")]
    return ok[-1] if ok else ""


def _with_system(messages: list[dict], system: str) -> list[dict]:
    if messages and messages[0].get("role") == "system":
        first = messages[0]
        return [{"role": "system", "content": f"{system}\n\n{first.get('content') or ''}"}, *messages[1:]]
    return [{"role": "system", "content": system}, *messages]
