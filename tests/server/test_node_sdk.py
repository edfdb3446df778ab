"""The official ``openai`` Node SDK's stream helpers against ``orchestrator serve``.

tests/support/node/assistants_stream.mjs streams a code interpreter run (an image and a
CSV written) and a file search run with the Node SDK and prints what its accumulators
built (``imageFileDone``, ``toolCallDone``, ``messageDone``, ``finalRunSteps``, ...).
Needs node and the SDK installed beside the script (``npm ci --prefix
tests/support/node``); skipped, saying so, when either is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.support import API_KEY, ROOT

NODE_DIR = ROOT / "tests" / "support" / "node"
SCRIPT = NODE_DIR / "assistants_stream.mjs"

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox")


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (the Node SDK check needs node 20 or later)")
    if not (NODE_DIR / "node_modules" / "openai" / "package.json").is_file():
        pytest.skip(f"the openai Node SDK is not installed: run npm ci --prefix {NODE_DIR}")
    return node


def _run_script(node: str, base_url: str, workdir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env.update(OPENAI_BASE_URL=base_url, OPENAI_API_KEY=API_KEY)
    done = subprocess.run(
        [node, str(SCRIPT)], cwd=workdir, env=env, capture_output=True, text=True, timeout=90
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _no_index(value: Any) -> Any:
    """``value`` without the ``index`` keys that only deltas (and so accumulations) carry."""
    if isinstance(value, list):
        return [_no_index(v) for v in value]
    if isinstance(value, dict):
        return {k: _no_index(v) for k, v in value.items() if k != "index"}
    return value


def test_node_sdk_stream_accumulators_see_single_ids_and_file_paths(
    server, client: openai.OpenAI, tmp_path: Path
) -> None:
    out = _run_script(_node(), server.base_url, tmp_path)
    assert out["requestId"]  # x-request-id, as the SDK exposes it

    code = out["codeRun"]
    assert code["finalRun"]["status"] == "completed"
    [step] = [s for s in code["finalRunSteps"] if s["type"] == "tool_calls"]
    [call] = step["step_details"]["tool_calls"]
    # The SDK concatenates string fields of deltas: an id sent twice would be doubled.
    [done_call] = code["toolCallDone"]
    assert done_call["id"] == call["id"] and call["id"].count("call_") == 1
    outputs = done_call["code_interpreter"]["outputs"]
    assert _no_index(outputs) == call["code_interpreter"]["outputs"]

    [message] = code["messageDone"]
    # The SDK's accumulation of the message deltas is the completed message's content.
    [accumulated] = code["finalMessages"]
    assert _no_index(accumulated["content"]) == message["content"]
    image, text = message["content"]
    [image_done] = code["imageFileDone"]
    assert image_done == image["image_file"]
    assert image_done["detail"] == "auto"
    assert image_done["file_id"].count("file-") == 1
    assert "".join(code["textDeltas"]) == text["text"]["value"]
    value = text["text"]["value"]
    paths = {a["text"]: a for a in text["text"]["annotations"]}
    assert set(paths) == {"sandbox:/mnt/data/dot.png", "sandbox:/mnt/data/table.csv"}
    for a in paths.values():
        assert a["type"] == "file_path"
        assert value[a["start_index"] : a["end_index"]] == a["text"]
    table = paths["sandbox:/mnt/data/table.csv"]["file_path"]["file_id"]
    assert client.files.content(table).read() == b"x,y\n1,2\n"
    assert paths["sandbox:/mnt/data/dot.png"]["file_path"]["file_id"] == image_done["file_id"]
    stored = client.beta.threads.messages.retrieve(message["id"], thread_id=out["threadId"])
    assert stored.model_dump(mode="json")["content"] == message["content"]

    search = out["searchRun"]
    assert search["finalRun"]["status"] == "completed"
    [step] = [s for s in search["finalRunSteps"] if s["type"] == "tool_calls"]
    [call] = step["step_details"]["tool_calls"]
    [done_call] = search["toolCallDone"]
    assert call["type"] == "file_search" and done_call["id"] == call["id"]
    assert call["id"].count("call_") == 1
    [message] = search["messageDone"]
    cites = message["content"][0]["text"]["annotations"]
    assert cites and all(a["type"] == "file_citation" for a in cites)
