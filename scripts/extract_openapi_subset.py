"""Extract the parts of OpenAI's pinned OpenAPI spec the server speaks into the package.

The server validates request bodies, and the tests validate response bodies, against
these schemas, so the wire format has one source of truth: OpenAI's own spec. Re-run
after re-pinning the spec:

    python scripts/extract_openapi_subset.py ../shared/openapi/openai-openapi.yaml
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

PATH_PREFIXES = (
    "/assistants",
    "/threads",
    "/files",
    "/vector_stores",
    "/chat/completions",
    "/responses",
    "/conversations",
    "/containers",
)
OUT = (
    Path(__file__).resolve().parents[1] / "orchestrator" / "server" / "wire" / "openapi_subset.json"
)


def refs(node: Any, section: str = "schemas") -> set[str]:
    """Names of ``#/components/<section>/...`` referenced anywhere in ``node``."""
    prefix = f"#/components/{section}/"
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(prefix):
            found.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            found |= refs(value, section)
    elif isinstance(node, list):
        for value in node:
            found |= refs(value, section)
    return found


def main(spec_path: str) -> None:
    spec = yaml.load(Path(spec_path).read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    # `?beta=true` variants are the same operations under a beta header's schemas.
    paths = {p: v for p, v in spec["paths"].items() if p.startswith(PATH_PREFIXES) and "?" not in p}
    schemas = spec["components"]["schemas"]
    # Shared responses (e.g. TooManyRequests) are referenced from paths; keep them whole.
    responses = {n: spec["components"]["responses"][n] for n in sorted(refs(paths, "responses"))}
    wanted, todo = set(), refs(paths) | refs(responses)
    # Event schemas the SSE stream emits are referenced only from prose; name them.
    todo |= {"AssistantStreamEvent", "CreateChatCompletionStreamResponse", "ResponseStreamEvent"}
    while todo:
        name = todo.pop()
        if name in wanted:
            continue
        wanted.add(name)
        todo |= refs(schemas[name]) - wanted
    subset = {
        "openapi": spec["openapi"],
        "info": {"title": spec["info"]["title"], "version": spec["info"]["version"]},
        "paths": paths,
        "components": {
            "schemas": {n: schemas[n] for n in sorted(wanted)},
            "responses": responses,
        },
    }
    OUT.write_text(json.dumps(subset, indent=None, sort_keys=True, ensure_ascii=False) + "\n")
    print(f"{len(paths)} paths, {len(wanted)} schemas -> {OUT} ({OUT.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/openapi/openai-openapi.yaml")
