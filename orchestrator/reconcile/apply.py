"""Execute a :class:`Plan`: files, then vector stores, then assistants; deletions last, in reverse.

Writes of one phase run in a bounded thread pool. Idempotent requests are retried by
:class:`Api`; creates are not. When a create fails in a way that leaves its outcome
unknown (5xx, timeout, dropped connection), the phase lists the server once for all
such creates, adopts the objects that did get created (found by their reserved
metadata; a file by its name and size, confirmed by downloading it and comparing the
content hash) and tries again only for the others. Deletions run only when every create
and update succeeded, so an interrupted apply never removes something the next run
still needs.

Before its first upload or file deletion, the apply writes its write-ahead journal
(:mod:`journal`); it removes it at the end when everything succeeded, so whatever a
killed or failed apply left behind is found by the next one.

Fencing (:mod:`lease`): ``guard`` runs before every write and ``confirm`` (which also
re-reads the lock) at phase boundaries. An apply that lost its lock stops; the files it
uploaded go into a last journal page, as file ids, because the apply that took over may
already have resolved (and deleted) its first pages: the next plan uses or deletes them.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import openai

from orchestrator.ownership import FILE_SHA_ATTRIBUTE, KEY_KEY, is_managed
from orchestrator.reconcile.api import AmbiguousWriteError, describe_error
from orchestrator.reconcile.errors import LockLostError, ReconcileError
from orchestrator.reconcile.identity import STORE_FILES_KEYS, files_metadata
from orchestrator.reconcile.journal import Journal, PendingUpload
from orchestrator.reconcile.plan import Change, FileOp, Plan
from orchestrator.reconcile.target import ReconcileTarget

ContentSource = Callable[[FileOp], bytes]

log = logging.getLogger("orchestrator.reconcile")


class Reporter(Protocol):
    """Where progress goes (the CLI prints Terraform-like lines; tests collect)."""

    def started(self, change: Change) -> None: ...

    def finished(self, change: Change, result: ChangeResult) -> None: ...

    def indexing(self, done: int, total: int) -> None: ...


class NullReporter:
    def started(self, change: Change) -> None:
        pass

    def finished(self, change: Change, result: ChangeResult) -> None:
        pass

    def indexing(self, done: int, total: int) -> None:
        pass


@dataclass
class ApplyOptions:
    parallelism: int = 8
    wait_for_indexing: bool = True
    indexing_timeout: float = 600.0
    poll_interval: float = 0.1
    # Rounds of "try the creates, list, find what got created" per phase.
    recovery_rounds: int = 4


@dataclass
class ChangeResult:
    ok: bool
    id: str | None = None
    error: str | None = None
    seconds: float = 0.0
    # Found on the server after an ambiguous failure rather than created by the request.
    recovered: bool = False


@dataclass
class ApplyResult:
    file_ids: dict[str, str] = field(default_factory=dict)
    vector_store_ids: dict[str, str] = field(default_factory=dict)
    assistant_ids: dict[str, str] = field(default_factory=dict)
    results: list[tuple[Change, ChangeResult]] = field(default_factory=list)
    deletions_skipped: bool = False

    @property
    def failures(self) -> list[str]:
        return [f"{c.kind} {c.label}: {r.error}" for c, r in self.results if not r.ok]


def content_from_memory(files: dict[str, bytes]) -> ContentSource:
    def get(op: FileOp) -> bytes:
        return files[op.sha256]

    return get


def content_from_disk(root: Any) -> ContentSource:
    """Read a planned file again from the project, refusing if its bytes changed."""
    from pathlib import Path

    base = Path(root)

    def get(op: FileOp) -> bytes:
        for rel in op.paths:
            path = base / rel
            try:
                data = path.read_bytes()
            except OSError:
                continue
            if hashlib.sha256(data).hexdigest() == op.sha256:
                return data
        raise ReconcileError(
            f"file {op.paths[0]}: its content changed (or it was removed) since the plan was "
            "made; make a new plan."
        )

    return get


class Executor:
    def __init__(
        self,
        api: ReconcileTarget,
        plan: Plan,
        content: ContentSource,
        options: ApplyOptions | None = None,
        reporter: Reporter | None = None,
        guard: Callable[[], None] | None = None,
        journal_token: str | None = None,
        confirm: Callable[[], None] | None = None,
    ) -> None:
        self.api = api
        self.plan = plan
        self.content = content
        self.opt = options or ApplyOptions()
        self.reporter = reporter or NullReporter()
        self.guard = guard or (lambda: None)
        self.confirm = confirm or self.guard
        # Ids of every file this apply uploaded (recorded again if it loses its lock).
        self.uploaded: list[str] = []
        self.result = ApplyResult(
            file_ids=dict(plan.known_files),
            vector_store_ids=dict(plan.known_vector_stores),
        )
        for c in plan.changes:
            if c.kind == "assistant" and c.id and c.action in ("noop", "update", "adopt"):
                self.result.assistant_ids[c.key] = c.id
        # Ids the plan already knew: an object found after a failed create is none of these.
        self.known_ids = {c.id for c in plan.changes if c.id}
        self._lock = threading.Lock()
        self._failed = False
        self._index_done = 0
        self._index_total = 0
        # The journal is tied to the namespace lock the apply holds (see journal.py).
        self.journal = Journal(api, plan.namespace, journal_token or secrets.token_hex(12))
        # An upload's outcome was unknown at some point: duplicates are swept at the end.
        self._ambiguous_uploads = False

    # -- bookkeeping ------------------------------------------------------------------------

    def _record(self, change: Change, result: ChangeResult) -> None:
        with self._lock:
            self.result.results.append((change, result))
            if not result.ok:
                self._failed = True
        self.reporter.finished(change, result)

    def _fail(self, change: Change, error: str, started: float) -> None:
        self._record(
            change, ChangeResult(ok=False, error=error, seconds=time.monotonic() - started)
        )

    # -- the phases ---------------------------------------------------------------------------

    def run(self) -> ApplyResult:
        changes = [c for c in self.plan.changes if c.writes]
        # Every upload's bytes first: a file that changed since the plan stops the apply
        # before its first write.
        self.payloads = {
            c.key: self.content(c.file) for c in changes if c.kind == "file" and c.file
        }
        with ThreadPoolExecutor(max_workers=max(1, self.opt.parallelism)) as pool:
            self.pool = pool
            try:
                return self._phases(changes)
            except LockLostError as e:
                pool.shutdown(cancel_futures=True)
                raise LockLostError(f"{e}{self._journal_after_loss()}") from None
            except BaseException:
                # Ctrl-C: queued writes are dropped, running ones finish; the journal covers
                # their uploads, so the next apply finds them.
                pool.shutdown(cancel_futures=True)
                raise

    def _journal_after_loss(self) -> str:
        """Record this apply's uploads by id (the one write after the lock was lost: it
        only adds a page the next plan reads); what to tell the user about them."""
        if not self.uploaded:
            return ""
        try:
            self.journal.write([], list(self.uploaded))
        except (openai.APIError, AmbiguousWriteError, ReconcileError) as e:
            return (
                f" The {len(self.uploaded)} files it uploaded could not be recorded "
                f"({describe_error(e) if isinstance(e, openai.APIError) else e}); "
                "unused ones named like the project's files may be left on the server."
            )
        return (
            f" The {len(self.uploaded)} files it uploaded are recorded in its journal: the "
            "next apply uses or deletes them."
        )

    def _phases(self, changes: list[Change]) -> ApplyResult:
        by = lambda kind, *actions: [  # noqa: E731
            c for c in changes if c.kind == kind and c.action in actions
        ]
        uploads = by("file", "create")
        file_deletes = by("file", "delete")
        self.confirm()
        if uploads or file_deletes:
            self.journal.write(
                [
                    PendingUpload.of(c.key, c.file.size, c.file.upload_name)
                    for c in uploads
                    if c.file
                ],
                [c.id for c in file_deletes if c.id],
            )
        self._creates(uploads, self._upload, self._find_files)
        self.confirm()
        self._each(by("vector_store", "create", "replace", "update", "adopt"), self._vector_store)
        self.confirm()
        self._creates(by("assistant", "create"), self._create_assistant, self._find_assistants)
        self._each(by("assistant", "update", "adopt"), self._update_assistant)
        deletions = [c for c in changes if c.action == "delete" and c.kind != "journal"] + [
            # A replaced store goes once the assistants point at its successor.
            c
            for c in changes
            if c.action == "replace"
        ]
        if self._failed:
            # The journal stays: the next apply finds what this one left behind.
            self.result.deletions_skipped = bool(deletions)
            return self.result
        self.confirm()
        for kind in ("assistant", "vector_store", "file"):
            self._each([c for c in deletions if c.kind == kind], self._delete)
        if self._failed:
            return self.result
        # What the journals of interrupted applies recorded is resolved by now.
        for c in by("journal", "delete"):
            self._drop_journal(c)
        if self._ambiguous_uploads:
            try:
                self._sweep_duplicates()
            except openai.APIError as e:
                # The journal stays, so the next plan finds any second copy.
                log.warning("could not look for duplicate uploads: %s", describe_error(e))
                return self.result
        self.journal.close()
        return self.result

    def _each(self, changes: list[Change], fn: Callable[[Change], None]) -> None:
        def run(c: Change) -> None:
            started = time.monotonic()
            self.reporter.started(c)
            self.guard()  # raises past the try: a lost lock stops the apply
            try:
                fn(c)
            except (openai.APIError, AmbiguousWriteError, ReconcileError) as e:
                msg = describe_error(e) if isinstance(e, openai.APIError) else str(e)
                self._fail(c, msg, started)

        for _ in self.pool.map(run, changes):
            pass

    def _creates(
        self,
        changes: list[Change],
        create: Callable[[Change], str],
        find: Callable[[list[Change]], dict[int, str]],
    ) -> None:
        """Run creates; resolve ambiguous failures by listing, then retry only the missing."""
        started = {id(c): time.monotonic() for c in changes}
        for c in changes:
            self.reporter.started(c)
        pending = list(changes)
        for round_ in range(self.opt.recovery_rounds):
            if not pending:
                return
            if round_:
                time.sleep(min(0.2 * 2**round_, 2.0))
            outcomes = list(self.pool.map(lambda c: self._try(create, c), pending))
            ambiguous: list[Change] = []
            for c, (ok, value) in zip(pending, outcomes, strict=True):
                if ok:
                    self._created(c, value, started[id(c)])
                elif value is None:
                    ambiguous.append(c)
                else:
                    self._fail(c, value, started[id(c)])
            if not ambiguous:
                return
            if any(c.kind == "file" for c in ambiguous):
                self._ambiguous_uploads = True
            try:
                found = find(ambiguous)
            except openai.APIError as e:
                for c in ambiguous:
                    self._fail(c, f"could not check what was created: {describe_error(e)}", 0)
                return
            pending = []
            for c in ambiguous:
                if id(c) in found:
                    self._created(c, found[id(c)], started[id(c)], recovered=True)
                else:
                    pending.append(c)
        for c in pending:
            self._fail(
                c, "the server kept failing; nothing was created (run apply again)", started[id(c)]
            )

    def _try(self, create: Callable[[Change], str], c: Change) -> tuple[bool, str | None]:
        self.guard()  # raises past the try: a lost lock stops the apply
        try:
            return True, create(c)
        except AmbiguousWriteError:
            return False, None
        except (openai.APIError, ReconcileError) as e:
            return False, describe_error(e) if isinstance(e, openai.APIError) else str(e)

    def _created(self, c: Change, object_id: str, started: float, recovered: bool = False) -> None:
        with self._lock:
            if c.kind == "file":
                self.result.file_ids[c.key] = object_id
            elif c.kind == "assistant":
                self.result.assistant_ids[c.key] = object_id
        self._record(
            c,
            ChangeResult(
                ok=True, id=object_id, seconds=time.monotonic() - started, recovered=recovered
            ),
        )

    # -- files ------------------------------------------------------------------------------

    def _upload(self, c: Change) -> str:
        assert c.file is not None
        data = self.payloads[c.key]
        file_id = self.api.upload_file(c.file.upload_name, data, what=f"upload {c.label}")
        with self._lock:
            self.uploaded.append(file_id)
        return file_id

    def _find_files(self, changes: list[Change]) -> dict[int, str]:
        """Uploads that got created although their response was lost.

        A file has no metadata, so a candidate (same name and size, created since the
        journal was written, not known to the plan) is downloaded and its content hash
        compared: two files of one apply may share a name and a size.
        """
        found: dict[int, str] = {}
        since = self.journal.since or 0
        taken = set(self.known_ids) | set(self.result.file_ids.values())
        listed = sorted(self.api.list_files(), key=lambda f: (f.get("created_at") or 0, f["id"]))
        for c in changes:
            assert c.file is not None
            for f in listed:
                if (
                    f["id"] in taken
                    or f.get("filename") != c.file.upload_name
                    or int(f.get("bytes") or -1) != c.file.size
                    or int(f.get("created_at") or 0) < since
                ):
                    continue
                if self.api.content_sha256(f["id"]) == c.file.sha256:
                    found[id(c)] = f["id"]
                    taken.add(f["id"])
                    break
        return found

    def _sweep_duplicates(self) -> None:
        """Delete second copies that uploads with lost responses may have made.

        Only files created since this apply's journal, matching one of its uploads by
        name, size and content, and not the copy the apply uses.
        """
        since = self.journal.since
        if since is None:
            return
        pending = self.journal.uploads
        used = set(self.known_ids) | set(self.result.file_ids.values())
        for f in self.api.list_files():
            if f["id"] in used or int(f.get("created_at") or 0) < since:
                continue
            if not any(u.may_be(f) for u in pending):
                continue
            sha = self.api.content_sha256(f["id"])
            if sha is not None and any(sha.startswith(u.sha12) for u in pending if u.may_be(f)):
                self.api.delete_file(f["id"], what=f"delete duplicate upload {f['id']}")

    def _drop_journal(self, c: Change) -> None:
        assert c.id is not None
        page_id = c.id
        try:
            self.api.delete_vector_store(
                page_id, what=f"delete the journal of an interrupted apply ({page_id})"
            )
        except openai.APIError as e:  # harmless: the next plan resolves it again
            log.warning("could not delete journal page %s: %s", page_id, describe_error(e))

    # -- vector stores --------------------------------------------------------------------------

    def _file_id(self, sha: str, change: Change) -> str:
        fid = self.result.file_ids.get(sha)
        if fid is None:
            raise ReconcileError(f"a file it needs ({sha[:16]}) was not uploaded")
        return fid

    def _vector_store(self, c: Change) -> None:
        assert c.vector_store is not None
        op = c.vector_store
        started = time.monotonic()
        recovered = False
        attach_ids = {self._file_id(sha, c): sha for sha in op.attach}
        # Which file holds what, kept on the store itself (see identity.py).
        entries = files_metadata({**op.keep, **attach_ids}.items(), STORE_FILES_KEYS)
        if c.action in ("create", "replace"):
            vs_id, recovered = self._create_store(c, entries)
        else:
            assert c.id is not None
            vs_id = c.id
        if attach_ids:
            self._attach(c, vs_id, attach_ids)
        for fid, sha in op.set_attributes.items():
            self.api.set_file_attributes(
                vs_id, fid, {FILE_SHA_ATTRIBUTE: sha}, what=f"set attributes of {fid} in {c.label}"
            )
        for fid in op.detach:
            self.api.detach_file(vs_id, fid, what=f"detach {fid} from {c.label}")
        if op.update_store and c.action in ("update", "adopt"):
            self.api.update_vector_store(
                vs_id,
                {**op.metadata, **entries},
                name=op.name,
                what=f"update vector store {c.label}",
            )
        # Only a complete store is handed to the assistants (a replacement that failed
        # half-way must not take the place of the old one).
        with self._lock:
            self.result.vector_store_ids[c.key] = vs_id
        self._record(
            c,
            ChangeResult(
                ok=True, id=vs_id, seconds=time.monotonic() - started, recovered=recovered
            ),
        )

    def _create_store(self, c: Change, entries: dict[str, str]) -> tuple[str, bool]:
        assert c.vector_store is not None
        op = c.vector_store
        metadata = {**op.metadata, **entries}
        for round_ in range(self.opt.recovery_rounds):
            if round_:
                time.sleep(min(0.2 * 2**round_, 2.0))
            try:
                created = self.api.create_vector_store(
                    op.name, metadata, what=f"create vector store {c.label}"
                )
                return created["id"], False
            except AmbiguousWriteError:
                mine = [
                    v
                    for v in self.api.list_vector_stores()
                    if is_managed(v.get("metadata"), self.plan.namespace)
                    and (v.get("metadata") or {}).get(KEY_KEY) == c.key
                    and v["id"] not in self.known_ids
                ]
                if mine:
                    return sorted(mine, key=lambda v: (v.get("created_at") or 0, v["id"]))[0][
                        "id"
                    ], True
        raise ReconcileError("the server kept failing; the vector store was not created")

    def _attach(self, c: Change, vs_id: str, attach: dict[str, str]) -> None:
        """Attach files with a file batch, wait for indexing; recover from lost responses."""
        assert c.vector_store is not None
        chunking = c.vector_store.chunking_strategy
        with self._lock:
            self._index_total += len(attach)
        self.reporter.indexing(self._index_done, self._index_total)
        remaining = dict(attach)
        batch_id: str | None = None
        for round_ in range(self.opt.recovery_rounds):
            if not remaining:
                break
            if round_:
                time.sleep(min(0.2 * 2**round_, 2.0))
            items: list[dict[str, Any]] = []
            for fid, sha in sorted(remaining.items()):
                item: dict[str, Any] = {"file_id": fid, "attributes": {FILE_SHA_ATTRIBUTE: sha}}
                if chunking:
                    item["chunking_strategy"] = chunking
                items.append(item)
            try:
                batch_id = self.api.attach_files(vs_id, items, what=f"attach files to {c.label}")
                remaining = {}
            except AmbiguousWriteError:
                attached = {f["id"] for f in self.api.list_vector_store_files(vs_id)}
                remaining = {k: v for k, v in remaining.items() if k not in attached}
                batch_id = None
        if remaining:
            raise ReconcileError("the server kept failing; files were not attached")
        if self.opt.wait_for_indexing:
            self._wait_indexed(c, vs_id, set(attach), batch_id)

    def _wait_indexed(
        self, c: Change, vs_id: str, file_ids: set[str], batch_id: str | None
    ) -> None:
        deadline = time.monotonic() + self.opt.indexing_timeout
        delay = self.opt.poll_interval
        counted = 0
        while True:
            files = (
                [f for f in self.api.list_vector_store_files(vs_id) if f["id"] in file_ids]
                if batch_id is None
                else None
            )
            if batch_id is not None:
                counts = self.api.file_batch_counts(
                    vs_id, batch_id, what=f"poll indexing of {c.label}"
                )
                finished = counts["completed"] + counts["failed"] + counts["cancelled"]
                in_progress = counts["in_progress"]
                failed = counts["failed"] + counts["cancelled"]
            else:
                assert files is not None
                finished = sum(f.get("status") != "in_progress" for f in files)
                in_progress = len(file_ids) - finished
                failed = sum(f.get("status") in ("failed", "cancelled") for f in files)
            if finished > counted:
                with self._lock:
                    self._index_done += finished - counted
                counted = finished
                self.reporter.indexing(self._index_done, self._index_total)
            if in_progress <= 0:
                break
            if time.monotonic() > deadline:
                raise ReconcileError(
                    f"indexing did not finish in {self.opt.indexing_timeout:.0f} s; "
                    "run apply again to check on it"
                )
            time.sleep(delay)
            delay = min(delay * 1.5, 2.0)
        if failed:
            bad = [
                f
                for f in self.api.list_vector_store_files(vs_id)
                if f["id"] in file_ids and f.get("status") in ("failed", "cancelled")
            ]
            detail = "; ".join(
                f"{f['id']}: {(f.get('last_error') or {}).get('message') or f.get('status')}"
                for f in bad
            )
            raise ReconcileError(f"{len(bad) or failed} file(s) failed to index ({detail})")

    # -- assistants -------------------------------------------------------------------------------

    def _tool_resources(self, c: Change) -> tuple[dict[str, Any], dict[str, str]]:
        """tool_resources to send, and the file entries of its code-interpreter files."""
        assert c.assistant is not None
        op = c.assistant
        file_ids = [self._file_id(sha, c) for sha in op.code_interpreter_files]
        res: dict[str, Any] = {"code_interpreter": {"file_ids": file_ids}}
        if op.vector_store:
            vs_id = self.result.vector_store_ids.get(op.vector_store)
            if vs_id is None:
                raise ReconcileError(f"its vector store {op.vector_store!r} was not created")
            res["file_search"] = {"vector_store_ids": [vs_id]}
        else:
            res["file_search"] = {"vector_store_ids": []}
        return res, files_metadata(zip(file_ids, op.code_interpreter_files, strict=True))

    def _assistant_body(self, c: Change) -> dict[str, Any]:
        assert c.assistant is not None
        body: dict[str, Any] = dict(c.assistant.fields)
        body["metadata"] = dict(c.assistant.metadata)
        if c.assistant.send_tool_resources:
            body["tool_resources"], entries = self._tool_resources(c)
            body["metadata"].update(entries)
        return body

    def _create_assistant(self, c: Change) -> str:
        body = self._assistant_body(c)
        return self.api.create_assistant(body, what=f"create assistant {c.label}")

    def _find_assistants(self, changes: list[Change]) -> dict[int, str]:
        listed = [
            a
            for a in self.api.list_assistants()
            if is_managed(a.get("metadata"), self.plan.namespace) and a["id"] not in self.known_ids
        ]
        listed.sort(key=lambda a: (a.get("created_at") or 0, a["id"]))
        found: dict[int, str] = {}
        for c in changes:
            for a in listed:
                if (a.get("metadata") or {}).get(KEY_KEY) == c.key:
                    found[id(c)] = a["id"]
                    break
        return found

    def _update_assistant(self, c: Change) -> None:
        assert c.assistant is not None and c.id is not None
        started = time.monotonic()
        body = self._assistant_body(c)
        asst_id = c.id
        self.api.update_assistant(asst_id, body, what=f"update assistant {c.label}")
        self._record(c, ChangeResult(ok=True, id=asst_id, seconds=time.monotonic() - started))

    # -- deletions ----------------------------------------------------------------------------------

    def _delete(self, c: Change) -> None:
        assert c.id is not None
        started = time.monotonic()
        object_id = c.id
        what = f"delete {c.kind} {c.label}"
        if c.kind == "assistant":
            self.api.delete_assistant(object_id, what=what)
        elif c.kind == "vector_store":
            self.api.delete_vector_store(object_id, what=what)
        else:
            self.api.delete_file(object_id, what=what)
        if c.action == "replace":
            # The change itself was recorded when its successor was created.
            return
        self._record(c, ChangeResult(ok=True, id=object_id, seconds=time.monotonic() - started))
