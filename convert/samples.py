"""Sample trajectories for verification: per-role (prompt, target) pairs in the α-UMi format, plus texts that
stress tokenization (the literal ``</s>`` turn separator, JSON, non-ASCII, special tokens)."""

from __future__ import annotations

import json

from umi_edge.formats.prompts import Style, model_prompt
from umi_edge.formats.samples import role_samples

_TOOLS = [
    {
        "Name": "get_weather_for_openweather",
        "function": "Get the current weather of a city.",
        "input": {"city": "string, name of the city", "units": "string, metric or imperial"},
    },
    {
        "Name": "convert_currency_for_fx",
        "function": "Convert an amount between currencies.",
        "input": {"amount": "number, ", "to": "string, ISO code"},
    },
]

TRAJECTORIES = [
    {
        "tools": _TOOLS,
        "instruction": "What is the weather in Zürich right now?",
        "conversations": [
            {"from": "user", "value": "What is the weather in Zürich right now?"},
            {"from": "assistant", "value": "I should call the weather API for Zürich.\n Next: caller."},
            {
                "from": "caller",
                "value": 'Action: get_weather_for_openweather\nAction Input: {"city": "Zürich", "units": "metric"}',
            },
            {
                "from": "observation",
                "value": json.dumps({"error": "", "response": {"temp_c": 4.5, "sky": "cloudy ☁", "wind": [3, 7]}}),
            },
            {"from": "assistant", "value": "I have the weather, time to answer.\n Next: conclusion."},
            {"from": "conclusion", "value": "It is 4.5 °C and cloudy in Zürich, with light wind."},
        ],
    },
    {
        "tools": _TOOLS,
        "instruction": "Convert 120 USD to yen (円) please.",
        "conversations": [
            {"from": "user", "value": "Convert 120 USD to yen (円) please."},
            {"from": "assistant", "value": "I need the currency converter for 120 to JPY.\n Next: caller."},
            {"from": "caller", "value": 'Action: convert_currency_for_fx\nAction Input: {"amount": 120, "to": "JPY"}'},
            {"from": "observation", "value": '{"error": "", "response": "17,940 JPY"}'},
            {"from": "assistant", "value": "The conversion worked.\n Next: conclusion."},
            {"from": "conclusion", "value": "120 USD is about 17,940 JPY (円)."},
        ],
    },
]

EXTRA_TEXTS = [
    "user: hello</s>assistant: hi</s>",
    "</s>",
    '{"key": [1, 2.5, -3e4, null, true], "nested": {"a": "b\\"c"}}',
    "naïve café — 東京 😀 Ünïcødé",
    "  two leading spaces\n\ttab and newline\n",
    "observation: {}assistant: done\n Next: give up.",
]


def role_pairs(role: str, style: Style = "toolbench") -> list[tuple[str, str]]:
    """(prompt as the model sees it, target) for ``role`` (planner, caller, summarizer or backbone)."""
    out: list[tuple[str, str]] = []
    for traj in TRAJECTORIES:
        for rec in role_samples(traj, style)[role]:
            out.append((model_prompt(rec["input"]), rec["target"]))
    return out
