"""/v1/files: upload (multipart), list, retrieve, content, delete."""

from __future__ import annotations

import mimetypes
import re
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from orchestrator.server.context import ServerContext
from orchestrator.server.errors import invalid
from orchestrator.server.ids import now
from orchestrator.server.routes.deps import ctx
from orchestrator.server.services.files import (
    UPLOAD_PURPOSES,
    delete_file,
    list_files_page,
    read_file_bytes,
    require_file,
    store_file,
)

router = APIRouter()

_FORM_FIELDS = {"file", "purpose", "expires_after[anchor]", "expires_after[seconds]"}
# FileExpirationAfter bounds: one hour to 30 days.
_MIN_EXPIRY, _MAX_EXPIRY = 3600, 2592000


def _filename(upload: UploadFile) -> str:
    # Keep the base name only: clients send a name, never a path we should honour.
    name = re.split(r"[\\/]", upload.filename or "")[-1].strip()
    return name or "upload"


def _expires_at(form: Any) -> int | None:
    anchor = form.get("expires_after[anchor]")
    seconds = form.get("expires_after[seconds]")
    if anchor is None and seconds is None:
        return None
    if anchor != "created_at":
        raise invalid(
            "Invalid value for 'expires_after.anchor': expected 'created_at'.",
            param="expires_after.anchor",
        )
    try:
        secs = int(str(seconds))
    except ValueError:
        raise invalid(
            "Invalid value for 'expires_after.seconds': expected an integer.",
            param="expires_after.seconds",
        ) from None
    if not _MIN_EXPIRY <= secs <= _MAX_EXPIRY:
        raise invalid(
            f"Invalid value for 'expires_after.seconds': {secs}; it must be between "
            f"{_MIN_EXPIRY} (1 hour) and {_MAX_EXPIRY} (30 days).",
            param="expires_after.seconds",
        )
    return now() + secs


@router.post("/files")
async def upload_file(request: Request, c: ServerContext = Depends(ctx)) -> dict[str, Any]:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise invalid(
            "Files are uploaded as multipart/form-data with the fields 'file' and 'purpose'."
        )
    form = await request.form()
    try:
        extra = sorted(set(form.keys()) - _FORM_FIELDS)
        if extra:
            raise invalid(
                f"Unrecognized request argument supplied: {', '.join(extra)}", param=extra[0]
            )
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise invalid("Missing required parameter: 'file'.", param="file")
        purpose = form.get("purpose")
        if purpose is None:
            raise invalid("Missing required parameter: 'purpose'.", param="purpose")
        if purpose not in UPLOAD_PURPOSES:
            raise invalid(
                f"Invalid value for 'purpose': '{purpose}'. Expected one of "
                f"{', '.join(UPLOAD_PURPOSES)}.",
                param="purpose",
            )
        expires_at = _expires_at(form)
        # Streamed from the parser's spool file to the blob in a worker thread: a 512 MB
        # upload is never in memory whole, and the event loop keeps serving meanwhile.
        await upload.seek(0)
        return await run_in_threadpool(
            store_file, c.store, _filename(upload), upload.file, str(purpose),
            expires_at=expires_at,
        )  # fmt: skip
    finally:
        await form.close()


@router.get("/files")
async def list_files(
    purpose: str | None = None,
    limit: int = 10000,
    order: str = "desc",
    after: str | None = None,
    c: ServerContext = Depends(ctx),
) -> dict[str, Any]:
    return list_files_page(c.store, purpose=purpose, limit=limit, order=order, after=after)


@router.get("/files/{file_id}")
async def retrieve_file(file_id: str, c: ServerContext = Depends(ctx)) -> dict[str, Any]:
    return require_file(c.store, file_id)


def _content_type(filename: str) -> str:
    guessed, _ = mimetypes.guess_type(filename)
    if guessed is None or guessed == "application/json":
        # JSON files come back as bytes too: the content is the file, not an API response.
        return "application/octet-stream"
    return guessed


@router.get("/files/{file_id}/content")
async def file_content(file_id: str, c: ServerContext = Depends(ctx)) -> Response:
    obj = require_file(c.store, file_id)
    data = read_file_bytes(c.store, file_id)
    return Response(
        content=data,
        media_type=_content_type(obj["filename"]),
        headers={
            "content-disposition": f"attachment; filename*=UTF-8''{_quote(obj['filename'])}",
            "x-content-type-options": "nosniff",
        },
    )


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


@router.delete("/files/{file_id}")
async def remove_file(file_id: str, c: ServerContext = Depends(ctx)) -> dict[str, Any]:
    require_file(c.store, file_id)
    delete_file(c.store, file_id)
    return {"id": file_id, "object": "file", "deleted": True}
