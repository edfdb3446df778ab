"""A server whose state sits on a small real filesystem (a tmpfs mounted by the test):
uploads past the space get a clear 507, leave no partial blobs, and deletes still work
on a completely full disk, so space can be freed through the API."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from orchestrator.testing import ServerProcess
from tests.support import API_KEY

pytestmark = pytest.mark.integration

MB = 1024 * 1024


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a size-limited tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(path: Path) -> None:
    """Write until the filesystem has no byte left."""
    with open(path, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError:
            pass
        try:
            while True:
                f.write(b"\0")
        except OSError:
            pass


def test_full_disk_gives_507_no_partial_blobs_and_deletes_free_space(
    small_disk: Path, tmp_path: Path
) -> None:
    server = ServerProcess(
        db_path=small_disk / "db.sqlite3", api_key=API_KEY, log_path=tmp_path / "server.log"
    )
    with server:
        client = openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0)
        kept = []
        failure = None
        for i in range(8):  # 8 x 3 MB cannot fit in 12 MB
            try:
                kept.append(
                    client.files.create(file=(f"f{i}.bin", b"x" * 3 * MB), purpose="assistants")
                )
            except openai.APIStatusError as err:
                failure = err
                break
        assert kept, "not even one upload fitted"
        assert failure is not None, "uploads never ran out of space"
        assert failure.status_code == 507
        assert failure.body["code"] == "insufficient_storage"
        assert "disk is full" in failure.message
        blobs = small_disk / "blobs"
        assert [p.name for p in blobs.iterdir() if p.name.endswith(".tmp")] == []
        assert sorted(p.name for p in blobs.iterdir()) == sorted(f.id for f in kept)

        # Not a byte left: deleting through the API still works and frees the space.
        _fill(small_disk / "filler")
        deleted = client.files.delete(kept[0].id)
        assert deleted.deleted is True
        with pytest.raises(openai.NotFoundError):
            client.files.retrieve(kept[0].id)
        again = client.files.create(file=("small.bin", b"y" * MB), purpose="assistants")
        assert client.files.content(again.id).content == b"y" * MB
        assert "Traceback" not in server.log_text()
