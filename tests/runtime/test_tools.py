import json
from fractions import Fraction

import pytest
import sympy

from cadre.runtime.errors import ToolError
from cadre.runtime.mathsolve import solve_math
from cadre.runtime.tools import TOOL_SCHEMAS, ToolBox, check_call, parse_tool_calls, run_tool_loop


def test_schemas_are_openai_functions_for_the_six_tools():
    assert set(TOOL_SCHEMAS) == {"generate_code", "describe_image", "solve_math", "enhance_prompt",
                                 "summarize", "translate"}
    for name, schema in TOOL_SCHEMAS.items():
        assert schema["type"] == "function" and schema["function"]["name"] == name
        assert schema["function"]["parameters"]["type"] == "object"


@pytest.mark.parametrize("text", [
    '<tool_call>[{"name": "solve_math", "arguments": {"problem": "2+2"}}]</tool_call>',
    '<tool_call>{"name": "solve_math", "arguments": {"problem": "2+2"}}</tool_call>',
    'Sure.\n<tool_call>\n{"name": "solve_math", "parameters": {"problem": "2+2"}}\n',  # unclosed tag
    '{"name": "solve_math", "arguments": "{\\"problem\\": \\"2+2\\"}"}',
    '```json\n[{"type": "function", "function": {"name": "solve_math", "arguments": {"problem": "2+2"}}}]\n```',
])
def test_both_tool_call_styles_parse(text):
    calls, errors = parse_tool_calls(text)
    assert not errors and len(calls) == 1 and calls[0].name == "solve_math"
    assert check_call(calls[0], TOOL_SCHEMAS) == {"problem": "2+2"}
    assert calls[0].to_openai()["function"]["arguments"] == calls[0].arguments


def test_plain_text_and_empty_lists_are_not_calls():
    assert parse_tool_calls("The answer is 4.") == ([], [])
    assert parse_tool_calls("<tool_call>[]</tool_call>") == ([], [])


def test_invalid_json_and_bad_arguments_are_reported_not_raised():
    calls, errors = parse_tool_calls('<tool_call>{"name": "solve_math", "arguments": {problem: 2}</tool_call>')
    assert not calls and "not valid JSON" in errors[0]
    box = ToolBox(manager=None)
    for args, message in [('{"problem": ', "not valid JSON"), ("[1, 2]", "JSON object"),
                          ("{}", "missing argument"), ('{"problem": "1", "extra": 2}', "unknown argument")]:
        outcome = box.run("solve_math", args)
        assert not outcome.ok and message in outcome.text
    assert "unknown tool" in box.run("launch_rocket", "{}").text


def test_a_tool_that_raises_becomes_an_error_outcome():
    box = ToolBox(manager=None)
    box.add_tool({"name": "divide", "parameters": {"type": "object", "properties": {"a": {"type": "integer"}},
                                                   "required": ["a"]}}, lambda a: str(1 / a))
    assert box.run("divide", '{"a": 4}').text == "0.25"
    outcome = box.run("divide", '{"a": 0}')
    assert not outcome.ok and "raised ZeroDivisionError" in outcome.text
    with pytest.raises(ValueError, match="already exists"):
        box.add_tool({"name": "divide"}, lambda a: a)


@pytest.mark.parametrize("a,b", [(12, 7), (123456789, 987654321), (-45, 3)])
def test_solve_math_arithmetic_is_exact(a, b):
    assert solve_math(f"what is {a} times {b}?").text.endswith(f"= {a * b}")
    assert solve_math(f"{a} + {b}").text.endswith(f"= {a + b}")
    assert str(Fraction(a, b)) in solve_math(f"{a} divided by {b}").text


def test_solve_math_equations_calculus_and_algebra_are_right():
    x = sympy.Symbol("x")
    answer = solve_math("solve 3x - 7 = 11").value
    assert all(sympy.simplify(3 * s[x] - 7 - 11) == 0 for s in answer)
    assert sympy.simplify(solve_math("derivative of x^3 * sin(x)").value - sympy.diff(x**3 * sympy.sin(x), x)) == 0
    assert solve_math("integrate x^2 from 0 to 3").value == sympy.integrate(x**2, (x, 0, 3))
    assert solve_math("limit of sin(x)/x as x -> 0").value == 1
    assert sympy.expand(solve_math("factor x^2 - 5x + 6").value) == x**2 - 5 * x + 6
    assert solve_math("what is 15% of 80").value == 12
    system = solve_math("solve x + y = 10, x - y = 2").value[0]
    assert {str(k): v for k, v in system.items()} == {"x": 6, "y": 4}


@pytest.mark.parametrize("bad", ["__import__('os').system('true')", "what is the capital of France",
                                 "", "x" * 400, "open('f').read()"])
def test_solve_math_rejects_what_is_not_math(bad):
    with pytest.raises(ToolError):
        solve_math(bad)


def test_the_loop_runs_tools_feeds_results_back_and_is_bounded():
    seen = []

    def scripted(convo):  # a stand-in for the primary: calls a tool, then answers from the result
        seen.append(convo)
        if convo[-1]["role"] == "tool":
            return f"The result is {convo[-1]['content']}"
        return '<tool_call>[{"name": "solve_math", "arguments": {"problem": "6 times 7"}}]</tool_call>'

    box = ToolBox(manager=None)
    result = run_tool_loop(scripted, box, [{"role": "user", "content": "six times seven?"}], list(TOOL_SCHEMAS.values()))
    assert result.rounds == 2 and result.text == "The result is 6*7 = 42"
    assert seen[0][0]["role"] == "system" and "<tools>" in seen[0][0]["content"]
    always_calls = run_tool_loop(lambda c: '<tool_call>{"name": "solve_math", "arguments": {"problem": "1+1"}}</tool_call>',
                                 box, [{"role": "user", "content": "?"}], list(TOOL_SCHEMAS.values()), max_steps=3)
    assert always_calls.rounds == 3 and always_calls.text == "1 + 1 = 2"


def test_client_tools_end_the_loop_and_unoffered_tools_are_refused():
    box = ToolBox(manager=None)
    weather = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}}}
    result = run_tool_loop(lambda c: '{"name": "get_weather", "arguments": {"city": "Paris"}}', box,
                           [{"role": "user", "content": "weather?"}], [weather], 1, client_tools={"get_weather"})
    assert result.client_calls[0].name == "get_weather" and json.loads(result.client_calls[0].arguments)["city"] == "Paris"
    refused = run_tool_loop(lambda c: '{"name": "solve_math", "arguments": {"problem": "1+1"}}', box,
                            [{"role": "user", "content": "?"}], [weather], 1, client_tools={"get_weather"})
    assert not refused.client_calls and "unknown tool 'solve_math'" in refused.steps[0]["result"]
