"""The floor for CPU per CRUD request: a bare FastAPI app on the same uvicorn stack,
answering GET/POST of an assistant-sized JSON object from a dict (no auth, no store,
no checks). Started by ``bench_scaling.py`` as ``python -m uvicorn _bare_app:app``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request

app = FastAPI()
_objects: dict[str, dict[str, Any]] = {}


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/v1/assistants")
async def create(request: Request) -> dict[str, Any]:
    body = await request.json()
    obj = {"id": f"asst_{len(_objects)}", "object": "assistant", **body}
    _objects[obj["id"]] = obj
    return obj


@app.get("/v1/assistants/{assistant_id}")
async def get(assistant_id: str) -> dict[str, Any]:
    return _objects[assistant_id]
