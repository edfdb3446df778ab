"""A container expires ``expires_after.minutes`` after its last activity, on a real server
whose minute lasts one second (``ORCHESTRATOR_CONTAINER_MINUTE_SECONDS``: the same expiry
code users get, on a shorter clock).

No timing thresholds: every observation is checked against the server's own
``last_active_at`` with the client's clock read before and after the request (one
machine, one clock), so a slow machine only makes the loop run longer.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import openai
import pytest

from tests.support.waiting import wait_for
from tests.support.wire_check import SpecChecker

MINUTE = 1.0


@pytest.fixture(scope="module")
def fast_client(server_factory) -> Iterator[openai.OpenAI]:
    srv = server_factory(
        persistent=False, env={"ORCHESTRATOR_CONTAINER_MINUTE_SECONDS": str(MINUTE)}
    )
    checker = SpecChecker()
    yield srv.client(checker)
    assert checker.checked and not checker.violations, checker.violations[:5]


def _observe_until_expired(client: openai.OpenAI, container_id: str, minutes: int) -> list[str]:
    """Poll the container until it reads ``expired``; every reading must agree with
    expiry measured from its last activity."""
    seen: list[str] = []

    def expired() -> bool:
        before = time.time()
        got = client.containers.retrieve(container_id)
        after = time.time()
        deadline = got.last_active_at + minutes * MINUTE
        if got.status == "running":
            # The server read its clock after `before`: still short of the deadline.
            assert before < deadline, (before, got)
        else:
            assert got.status == "expired" and after >= deadline, (after, got)
        seen.append(got.status)
        return got.status == "expired"

    wait_for(expired, timeout=60)
    return seen


def test_a_container_expires_after_its_minutes_and_can_then_only_be_read_and_deleted(
    fast_client: openai.OpenAI,
) -> None:
    client = fast_client
    stored = client.files.create(file=("a.csv", b"x\n1\n"), purpose="user_data")
    container = client.containers.create(
        name="expiring", expires_after={"anchor": "last_active_at", "minutes": 1}
    )
    seen = _observe_until_expired(client, container.id, 1)
    assert seen[-1] == "expired"
    assert [c.status for c in client.containers.list(name="expiring")] == ["expired"]

    with pytest.raises(openai.BadRequestError) as err:
        client.containers.files.create(container.id, file=("b.txt", io.BytesIO(b"b")))
    assert "expired" in err.value.message and container.id in err.value.message
    with pytest.raises(openai.BadRequestError) as err:
        client.containers.files.create(container.id, file_id=stored.id)
    assert "expired" in err.value.message
    # Reading adds no activity and keeps working; so does deleting.
    assert client.containers.files.list(container.id).data == []
    assert client.containers.retrieve(container.id).status == "expired"
    client.containers.delete(container.id)
    with pytest.raises(openai.NotFoundError):
        client.containers.retrieve(container.id)


def test_activity_moves_the_expiry_forward(fast_client: openai.OpenAI) -> None:
    client = fast_client
    container = client.containers.create(
        name="active", expires_after={"anchor": "last_active_at", "minutes": 3}
    )
    # Wait (by the server's whole-second timestamps) until an upload lands in a later
    # second than the creation, then check expiry counts from that upload.
    wait_for(lambda: int(time.time()) > container.created_at + 1, timeout=10)
    client.containers.files.create(container.id, file=("n.txt", io.BytesIO(b"n")))
    touched = client.containers.retrieve(container.id)
    assert touched.last_active_at > container.created_at
    assert touched.status == "running"
    _observe_until_expired(client, container.id, 3)
    assert client.containers.retrieve(container.id).last_active_at == touched.last_active_at
