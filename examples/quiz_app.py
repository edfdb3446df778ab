"""A complete application on the runtime library: the Quiz Generator, over Responses.

    orchestrator apply --api openai            # writes assistants.lock.json with profiles
    python examples/quiz_app.py "Make me a quiz about triangles"

It loads the ``quiz-generator`` profile from the lock file, opens a Conversation, and
plays one turn: the model's ``display_quiz`` calls are answered by the same handler the
scenarios use (``scenarios/handlers/quiz.py``), so the app and its tests share it. The
client reads ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` (OpenAI, or ``orchestrator serve``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import openai

from orchestrator.runtime import load_profile, respond

ROOT = Path(__file__).resolve().parents[1]
HANDLERS = [ROOT / "scenarios" / "handlers" / "quiz.py"]


def main() -> None:
    ap = argparse.ArgumentParser(description="Ask the Quiz Generator for a quiz.")
    ap.add_argument("question", nargs="?", default="Make me a short quiz about triangles.")
    ap.add_argument("--lock", type=Path, default=ROOT / "assistants.lock.json")
    ap.add_argument("--profile", default="quiz-generator")
    args = ap.parse_args()

    client = openai.OpenAI()
    profile = load_profile(args.profile, path=args.lock)
    conversation = client.conversations.create(metadata={"app": "quiz_app"})
    reply = respond(client, profile, conversation, args.question, handlers=HANDLERS)
    for call in reply.calls:
        print(f"[{call.name}] {call.arguments.get('title', '')!s} -> {call.output}")
    print(reply.text)


if __name__ == "__main__":
    main()
