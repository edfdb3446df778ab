"""Code interpreter sandbox figures: the cost of one execution (printed, not asserted).

    .venv/bin/python benchmarks/bench_sandbox.py [--rounds 30] [--concurrency 8]

Times ``run_code`` end to end (inputs written, directory scanned, subprocess with its
namespaces and private root, files collected) for a trivial cell and for one that
writes a 100 kB file, in each isolation mode this machine has, beside the baseline of
starting the same interpreter bare (``python -I -c pass``) side by side. Then runs
``--concurrency`` executions at once and reports the wall time for the batch.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import machine, stats

from orchestrator.server.config import SandboxLimits
from orchestrator.server.tools.code_interpreter import (
    ISOLATION_ENV,
    CodeFile,
    probe_isolation,
    run_code,
)

LIMITS = SandboxLimits(timeout_seconds=30)
WRITE_FILE = "open('out.bin', 'wb').write(bytes(100_000))\nNone"


def time_bare(rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-I", "-c", "pass"], check=True)
        samples.append(time.perf_counter() - start)
    return samples


def time_run_code(code: str, rounds: int, workdir: Path) -> list[float]:
    inputs = [CodeFile("data.csv", b"a,b\n1,2\n")]

    async def main() -> list[float]:
        samples = []
        for _ in range(rounds):
            start = time.perf_counter()
            result = await run_code(code, workdir=workdir, inputs=inputs, limits=LIMITS)
            samples.append(time.perf_counter() - start)
            assert result.ok, result
        return samples

    return asyncio.run(main())


def time_concurrent(n: int, root: Path) -> float:
    async def main() -> float:
        start = time.perf_counter()
        results = await asyncio.gather(
            *(
                run_code("sum(range(10**5))", workdir=root / f"c{i}", inputs=[], limits=LIMITS)
                for i in range(n)
            )
        )
        assert all(r.ok for r in results), results
        return time.perf_counter() - start

    return asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    print(f"{machine()}   rounds: {args.rounds}")
    bare = time_bare(args.rounds)
    print(f"{'baseline: python -I -c pass':<44} {stats(bare, 1)}")
    modes = ["auto", "audit-hook"]
    for forced in modes:
        os.environ[ISOLATION_ENV] = forced
        isolation = probe_isolation(refresh=True)
        if forced == "auto" and isolation.mode == "audit-hook":
            continue  # the fallback is measured next anyway
        with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as tmp:
            root = Path(tmp)
            for label, code in (("pass", "pass"), ("write 100 kB file", WRITE_FILE)):
                samples = time_run_code(code, args.rounds, root / "wd")
                print(
                    f"{f'run_code [{isolation.mode}] {label}':<44} {stats(samples, 1)}"
                    f"   x{statistics.median(samples) / statistics.median(bare):.1f} baseline"
                )
            batch = time_concurrent(args.concurrency, root)
            print(
                f"{f'run_code [{isolation.mode}] {args.concurrency} at once':<44} wall "
                f"{batch * 1000:9.1f} ms   {args.concurrency / batch:5.1f} executions/s"
            )
    os.environ.pop(ISOLATION_ENV, None)


if __name__ == "__main__":
    main()
