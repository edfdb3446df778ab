"""A paused apply that lost its lease writes nothing once it resumes (issue 10 item 10).

A real ``orchestrator apply`` process is paused (SIGSTOP, as a laptop sleeping or a
stalled CI runner) with one upload in flight, held by the fault proxy. Its lease runs
out, a second apply breaks the stale lock and converges the namespace. Then the first
resumes (SIGCONT) and the held upload reaches the server: the first apply must stop at
once with a clear error, send no other write, and record that upload so the next plan
removes it -- nothing orphaned, no duplicate left.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid

import pytest

from orchestrator.ownership import LOCK_KEY, NAMESPACE_KEY
from orchestrator.reconcile.errors import LockLostError
from orchestrator.reconcile.lease import EXPIRES_KEY, ServerLock
from tests.support.reconcile import Proj, bookkeeping, lock_client, managed, orphans

pytestmark = pytest.mark.integration

# Short, so the test waits seconds for the lease to lapse; long enough that a busy
# machine's late renewal (every ttl/3) does not end the lease of the running apply.
LEASE_SECONDS = 9
NOTES = {f"notes-{i}.md": f"# Notes {i}\nPage {i} of the course notes.\n" for i in range(5)}


def _lock_expiry(direct, namespace: str) -> float | None:
    for vs in direct.vector_stores.list(limit=100):
        meta = vs.metadata or {}
        if meta.get(NAMESPACE_KEY) == namespace and LOCK_KEY in meta:
            return float(meta[EXPIRES_KEY])
    return None


def test_a_paused_apply_is_fenced_off_after_another_took_over(
    proj: Proj, direct, sentinels, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORCHESTRATOR_LOCK_TTL_SECONDS", str(LEASE_SECONDS))
    started = int(time.time())
    proj.basic()
    for name, text in NOTES.items():
        proj.write(f"assistants/docs/{name}", text)
    # quiz's file_search takes docs/*.md: 7 notes + scores.csv = 8 uploads. The 4th is
    # held at the proxy: sent by the first apply, delivered only after it resumed.
    uploads = []
    counting = threading.Lock()

    def fourth_upload(method: str, path: str, body: bytes) -> bool:
        if method != "POST" or path != "/v1/files":
            return False
        with counting:
            uploads.append(path)
            return len(uploads) == 4

    proj.proxy.configure(hold_when=fourth_upload)
    first = proj.subprocess_cli("apply", "--yes", "--parallelism", "1")
    try:
        assert proj.proxy.held.wait(120), "the first apply never reached its 4th upload"
        os.kill(first.pid, signal.SIGSTOP)
        # Paused until its lease has run out by the server's own record of it.
        deadline = time.monotonic() + 10 * LEASE_SECONDS
        while (expiry := _lock_expiry(direct, proj.ns)) is None or expiry >= time.time():
            assert time.monotonic() < deadline, "the paused apply's lock never expired"
            time.sleep(0.5)
        second = proj.ok("apply", "--yes")
        assert "Removed a stale lock" in second.output and "lease expired" in second.output
        mark = len(proj.proxy.log)
        os.kill(first.pid, signal.SIGCONT)
        proj.proxy.forward_held()
        _, err = first.communicate(timeout=180)
    finally:
        proj.proxy.forward_held()
        if first.poll() is None:  # the test failed half-way (SIGKILL ends a stopped one too)
            first.kill()
            first.communicate(timeout=30)
    proj.proxy.configure()

    assert first.returncode == 1, err
    assert "Traceback" not in err, err
    assert f"lost the lock of namespace {proj.ns!r}" in err, err
    assert "nothing was written after that" in err and "Run plan again" in err, err
    assert "files it uploaded are recorded in its journal" in err, err
    # After it resumed, the only object write is the upload it had sent before the pause.
    assert proj.proxy.object_writes(since=mark) == [("POST", "/v1/files")]

    # The late upload is a second copy of a file the second apply uploaded: the next plan
    # finds it through the first apply's last journal page and removes it.
    names = {"scores.csv", "algebra.md", "geometry.md", *NOTES}
    assert len(orphans(direct, started, names, sentinels.ids.values())) == 1
    assert proj.cli("plan", "--detailed-exitcode").exit_code == 2
    proj.ok("apply", "--yes")
    assert proj.cli("plan", "--detailed-exitcode").exit_code == 0
    assert orphans(direct, started, names, sentinels.ids.values()) == []
    m = managed(direct, proj.ns)  # asserts no duplicate assistant, store or file
    assert len(m.files) == len(names) and len(m.assistants) == 2
    assert bookkeeping(direct, proj.ns) == []


def test_a_lapsed_lease_fences_every_write_and_is_never_renewed(proxy, direct) -> None:
    ns = f"t-{uuid.uuid4().hex[:10]}"
    now = [time.time()]
    lock = ServerLock(lock_client(proxy), ns, ttl=30, settle=0, clock=lambda: now[0])
    lock.acquire()
    try:
        lock.check()  # fresh: valid
        lock.confirm()
        now[0] = lock.valid_until + 0.001  # as after a pause: the wall clock moved on
        with pytest.raises(LockLostError) as lost:
            lock.check()
        assert f"lost the lock of namespace {ns!r}" in str(lost.value)
        assert "another apply may have taken over" in str(lost.value)
        # Lost for good, even once the clock looks fine again: a renewal after the lease
        # lapsed could race an apply that already broke the lock.
        now[0] = time.time()
        with pytest.raises(LockLostError):
            lock.check()
    finally:
        lock.release()


def test_a_lock_deleted_on_the_server_is_noticed_at_the_next_phase(proxy, direct) -> None:
    ns = f"t-{uuid.uuid4().hex[:10]}"
    lock = ServerLock(lock_client(proxy), ns, ttl=30, settle=0).acquire()
    try:
        direct.vector_stores.delete(lock.id)  # as --force-unlock from elsewhere
        lock.check()  # the lease itself has not ended: no I/O, no error yet
        with pytest.raises(LockLostError):
            lock.confirm()
    finally:
        lock.release()
