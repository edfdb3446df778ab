"""Function tools the tests share.

``DISPLAY_QUIZ`` is the seed tutorials' ``display_quiz`` function as the example
project defines it (``assistants/functions/display_quiz.json``): the one copy, so a
test of "the seed's quiz" cannot drift from what ``validate``/``apply`` and the
scenarios use. ``GET_WEATHER`` is OpenAI's function-calling example in strict mode
(every property required, ``additionalProperties: false``, an enum).

Both come as the function (``{name, description, parameters}``, what a ``function:``
file holds and the chat provider maps) and as the Assistants/Chat Completions tool
(``{"type": "function", "function": ...}``). Treat them as read-only: copy before
changing one for a test.
"""

from __future__ import annotations

import json
from typing import Any

from tests.support import ROOT

DISPLAY_QUIZ_FILE = ROOT / "assistants/functions/display_quiz.json"

DISPLAY_QUIZ: dict[str, Any] = json.loads(DISPLAY_QUIZ_FILE.read_text(encoding="utf-8"))
QUIZ_TOOL: dict[str, Any] = {"type": "function", "function": DISPLAY_QUIZ}

GET_WEATHER: dict[str, Any] = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "parameters": {
        "type": "object",
        "properties": {
            "location": {"type": "string", "description": "City and country"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["location", "unit"],
        "additionalProperties": False,
    },
    "strict": True,
}
WEATHER_TOOL: dict[str, Any] = {"type": "function", "function": GET_WEATHER}
