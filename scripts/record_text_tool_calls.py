"""Record what SmolLM2-135M (llama.cpp's server) answers to tool requests written as text.

    PYTHONPATH=. .venv/bin/python scripts/record_text_tool_calls.py

Each case's request is built exactly as the ``chat`` provider builds it with
``tool_call_format: json-in-text`` (``build_payload`` then ``tools_in_text``) and sent
streaming to a real llama.cpp server (``tests/support/llama_server.py``: greedy, seed
42). The raw SSE ``data:`` payloads are saved to
``tests/server/providers/data/smollm2_text_tool_calls.json``, which the unit tests in
``tests/server/providers/test_chat_text_tools.py`` replay. Re-record after changing the
prompt; the tests say which outcome each case must have.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from orchestrator.server.providers.base import ChatMessage, ModelRequest, ToolDef
from orchestrator.server.providers.chat_mapping import build_payload, wire_names
from orchestrator.server.providers.chat_text_tools import tools_in_text
from tests.support.llama_server import LlamaServer, model_path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests/server/providers/data/smollm2_text_tool_calls.json"
WEATHER = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"location": {"type": "string", "description": "City name"}},
        "required": ["location"],
    },
}
QUIZ = json.loads((ROOT / "assistants/functions/display_quiz.json").read_text("utf-8"))
# A cap, so a rambling answer stays a small recording (it then ends with "length").
MAX_TOKENS = 160
CASES = {
    "weather_seoul": ([WEATHER], "Weather in Seoul?"),
    "weather_paris": ([WEATHER], "What is the weather in Paris?"),
    "arithmetic": ([WEATHER], "What is 2+2?"),
    "quiz": ([QUIZ], "Make a quiz with 2 questions about fractions."),
    "weather_oslo": ([WEATHER], "Call get_weather for Oslo."),
}


def main() -> None:
    server = LlamaServer().start()
    recorded = {"model": model_path().name, "cases": {}}
    try:
        for name, (functions, user) in CASES.items():
            tools = [
                ToolDef("function", f["name"], f["description"], f["parameters"]) for f in functions
            ]
            request = ModelRequest(
                model="smollm2",
                messages=[
                    ChatMessage("system", "You are a helpful assistant."),
                    ChatMessage("user", user),
                ],
                tools=tools,
            )
            payload = tools_in_text(build_payload(request, "smollm2", wire_names(request)))
            payload["max_tokens"] = MAX_TOKENS
            chunks = []
            with httpx.stream(
                "POST", server.base_url + "/chat/completions", json=payload, timeout=300
            ) as resp:
                resp.raise_for_status()
                for line in resp.iter_lines():
                    if line.startswith("data: "):
                        chunks.append(line[6:])
            recorded["cases"][name] = {"functions": functions, "user": user, "sse": chunks}
            print(name, "recorded", len(chunks), "events")
    finally:
        server.stop()
    OUT.write_text(json.dumps(recorded, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
