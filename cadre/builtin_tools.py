"""The built-in tools, declared once: each tool's OpenAI function schema, the capability
of the model that answers it (None for an exact tool: sympy, the image encoder) and the
instruction that model is given. The project file's route targets, the tool-calling
schemas, the tool box and the engine's routes all read this table."""
from __future__ import annotations

from dataclasses import dataclass, field

CODE_INSTRUCTION = "Write the code for this task. Answer with a code block and one sentence.\nTask: {text}"
ENHANCE_INSTRUCTION = ("Rewrite this image-generation prompt with vivid visual details, style and lighting, "
                       "as one line of comma-separated phrases:\n{text}")
SUMMARY_INSTRUCTION = "Summarize the following text in at most {n} sentences:\n{text}"
TRANSLATE_INSTRUCTION = "Translate the following text into {lang}. Answer with the translation only:\n{text}"

_S = {"type": "string"}


@dataclass(frozen=True)
class BuiltinTool:
    name: str
    description: str
    properties: dict
    required: tuple[str, ...] = ()
    capability: str | None = None    # the capability whose model answers (None: an exact tool)
    instruction: str | None = None   # what a chat model is asked ({text}, and {n} or {lang})
    defaults: dict = field(default_factory=dict)  # placeholders filled when a route (not a call) uses it

    def schema(self) -> dict:
        """The OpenAI function schema."""
        return {"type": "function", "function": {"name": self.name, "description": self.description,
                "parameters": {"type": "object", "properties": self.properties, "required": list(self.required)}}}


BUILTIN_TOOLS: dict[str, BuiltinTool] = {t.name: t for t in (
    BuiltinTool("generate_code", "Write code for a programming task.",
                {"prompt": {**_S, "description": "what the code must do"}, "language": _S}, ("prompt",),
                "code_generation", CODE_INSTRUCTION),
    BuiltinTool("describe_image", "Describe an image (a path or base64), or a comma-separated list of visual features.",
                {"image": {**_S, "description": "image path or base64"}, "features": _S}),
    BuiltinTool("solve_math", "Solve arithmetic, algebra or calculus exactly.",
                {"problem": {**_S, "description": "the problem, e.g. 'solve 2x + 3 = 11'"}}, ("problem",)),
    BuiltinTool("enhance_prompt", "Rewrite an image-generation prompt with vivid detail.", {"prompt": _S},
                ("prompt",), "prompt_enhancement", ENHANCE_INSTRUCTION),
    BuiltinTool("summarize", "Summarize a text.", {"text": _S, "max_sentences": {"type": "integer"}}, ("text",),
                "summarization", SUMMARY_INSTRUCTION, {"n": "3"}),
    BuiltinTool("translate", "Translate a text into another language.", {"text": _S, "target_language": _S},
                ("text", "target_language"), "translation", TRANSLATE_INSTRUCTION, {"lang": "English"}),
)}
TOOL_NAMES = tuple(BUILTIN_TOOLS)


def instruction_for(name: str, **values: str) -> str:
    """A model-backed tool's instruction with its placeholders filled ({text} stays)."""
    tool = BUILTIN_TOOLS[name]
    text = tool.instruction or "{text}"
    for key, value in {**tool.defaults, **values}.items():
        text = text.replace("{" + key + "}", str(value))
    return text
