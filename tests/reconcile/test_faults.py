"""Failures and concurrency: injected 500s / 429s / dropped connections, a killed apply,
two applies at once, and the server-side lock."""

from __future__ import annotations

import signal
import threading
import time
import uuid

import openai

from orchestrator.ownership import LOCK_KEY, MANAGED_BY_KEY, MANAGED_BY_VALUE, NAMESPACE_KEY
from orchestrator.project.specs import AssistantSpec, Location, Project, ProjectConfig
from orchestrator.reconcile import workflow
from orchestrator.reconcile.api import Api
from orchestrator.reconcile.apply import content_from_memory
from orchestrator.reconcile.desired import desired_state
from orchestrator.reconcile.errors import LockHeldError
from orchestrator.reconcile.lease import EXPIRES_KEY, HOST_KEY, PID_KEY, ServerLock
from tests.support import API_KEY
from tests.support import reconcile as support
from tests.support.proxy import Faults
from tests.support.reconcile import Proj, lock_client, managed, orphans


def more_assistants(proj: Proj, n: int) -> None:
    for i in range(n):
        proj.write(
            f"assistants/extra-{i}.yaml",
            f"""
            kind: Assistant
            name: {proj.name(f"extra {i}")}
            instructions: Extra assistant number {i}.
            """,
        )


def test_apply_converges_through_a_failing_server(proj: Proj, direct, sentinels) -> None:
    started = int(time.time())
    proj.basic()
    more_assistants(proj, 6)
    # Deterministic nasty cases first: the server did the work but the client never
    # heard (a create that must not be repeated blindly), then random faults everywhere.
    proj.proxy.script("POST", "/assistants", "500_after", "drop_after")
    proj.proxy.script("POST", "/files", "drop_after", "500_after")
    # POSTs under /vector_stores come in order: the lock, the journal, the store, its file
    # batch.
    proj.proxy.script(
        "POST", "/vector_stores", "500_after", "drop_after", "500_after", "drop_after"
    )
    proj.proxy.configure(Faults(rate=0.2, seed=11, retry_after="0"))
    first = proj.cli("apply", "--yes")
    if first.exit_code != 0:
        proj.proxy.configure(Faults(rate=0.2, seed=12, retry_after="0"))
        second = proj.cli("apply", "--yes")
        assert second.exit_code == 0, second.output
    faults = proj.proxy.faults()
    assert {"500_after", "drop_after"} <= {f.fault for f in faults}
    assert any(f.fault == "500_after" and f.path == "/v1/assistants" for f in faults)
    assert any(f.fault == "drop_after" and f.path == "/v1/files" for f in faults)
    vs_faults = [
        f.path for f in faults if f.method == "POST" and f.path.startswith("/v1/vector_stores")
    ]
    assert vs_faults[:3] == ["/v1/vector_stores"] * 3
    assert any(p.endswith("/file_batches") for p in vs_faults)

    proj.proxy.configure()
    r = proj.cli("plan", "--detailed-exitcode")
    assert r.exit_code == 0, r.output
    m = managed(direct, proj.ns)  # asserts one object per key / file
    assert len(m.assistants) == 8 and len(m.vector_stores) == 1 and len(m.files) == 3
    # No lock or journal left behind, and no stray upload (a lost response's duplicate).
    assert support.bookkeeping(direct, proj.ns) == []
    names = {"scores.csv", "algebra.md", "geometry.md"}
    assert support.orphans(direct, started, names, sentinels.ids.values()) == []


def test_retry_after_is_honoured(proj: Proj) -> None:
    proj.basic()
    proj.proxy.configure(Faults(retry_after="1"))
    proj.proxy.script("POST", "/assistants", "429")
    proj.ok("apply", "--yes")
    posts = [r for r in proj.proxy.log if r.method == "POST" and r.path == "/v1/assistants"]
    refused = next(r for r in posts if r.fault == "429")
    later = [r for r in posts if r.at > refused.at and r.body == refused.body]
    assert later, "the refused create was not sent again"
    # Sent again no sooner than the server asked (and the 429 created nothing).
    assert min(r.at for r in later) - refused.at >= 1.0


def test_apply_killed_half_way_converges_on_the_next_run(proj: Proj, direct) -> None:
    proj.basic()
    more_assistants(proj, 4)
    proj.proxy.configure(hang_after_writes=5)
    p = proj.subprocess_cli("apply", "--yes")
    try:
        assert proj.proxy.hung.wait(90), "the apply never reached its 6th write"
    finally:
        p.kill()
        p.communicate(timeout=30)
    proj.proxy.configure()
    proj.proxy.release()
    half = managed(direct, proj.ns)
    assert len(half.assistants) < 6  # it really stopped half-way

    r = proj.ok("apply", "--yes")
    # Its lock was left behind by a process that no longer exists: removed, with a note.
    assert "Removed a stale lock" in r.output and "no longer exists" in r.output
    assert proj.cli("plan", "--detailed-exitcode").exit_code == 0
    m = managed(direct, proj.ns)
    assert len(m.assistants) == 6 and len(m.files) == 3


