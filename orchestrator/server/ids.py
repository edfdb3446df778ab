"""Prefixed, time-sortable object ids (``asst_…``, ``thread_…``, ``file-…``).

Ids sort by creation time as plain strings, so the store can order and paginate by
id alone: 11 hex digits of milliseconds, 4 of a per-process counter, then random.
"""

from __future__ import annotations

import secrets
import threading
import time

PREFIXES = {
    "agent": "agent_",
    "assistant": "asst_",
    "thread": "thread_",
    "message": "msg_",
    "run": "run_",
    "run_step": "step_",
    "tool_call": "call_",
    "file": "file-",
    "vector_store": "vs_",
    "vector_store_file_batch": "vsfb_",
    "chat_completion": "chatcmpl-",
    "response": "resp_",
    "conversation": "conv_",
    "container": "cntr_",
    "container_file": "cfile_",
    "function_call": "fc_",
    "function_call_output": "fco_",
    "file_search_call": "fs_",
    "code_interpreter_call": "ci_",
}

_lock = threading.Lock()
_last_ms = 0
_seq = 0


def new_id(kind: str) -> str:
    """A new id for an object of ``kind`` (a key of :data:`PREFIXES`)."""
    global _last_ms, _seq
    with _lock:
        ms = int(time.time() * 1000)
        if ms <= _last_ms:
            # Same millisecond (or a clock step back): keep strictly increasing.
            ms = _last_ms
            _seq += 1
            if _seq > 0xFFFF:
                ms, _seq = ms + 1, 0
        else:
            _seq = 0
        _last_ms, seq = ms, _seq
    return f"{PREFIXES[kind]}{ms:011x}{seq:04x}{secrets.token_hex(5)}"


def now() -> int:
    """Unix time in seconds, as every timestamp on the wire."""
    return int(time.time())
