"""A small runtime for applications: an assistant's Responses profile, and one turn with it.

Importable without the server (no FastAPI, no uvicorn): an application needs ``openai``
and this package. The profile is what ``orchestrator apply`` wrote into the lock file;
the handlers are the same ``@handler`` functions the scenarios use, so an app and its
tests share them::

    import openai
    from orchestrator import handler
    from orchestrator.runtime import load_profile, respond

    @handler("display_quiz")
    def display_quiz(title: str, questions: list[dict]) -> list[str]:
        return [ask_the_student(q) for q in questions]

    client = openai.OpenAI()
    profile = load_profile("quiz-generator")          # from ./assistants.lock.json
    conversation = client.conversations.create()
    reply = respond(client, profile, conversation, "Make me a quiz on triangles.")
    print(reply.text)

Modules: :mod:`.profiles` (reading the lock file), :mod:`.respond` (the function-call loop).
"""

from __future__ import annotations

from orchestrator.runtime.profiles import Profile, ProfileError, load_profile
from orchestrator.runtime.respond import FunctionCall, Reply, RespondError, call_handler, respond

__all__ = [
    "FunctionCall",
    "Profile",
    "ProfileError",
    "Reply",
    "RespondError",
    "call_handler",
    "load_profile",
    "respond",
]