def test_two_applies_at_once_make_no_duplicates(proj: Proj, direct) -> None:
    proj.basic()
    more_assistants(proj, 4)
    # Slow writes, so the two applies overlap.
    proj.proxy.configure(Faults(write_delay=0.1))
    procs = [proj.subprocess_cli("apply", "--yes") for _ in range(2)]
    results = [(p, *p.communicate(timeout=180)) for p in procs]
    # Both start at once, so exactly one takes the namespace's lock; the other stops
    # before writing anything and says why.
    codes = sorted(p.returncode for p, _, _ in results)
    assert codes == [0, 1], results
    (loser_err,) = [err for p, _out, err in results if p.returncode == 1]
    assert f"namespace {proj.ns!r} is locked" in loser_err, loser_err
    assert "--force-unlock" in loser_err, loser_err
    proj.proxy.configure()
    assert proj.cli("plan", "--detailed-exitcode").exit_code == 0
    m = managed(direct, proj.ns)
    assert len(m.assistants) == 6 and len(m.files) == 3 and len(m.vector_stores) == 1


def test_racing_locks_have_exactly_one_winner(proxy, untouched) -> None:
    ns = f"t-{uuid.uuid4().hex[:10]}"
    api = lock_client(proxy)
    # Both creates are in flight at once: neither saw the other's lock before creating.
    proxy.configure(Faults(write_delay=0.3))
    locks = [ServerLock(api, ns, settle=0.2) for _ in range(2)]
    outcome: dict[int, str] = {}
    start = threading.Barrier(2)

    def take(i: int) -> None:
        start.wait()
        try:
            locks[i].acquire()
            outcome[i] = "won"
        except LockHeldError as e:
            outcome[i] = str(e)

    threads = [threading.Thread(target=take, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    proxy.configure()
    winners = [i for i, v in outcome.items() if v == "won"]
    assert len(winners) == 1, outcome
    loser = 1 - winners[0]
    assert "is locked" in outcome[loser] and "--force-unlock" in outcome[loser]
    holder = locks[winners[0]]
    assert [lk.id for lk in holder.locks()] == [holder.id]  # the loser removed its own
    holder.release()
    assert holder.locks() == []


def test_a_held_lock_stops_apply_until_forced(proj: Proj, direct) -> None:
    proj.basic()
    held = ServerLock(lock_client(proj.proxy), proj.ns, settle=0).acquire()
    try:
        proj.proxy.reset()
        r = proj.cli("apply", "--yes")
        assert r.exit_code == 1
        assert f"namespace {proj.ns!r} is locked" in r.stderr
        assert "--force-unlock" in r.stderr
        assert proj.proxy.writes() == []
        r = proj.ok("apply", "--yes", "--force-unlock")
        assert "Removed lock:" in r.output
        assert len(managed(direct, proj.ns).assistants) == 2
    finally:
        held.release()


def test_an_expired_lock_is_removed(proj: Proj, direct) -> None:
    proj.basic()
    direct.vector_stores.create(
        name="orchestrator lock (stale)",
        metadata={
            MANAGED_BY_KEY: MANAGED_BY_VALUE,
            NAMESPACE_KEY: proj.ns,
            LOCK_KEY: "x" * 24,
            HOST_KEY: "elsewhere",
            PID_KEY: "1",
            EXPIRES_KEY: str(int(time.time()) - 5),
        },
    )
    r = proj.ok("apply", "--yes")
    assert "Removed a stale lock" in r.output and "lease expired" in r.output


def test_a_timed_out_create_is_found_not_repeated(proxy, direct, untouched, tmp_path) -> None:
    ns = f"t-{uuid.uuid4().hex[:10]}"
    spec = AssistantSpec(
        key="slow", source=Location(tmp_path / "slow.yaml"), model="gpt-4o", name=f"Slow {ns}"
    )
    desired = desired_state(Project(config=ProjectConfig(root=tmp_path), assistants=[spec]), ns)
    api = Api(openai.OpenAI(base_url=proxy.base_url, api_key=API_KEY, max_retries=0), timeout=0.5)
    # The server creates the assistant but answers after the client gave up waiting.
    proxy.configure(Faults(slow_seconds=1.5))
    proxy.script("POST", "/assistants", "slow_after")
    plan = workflow.plan(api, desired)
    outcome = workflow.apply(
        api,
        plan,
        content_from_memory({}),
        desired=desired,
        strict=False,
        lock=workflow.LockSettings(settle=0.05),
    )
    assert outcome.result is not None and not outcome.result.failures
    ((_change, result),) = [(c, r) for c, r in outcome.result.results if c.kind == "assistant"]
    assert result.recovered  # found by listing, not created twice
    assert [r.fault for r in proxy.log if r.path == "/v1/assistants" and r.method == "POST"] == [
        "slow_after"
    ]
    m = managed(direct, ns)
    assert m.assistant("slow").id == result.id
    direct.beta.assistants.delete(result.id)


def test_apply_interrupted_with_ctrl_c_exits_130_and_the_next_apply_converges(
    proj: Proj, direct, sentinels
) -> None:
    started = int(time.time())
    proj.basic()
    # Interrupted after its uploads, while the store that uses them is being created.
    proj.proxy.configure(
        hang_when=lambda method, path, body: (
            method == "POST" and path == "/v1/vector_stores" and b'"orchestrator-key"' in body
        )
    )
    p = proj.subprocess_cli("apply", "--yes")
    try:
        assert proj.proxy.hung.wait(90), "the apply never reached the store create"
        p.send_signal(signal.SIGINT)
        proj.proxy.release()  # the request in flight ends (dropped); queued ones never start
        _, err = p.communicate(timeout=60)
    finally:
        p.kill()
    proj.proxy.configure()

    assert p.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    proj.ok("apply", "--yes")
    assert proj.cli("plan", "--detailed-exitcode").exit_code == 0
    names = {"scores.csv", "algebra.md", "geometry.md"}
    assert orphans(direct, started, names, sentinels.ids.values()) == []
    assert len(managed(direct, proj.ns).files) == 3
