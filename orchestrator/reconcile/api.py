"""The reconciler's access to the server: paginated lists and writes under one retry policy.

Every request goes through :meth:`Api.call` with the kind of request it is:

- ``read`` and ``write`` (idempotent writes: modify, delete, attach-by-id retries are
  harmless) are retried on 429, 5xx, timeouts and dropped connections, with
  exponential backoff, honouring ``Retry-After`` / ``retry-after-ms``;
- ``create`` is retried only on 429 and on a refused connection (the request was not
  processed, or never sent).
  Any other failure may have created the object anyway, so it raises
  :class:`AmbiguousWriteError` and the caller lists the server again to find what got
  created before trying once more. This is why the SDK's own retries are switched off.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import openai

log = logging.getLogger("orchestrator.reconcile")

T = TypeVar("T")
CallKind = Literal["read", "write", "create"]


@dataclass
class RetryPolicy:
    attempts: int = 6
    base_delay: float = 0.2
    max_delay: float = 8.0
    # A server asking for a longer pause than this is treated as unavailable.
    max_retry_after: float = 120.0


class AmbiguousWriteError(Exception):
    """A create failed in a way that does not tell whether the object was created."""

    def __init__(self, what: str, cause: BaseException) -> None:
        self.what = what
        self.cause = cause
        super().__init__(f"{what}: {describe_error(cause)}")


def describe_error(exc: BaseException) -> str:
    """A short, key-free description of an SDK error for users."""
    if isinstance(exc, openai.APIStatusError):
        message = exc.message
        body = exc.body
        if isinstance(body, dict):
            inner = body.get("error", body)
            if isinstance(inner, dict) and inner.get("message"):
                message = str(inner["message"])
        return f"HTTP {exc.status_code}: {message}"
    if isinstance(exc, openai.APITimeoutError):
        return "the request timed out"
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__
        return f"connection failed ({type(cause).__name__ if cause else 'no response'})"
    return str(exc) or type(exc).__name__


def retry_after_seconds(exc: openai.APIStatusError) -> float | None:
    headers = exc.response.headers
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            parsed = email.utils.parsedate_tz(value)
            if parsed is None:
                continue
            seconds = email.utils.mktime_tz(parsed) - time.time()
        if math.isfinite(seconds):
            return max(0.0, seconds)
    return None


@dataclass
class CallStats:
    """What the retry policy did (shown with -v and used by the benchmark)."""

    retries: int = 0
    ambiguous: int = 0
    waited: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, retries: int = 0, ambiguous: int = 0, waited: float = 0.0) -> None:
        with self._lock:
            self.retries += retries
            self.ambiguous += ambiguous
            self.waited += waited


class Api:
    """The reconciler's target on the Assistants API v2: lists and writes of files,
    vector stores and assistants, as :class:`~orchestrator.reconcile.target.ReconcileTarget`
    names them, over an ``openai.OpenAI`` client (thread-safe; used from a pool)."""

    def __init__(
        self,
        client: openai.OpenAI,
        policy: RetryPolicy | None = None,
        *,
        timeout: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client.with_options(max_retries=0, timeout=timeout)
        self.policy = policy or RetryPolicy()
        self.stats = CallStats()
        self._sleep = sleep
        self._files_page_limit = 10_000
        self._content_sha: dict[str, str] = {}
        self._sha_lock = threading.Lock()

    def listing(self) -> contextlib.AbstractContextManager[None]:
        """A scope whose list requests may share one listing of a collection (one
        plan's reads of the server); nothing is shared here."""
        return contextlib.nullcontext()

    # -- the retry policy ------------------------------------------------------------

    def _backoff(self, attempt: int) -> float:
        delay = min(self.policy.base_delay * 2 ** (attempt - 1), self.policy.max_delay)
        return delay * (0.75 + 0.25 * random.random())

    def call(self, fn: Callable[[], T], *, what: str, kind: CallKind = "read") -> T:
        attempt = 0
        while True:
            attempt += 1
            try:
                return fn()
            except openai.RateLimitError as e:
                # 429: refused before processing, so even a create may be sent again.
                hinted = retry_after_seconds(e)
                if hinted is not None and hinted > self.policy.max_retry_after:
                    raise
                delay = hinted if hinted is not None else self._backoff(attempt)
                error: BaseException = e
            except openai.APIStatusError as e:
                if e.status_code < 500 and e.status_code not in (408, 409):
                    raise
                if kind == "create":
                    self.stats.add(ambiguous=1)
                    raise AmbiguousWriteError(what, e) from e
                hinted = retry_after_seconds(e)
                delay = hinted if hinted is not None else self._backoff(attempt)
                delay = min(delay, self.policy.max_retry_after)
                error = e
            except openai.APIConnectionError as e:
                refused = type(e.__cause__).__name__ == "ConnectError"
                if kind == "create" and not refused:
                    self.stats.add(ambiguous=1)
                    raise AmbiguousWriteError(what, e) from e
                delay = self._backoff(attempt)
                error = e
                if refused and attempt >= min(3, self.policy.attempts):
                    # Nothing listens there (yet): a few tries, not the whole budget.
                    raise
            if attempt >= self.policy.attempts:
                raise error
            log.info("%s: %s; retrying in %.2f s", what, describe_error(error), delay)
            self.stats.add(retries=1, waited=delay)
            self._sleep(delay)

    def pages(self, fetch: Callable[[str | None], Any], *, what: str) -> Iterator[dict[str, Any]]:
        """Every object of a cursor-paginated list, as the server's JSON (dicts).

        ``fetch`` makes a ``with_raw_response`` list call: the reconciler works on the JSON,
        and building the SDK's models only to turn them back into dicts was half of a
        no-change plan's time at thousands of objects.
        """
        after: str | None = None
        while True:
            raw = self.call(lambda a=after: fetch(a), what=what)  # type: ignore[misc]
            page = raw.http_response.json()
            data = page.get("data") or []
            yield from data
            if not data or not page.get("has_more"):
                return
            after = data[-1]["id"]

    # -- lists ---------------------------------------------------------------------------

    def list_assistants(self) -> list[dict[str, Any]]:
        a = self.client.beta.assistants.with_raw_response
        return list(
            self.pages(
                lambda after: a.list(limit=100, order="asc", **_after(after)),
                what="list assistants",
            )
        )

    def list_vector_stores(self) -> list[dict[str, Any]]:
        vs = self.client.vector_stores.with_raw_response
        return list(
            self.pages(
                lambda after: vs.list(limit=100, order="asc", **_after(after)),
                what="list vector stores",
            )
        )

    def list_vector_store_files(self, vector_store_id: str) -> list[dict[str, Any]]:
        files = self.client.vector_stores.files.with_raw_response
        return list(
            self.pages(
                lambda after: files.list(vector_store_id, limit=100, order="asc", **_after(after)),
                what=f"list files of vector store {vector_store_id}",
            )
        )

    def list_files(self) -> list[dict[str, Any]]:
        """Files with purpose ``assistants`` (the spec allows pages of 10,000)."""
        files = self.client.files.with_raw_response

        def fetch(after: str | None) -> Any:
            try:
                return files.list(
                    purpose="assistants", limit=self._files_page_limit, order="asc", **_after(after)
                )
            except openai.BadRequestError as e:
                # Servers that cap every list at 100 (as for the other lists).
                if self._files_page_limit > 100 and "limit" in str(e).lower():
                    self._files_page_limit = 100
                    return fetch(after)
                raise

        return [
            f
            for f in self.pages(fetch, what="list files")
            # A server that ignores the purpose filter: filter here too.
            if f.get("purpose") in (None, "assistants")
        ]

    def content_sha256(self, file_id: str) -> str | None:
        """The sha256 of a file's content (None if it is gone), downloaded once per file.

        Only for checking files an interrupted apply may have left behind. A file's
        content never changes, so plan and apply in one process download it once.
        """
        with self._sha_lock:
            if file_id in self._content_sha:
                return self._content_sha[file_id]
        try:
            data = self.file_content(file_id, what=f"download {file_id}")
        except openai.NotFoundError:
            return None
        sha = hashlib.sha256(data).hexdigest()
        with self._sha_lock:
            self._content_sha[file_id] = sha
        return sha

    def file_content(self, file_id: str, *, what: str) -> bytes:
        files = self.client.files
        return self.call(lambda: files.content(file_id).content, what=what)

    # -- writes ----------------------------------------------------------------------------
    # A create raises AmbiguousWriteError when the server may have created the object
    # anyway (the caller lists to find it); deletes return False when it was gone already.

    def delete(self, fn: Callable[[], Any], *, what: str) -> bool:
        """An idempotent delete: gone already (e.g. a retried delete) counts as done."""
        try:
            self.call(fn, what=what, kind="write")
        except openai.NotFoundError:
            return False
        return True

    def upload_file(self, filename: str, content: bytes, *, what: str) -> str:
        files = self.client.files
        created = self.call(
            lambda: files.create(file=(filename, content), purpose="assistants"),
            what=what,
            kind="create",
        )
        return created.id

    def delete_file(self, file_id: str, *, what: str) -> bool:
        files = self.client.files
        return self.delete(lambda: files.delete(file_id), what=what)

    def create_vector_store(
        self, name: str, metadata: dict[str, str], *, what: str
    ) -> dict[str, Any]:
        stores = self.client.vector_stores
        created = self.call(
            lambda: stores.create(name=name, metadata=metadata), what=what, kind="create"
        )
        return created.to_dict(mode="json")

    def update_vector_store(
        self, vector_store_id: str, metadata: dict[str, str], *, name: str | None = None, what: str
    ) -> None:
        stores = self.client.vector_stores
        named = {"name": name} if name is not None else {}
        self.call(
            lambda: stores.update(vector_store_id, metadata=metadata, **named),
            what=what,
            kind="write",
        )

    def delete_vector_store(self, vector_store_id: str, *, what: str) -> bool:
        stores = self.client.vector_stores
        return self.delete(lambda: stores.delete(vector_store_id), what=what)

    def attach_files(self, vector_store_id: str, files: list[dict[str, Any]], *, what: str) -> str:
        """Attach files (``file_id``, ``attributes``, ``chunking_strategy``) as one batch;
        the batch id."""
        batches = self.client.vector_stores.file_batches
        batch = self.call(
            lambda: batches.create(vector_store_id, files=files),  # type: ignore[arg-type]
            what=what,
            kind="create",
        )
        return batch.id

    def file_batch_counts(
        self, vector_store_id: str, batch_id: str, *, what: str
    ) -> dict[str, int]:
        """A batch's ``file_counts``: in_progress, completed, failed, cancelled, total."""
        batches = self.client.vector_stores.file_batches
        batch = self.call(
            lambda: batches.retrieve(batch_id, vector_store_id=vector_store_id), what=what
        )
        return dict(batch.file_counts.to_dict(mode="json"))

    def set_file_attributes(
        self, vector_store_id: str, file_id: str, attributes: dict[str, str], *, what: str
    ) -> None:
        store_files = self.client.vector_stores.files.with_raw_response
        self.call(
            lambda: store_files.update(
                file_id, vector_store_id=vector_store_id, attributes=attributes
            ),
            what=what,
            kind="write",
        )

    def detach_file(self, vector_store_id: str, file_id: str, *, what: str) -> bool:
        store_files = self.client.vector_stores.files.with_raw_response
        return self.delete(
            lambda: store_files.delete(file_id, vector_store_id=vector_store_id), what=what
        )

    def create_assistant(self, body: dict[str, Any], *, what: str) -> str:
        assistants = self.client.beta.assistants
        created = self.call(lambda: assistants.create(**body), what=what, kind="create")
        return created.id

    def update_assistant(self, assistant_id: str, body: dict[str, Any], *, what: str) -> None:
        assistants = self.client.beta.assistants
        self.call(lambda: assistants.update(assistant_id, **body), what=what, kind="write")

    def delete_assistant(self, assistant_id: str, *, what: str) -> bool:
        assistants = self.client.beta.assistants
        return self.delete(lambda: assistants.delete(assistant_id), what=what)


def _after(after: str | None) -> dict[str, str]:
    return {"after": after} if after else {}
