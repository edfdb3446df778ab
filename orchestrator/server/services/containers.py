"""Containers: where the code interpreter of the Responses API keeps its files.

A container holds files at ``/mnt/data/<name>`` (one per path: a new file with the same
name replaces the old one). It expires ``expires_after.minutes`` after its last activity
(a file added, code run in it); an expired container can still be read and deleted, but
not used. How long a minute lasts is the server's ``container_minute_seconds`` (60 s;
tests shorten it). File bytes are blobs keyed by the container file's id.
"""

from __future__ import annotations

import re
import time
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from orchestrator.server.errors import APIError, invalid
from orchestrator.server.ids import new_id, now
from orchestrator.server.services.files import get_file, read_file_bytes
from orchestrator.server.store import ListParams, Page, Store

if TYPE_CHECKING:
    from orchestrator.server.tools.code_interpreter import CodeFile

MOUNT = "/mnt/data"
DEFAULT_MINUTES = 20
MAX_MINUTES = 24 * 60


def _not_found(container_id: str) -> APIError:
    return APIError(404, f"Container with id '{container_id}' not found.")


def _expired(container: dict[str, Any], minute: float) -> bool:
    minutes = container["expires_after"]["minutes"]
    return time.time() >= container["last_active_at"] + minutes * minute


def _shown(container: dict[str, Any], minute: float) -> dict[str, Any]:
    if container["status"] == "running" and _expired(container, minute):
        return {**container, "status": "expired"}
    return container


def _get(store: Store, container_id: str) -> dict[str, Any]:
    container = store.get("container", container_id)
    if container is None:
        raise _not_found(container_id)
    return container


def require(store: Store, container_id: str, *, minute: float) -> dict[str, Any]:
    """The container as a client sees it (``expired`` once ``expires_after.minutes`` of
    ``minute`` seconds passed since its last activity)."""
    return _shown(_get(store, container_id), minute)


def require_running(store: Store, container_id: str, *, minute: float) -> dict[str, Any]:
    """The container, which must not have expired; its last activity becomes now."""
    container = require(store, container_id, minute=minute)
    if container["status"] != "running":
        raise invalid(
            f"Container '{container_id}' has expired (no activity for "
            f"{container['expires_after']['minutes']} minutes); create a new container.",
            param="container_id",
        )

    def touch(obj: dict[str, Any]) -> None:
        obj["last_active_at"] = now()

    return store.mutate("container", container_id, touch)


def create(store: Store, body: dict[str, Any], *, name: str | None = None) -> dict[str, Any]:
    expires = body.get("expires_after") or {"anchor": "last_active_at", "minutes": DEFAULT_MINUTES}
    minutes = expires["minutes"]
    if not 1 <= minutes <= MAX_MINUTES:
        raise invalid(
            f"Invalid 'expires_after.minutes': {minutes}; it must be between 1 and {MAX_MINUTES}.",
            param="expires_after.minutes",
        )
    file_ids = list(body.get("file_ids") or [])
    sources = []
    for n, file_id in enumerate(file_ids):
        obj = get_file(store, file_id)
        if obj is None:
            raise invalid(f"No file found with id '{file_id}'.", param=f"file_ids[{n}]")
        sources.append(obj)
    created = now()
    container = {
        "id": new_id("container"),
        "object": "container",
        "name": name if name is not None else body["name"],
        "created_at": created,
        "status": "running",
        "last_active_at": created,
        "expires_after": {"anchor": "last_active_at", "minutes": minutes},
        "memory_limit": body.get("memory_limit") or "1g",
        "network_policy": {"type": "disabled"},
    }
    store.insert("container", container)
    for obj in sources:
        _put_file(
            store, container["id"], obj["filename"], read_file_bytes(store, obj["id"]), "user"
        )
    return container


def list_containers(store: Store, params: ListParams, name: str | None, *, minute: float) -> Page:
    page = store.list("container", params, where={"name": name} if name is not None else None)
    page.data = [_shown(c, minute) for c in page.data]
    return page


def delete(store: Store, container_id: str) -> dict[str, Any]:
    _get(store, container_id)
    for f in store.all("container_file", parent=container_id):
        store.delete_blob(f["id"])
    store.delete_children(container_id)
    store.delete("container", container_id)
    return {"id": container_id, "object": "container.deleted", "deleted": True}


# -- files -------------------------------------------------------------------------------


def _file_name(name: str) -> str:
    # Keep the base name only: a client's name is never a path we honour.
    base = re.split(r"[\\/]", name or "")[-1].strip()
    return base or "upload"


def _put_file(
    store: Store, container_id: str, filename: str, data: bytes, source: str
) -> dict[str, Any]:
    path = f"{MOUNT}/{_file_name(filename)}"
    for old in store.all("container_file", parent=container_id, where={"path": path}):
        store.delete("container_file", old["id"])
        store.delete_blob(old["id"])
    obj = {
        "id": new_id("container_file"),
        "object": "container.file",
        "container_id": container_id,
        "created_at": now(),
        "bytes": len(data),
        "path": path,
        "source": source,
    }
    store.write_blob(obj["id"], data)
    return store.insert("container_file", obj, parent=container_id)


def add_file(
    store: Store,
    container_id: str,
    filename: str,
    data: bytes,
    source: str = "user",
    *,
    minute: float,
) -> dict[str, Any]:
    require_running(store, container_id, minute=minute)
    return _put_file(store, container_id, filename, data, source)


def add_stored_file(
    store: Store, container_id: str, file_id: str, *, minute: float
) -> dict[str, Any]:
    _get(store, container_id)
    obj = get_file(store, file_id)
    if obj is None:
        raise invalid(f"No file found with id '{file_id}'.", param="file_id")
    data = read_file_bytes(store, file_id)
    return add_file(store, container_id, obj["filename"], data, minute=minute)


def require_file(store: Store, container_id: str, file_id: str) -> dict[str, Any]:
    _get(store, container_id)
    obj = store.get("container_file", file_id, parent=container_id)
    if obj is None:
        raise APIError(404, f"Container file with id '{file_id}' not found.")
    return obj


def file_bytes(store: Store, container_id: str, file_id: str) -> tuple[dict[str, Any], bytes]:
    obj = require_file(store, container_id, file_id)
    data = store.read_blob(file_id)
    if data is None:
        raise APIError(404, f"Container file with id '{file_id}' not found.")
    return obj, data


def list_files(store: Store, container_id: str, params: ListParams) -> Page:
    _get(store, container_id)
    return store.list("container_file", params, parent=container_id)


def code_inputs(store: Store, container_id: str) -> list[CodeFile]:
    """Every file of the container, by plain name, for the code interpreter."""
    from orchestrator.server.tools.code_interpreter import CodeFile  # as engine.code_call

    inputs = []
    for obj in store.all("container_file", parent=container_id):
        data = store.read_blob(obj["id"])
        if data is not None:
            inputs.append(CodeFile(name=PurePosixPath(obj["path"]).name, data=data))
    return inputs


def delete_file(store: Store, container_id: str, file_id: str) -> dict[str, Any]:
    require_file(store, container_id, file_id)
    store.delete("container_file", file_id)
    store.delete_blob(file_id)
    return {"id": file_id, "object": "container.file.deleted", "deleted": True}
