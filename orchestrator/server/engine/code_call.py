"""The code_interpreter tool's execution: run the model's code in the sandbox, keep the
files it writes.

Wire-surface neutral: the result is the logs, the stored files (images marked) and the
text the model reads next; the Assistants executor turns them into run step outputs
and message images, a Responses executor into ``code_interpreter_call`` outputs and
``container_file_citation`` annotations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from orchestrator.server.providers.base import ModelError
from orchestrator.server.services.files import get_file, read_file_bytes, store_file
from orchestrator.server.tools.file_links import format_written

if TYPE_CHECKING:
    from orchestrator.server.config import SandboxLimits
    from orchestrator.server.store import Store
    from orchestrator.server.tools.code_interpreter import CodeFile

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass
class WrittenFile:
    file: dict[str, Any]  # the stored file object (purpose assistants_output)
    path: str  # as the code named it, relative to its working directory
    is_image: bool


@dataclass
class CodeOutcome:
    logs: str  # output, with the error appended when the code failed
    ok: bool
    written: list[WrittenFile] = field(default_factory=list)

    @property
    def model_output(self) -> str:
        """What the model reads next: the logs and the files written, as the
        ``sandbox:/mnt/data/...`` links it can put in its reply."""
        out = self.logs or ("(no output)" if self.ok else "(failed with no output)")
        if self.written:
            out += "\n" + format_written([w.path for w in self.written])
        return out


def code_inputs(store: Store, file_ids: list[str]) -> list[CodeFile]:
    """The files the code can read, by plain name; files deleted since are left out."""
    from orchestrator.server.tools.code_interpreter import CodeFile

    inputs = []
    for file_id in file_ids:
        obj = get_file(store, file_id)
        if obj is None:
            continue
        name = PurePosixPath(obj["filename"]).name or file_id
        inputs.append(CodeFile(name=name, data=read_file_bytes(store, file_id)))
    return inputs


async def run_code_call(
    store: Store, code: str, *, workdir: Path, inputs: list[CodeFile], limits: SandboxLimits
) -> CodeOutcome:
    """Run ``code``; a sandbox that cannot run here is a ModelError (the run fails with
    the sandbox's own explanation)."""
    try:
        from orchestrator.server.tools.code_interpreter import SandboxUnavailable, run_code
    except ImportError as exc:
        raise ModelError(
            "server_error", f"The code_interpreter tool is not available on this server: {exc}"
        ) from exc
    try:
        result = await run_code(code, workdir=workdir, inputs=inputs, limits=limits)
    except SandboxUnavailable as exc:
        raise ModelError("server_error", str(exc)) from exc
    logs = result.logs or ""
    if not result.ok and result.error and result.error not in logs:
        logs = f"{logs}\n{result.error}" if logs else result.error
    outcome = CodeOutcome(logs=logs, ok=result.ok)
    for f in result.files:
        name = PurePosixPath(f.name).name or "output"
        obj = store_file(store, name, f.data, "assistants_output")
        is_image = name.lower().endswith(".png") or f.data.startswith(_PNG_MAGIC)
        outcome.written.append(WrittenFile(file=obj, path=f.name, is_image=is_image))
    return outcome
