"""The built-in tools that answer by themselves, bound by name (the decide stage names
them): `solve_math` (sympy, in a sandbox) and
`describe_image` (the vision encoder's labels). Each turns a Decision into a ready plan,
or hands over to a language model. Both do their work here, while planning: never on
the event loop."""
from __future__ import annotations

from cadre.runtime.errors import ToolError
from cadre.runtime.image_input import path_in_text
from cadre.runtime.inline import refuse_blocking
from cadre.runtime.plan import Plan


def solve_math(leaser, decision, messages, text: str, image) -> Plan:
    """sympy's exact answer; a problem past its limits says so, one it cannot parse goes
    to the math model (else the primary)."""
    from cadre.runtime.math_sandbox import MathTooCostly, solve_math_safely

    refuse_blocking()
    choice, reason = decision.route, decision.reason
    try:
        return Plan("tool:solve_math", f"{reason} (sympy)", choice, text=solve_math_safely(text))
    except MathTooCostly as exc:  # a language model would only guess: say so instead
        return Plan("tool:solve_math", f"{reason} (sympy: {exc})", choice,
                    text=f"I cannot compute that exactly: {exc}.")
    except ToolError as exc:
        return leaser.capability_plan(choice, messages, "math", "{text}", f"{reason}: {exc}")


def describe_image(leaser, decision, messages, text: str, image) -> Plan:
    """The image's labels from the vision encoder (or the primary's caption of them)."""
    from cadre.runtime.vision import VISION_MARK
    from cadre.runtime.vision import describe_image as describe

    refuse_blocking()
    choice, reason = decision.route, decision.reason
    source = image if image is not None else path_in_text(text)
    if source is None:
        if VISION_MARK not in text:
            return leaser.primary_plan(choice, messages, f"{reason}: no image attached → primary")
        source = text[text.index(VISION_MARK):]
    source = leaser.images.prepare(source)  # ImageRejected (400) for paths and bombs
    try:
        result = describe(source, leaser.manager, allow_paths=False)
    except ToolError as exc:
        return leaser.primary_plan(choice, messages, f"{reason}: {exc} → primary")
    fell_to = "" if result.model == leaser.primary else " → labels"
    note = f"; {result.note}{fell_to}" if result.note else ""
    # the features themselves stay out: given as text they are the request's words
    origin = f"{len(result.labels)} image labels" if result.labels else "given as text"
    return Plan(result.model, f"{reason} (features: {origin}{note})", choice, text=result.text)


ANSWERING_TOOLS = {"solve_math": solve_math, "describe_image": describe_image}
