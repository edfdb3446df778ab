"""API errors with OpenAI's body shape: ``{"error": {"message", "type", "param", "code"}}``."""

from __future__ import annotations

import errno
import sqlite3
from dataclasses import dataclass


@dataclass
class APIError(Exception):
    status: int
    message: str
    type: str = "invalid_request_error"
    param: str | None = None
    code: str | None = None

    def body(self) -> dict:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


def invalid(message: str, param: str | None = None, code: str | None = None) -> APIError:
    return APIError(400, message, param=param, code=code)


def not_found(kind: str, object_id: str) -> APIError:
    # OpenAI's wording, which client code sometimes matches on.
    return APIError(404, f"No {kind} found with id '{object_id}'.", code=None)


def is_disk_full(exc: BaseException) -> bool:
    """A write that failed for want of space (a full disk or an exhausted quota)."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    if isinstance(exc, sqlite3.Error):
        return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    return False


def insufficient_storage() -> APIError:
    # 507 (WebDAV's Insufficient Storage): the request was fine, the server has no room.
    return APIError(
        507,
        "The server's disk is full, so nothing was stored. Free space: delete files you "
        "no longer need (DELETE /v1/files/{file_id}, which works on a full disk) or add "
        "disk space on the server, then retry.",
        type="server_error",
        code="insufficient_storage",
    )
