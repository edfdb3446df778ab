"""Run scenarios: each on a fresh thread, turns in order, scenarios concurrently.

::

    from orchestrator.scenarios import RunnerOptions, run_scenarios

    report = run_scenarios(project.scenarios, client, RunnerOptions(jobs=8), root=project.config.root)
    print(report.exit_code)

The runner plays turns through a driver (:mod:`orchestrator.scenarios.drivers`) for the
target's API (``RunnerOptions.api``: threads and runs on ``assistants``, Conversations
and Responses with the lock file's profiles on ``openai``), through the ``openai`` SDK,
so it works the same against the embedded server and any compatible URL.
Cassettes (``--record`` / ``--replay``) need the embedded server's script endpoint for
replay.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import openai

from orchestrator.project.specs import Location, ScenarioSpec, TurnSpec
from orchestrator.scenarios import cassettes
from orchestrator.scenarios.drivers import driver_for
from orchestrator.scenarios.drivers.base import (
    Attachment,
    Conversation,
    ConversationSetup,
    ScriptUnsupported,
    TurnAborted,
    TurnInput,
    api_message,
)
from orchestrator.scenarios.expectations import ExpectationError, TurnExpectation
from orchestrator.scenarios.handlers import HandlerModuleError, load_handler_module
from orchestrator.scenarios.observed import TurnRecord
from orchestrator.scenarios.progress import NullReporter, Reporter, ScenarioProgress
from orchestrator.scenarios.resolve import AssistantNotFound
from orchestrator.scenarios.results import Problem, RunReport, ScenarioResult
from orchestrator.scenarios.transcript import turn_text

CassetteMode = Literal["auto", "record", "replay", "live"]


@dataclass
class RunnerOptions:
    # Stream runs (SSE); False: poll them.
    stream: bool = True
    # Scenarios played at once (turns within one stay in order).
    jobs: int = 1
    # Play each scenario this many times (each on its own thread).
    repeat: int = 1
    # Seconds per turn unless the turn sets `timeout:`; None: no limit.
    turn_timeout: float | None = 120.0
    # Seconds per scenario unless the scenario sets `timeout:`; None: no limit.
    scenario_timeout: float | None = None
    # auto: replay a scenario's cassette when it has one and the target is embedded.
    cassettes: CassetteMode = "auto"
    namespace: str = "default"
    # Keep each scenario's thread on the server (for debugging); default: delete it.
    keep_threads: bool = False
    # Whether the target is the embedded server (auto replay only happens there).
    embedded: bool = True
    # The wire API the target speaks (the target's `api`); picks the driver.
    api: str = "assistants"


@dataclass
class _Prepared:
    """A scenario checked before it runs (handlers imported, expectations parsed)."""

    spec: ScenarioSpec
    expectations: list[TurnExpectation] = field(default_factory=list)
    cassette_path: Path | None = None
    problem: Problem | None = None


class ScenarioRunner:
    def __init__(
        self,
        client: openai.AsyncOpenAI,
        options: RunnerOptions | None = None,
        *,
        root: Path | None = None,
        reporter: Reporter | None = None,
        target: str = "",
    ) -> None:
        self.client = client
        self.options = options or RunnerOptions()
        self.root = root
        self.reporter: Reporter = reporter or NullReporter()
        self.target = target
        self.driver = driver_for(
            self.options.api,
            client,
            root=root,
            namespace=self.options.namespace,
            target=target,
            stream=self.options.stream,
        )
        self._uploads: dict[str, asyncio.Task[str]] = {}
        self._filenames: dict[str, str | None] = {}

    # --- preparation ------------------------------------------------------------

    def prepare(self, spec: ScenarioSpec, shared_file: bool = False) -> _Prepared:
        prep = _Prepared(spec)
        for path in spec.handlers:
            try:
                load_handler_module(path)
            except HandlerModuleError as exc:
                prep.problem = Problem("setup", exc.message, exc.details)
                return prep
        for i, turn in enumerate(spec.turns):
            try:
                prep.expectations.append(TurnExpectation.parse(turn.expect))
            except ExpectationError as exc:
                prep.problem = Problem(
                    "setup", f"{turn.source}: turn {i + 1}: expect.{exc}", turn=None
                )
                return prep
        prep.cassette_path = cassettes.cassette_path(spec.source.path, spec.name, shared_file)
        return prep

    def _cassette_for(self, prep: _Prepared) -> tuple[str, cassettes.Cassette | None]:
        """("record" | "replay" | "live", the cassette to replay)."""
        mode = self.options.cassettes
        path = prep.cassette_path
        if mode == "record":
            return "record", None
        if mode == "live" or path is None:
            return "live", None
        if mode == "auto" and (not self.options.embedded or not path.exists()):
            return "live", None
        if not path.exists():
            raise cassettes.CassetteError(
                f"no cassette for scenario {prep.spec.name!r} at {path}: record one with "
                "`orchestrator test --record` (or run with --live)"
            )
        cassette = cassettes.load(path)
        if cassette.assistant is not None and cassette.assistant != prep.spec.assistant:
            raise cassettes.CassetteError(
                f"{path} was recorded for assistant {cassette.assistant!r}, but the scenario "
                f"now uses {prep.spec.assistant!r}; re-record it with `orchestrator test --record`"
            )
        cassettes.check_fits(cassette, path, [t.user for t in prep.spec.turns])
        return "replay", cassette

    # --- files ------------------------------------------------------------------

    async def _upload(self, turn: TurnSpec) -> list[Attachment]:
        """Upload a turn's attachments once per run (by content hash)."""
        out = []
        for att in turn.attachments:
            ref = att.file
            if ref.sha256 not in self._uploads:
                self._uploads[ref.sha256] = asyncio.ensure_future(
                    self._upload_one(ref.filename, ref.content)
                )
            file_id = await self._uploads[ref.sha256]
            out.append(Attachment(file_id, tuple(att.tools)))
        return out

    async def _upload_one(self, name: str, content: bytes) -> str:
        f = await self.client.files.create(file=(name, content), purpose="assistants")
        return f.id

    async def _filename(self, file_id: str) -> str | None:
        if file_id not in self._filenames:
            try:
                self._filenames[file_id] = (await self.client.files.retrieve(file_id)).filename
            except openai.APIError:
                self._filenames[file_id] = None
        return self._filenames[file_id]

    async def cleanup(self) -> None:
        """Delete the files this run uploaded (best effort)."""
        for task in self._uploads.values():
            if task.done() and not task.exception():
                with contextlib.suppress(openai.APIError):
                    await self.client.files.delete(task.result())
        self._uploads.clear()

    # --- one scenario -----------------------------------------------------------

    def new_result(self, prep: _Prepared, attempt: int = 1) -> ScenarioResult:
        spec = prep.spec
        return ScenarioResult(
            name=spec.name,
            source=display_location(spec.source),
            file=spec.source.path,
            assistant=spec.assistant,
            attempt=attempt,
        )

    async def run_scenario(
        self, prep: _Prepared, attempt: int = 1, progress: ScenarioProgress | None = None
    ) -> ScenarioResult:
        result = self.new_result(prep, attempt)
        await self.play_scenario(prep, result, progress)
        return result

    async def play_scenario(
        self, prep: _Prepared, result: ScenarioResult, progress: ScenarioProgress | None = None
    ) -> None:
        """Play a scenario into ``result``. Cancelled (Ctrl-C), ``result`` says so (an
        error) and the cancellation goes on."""
        progress = progress or self.reporter.start(prep.spec, result.attempt)
        started = time.perf_counter()
        try:
            await self._run(prep, result, progress)
        except asyncio.CancelledError:
            result.error = Problem(
                "interrupted", "interrupted before it finished; its run was cancelled"
            )
            _conclude(result, time.perf_counter() - started)
            raise
        except openai.APIError as exc:
            result.error = Problem("api", _describe_api_error(exc, self._at()))
        except Exception as exc:  # a bug of ours must not take the other scenarios down
            result.error = Problem(
                "api",
                f"the runner hit {type(exc).__name__}: {exc}",
                "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
            )
        _conclude(result, time.perf_counter() - started)
        progress.done(result)

    def _at(self) -> str:
        return f" at {self.target}" if self.target else ""

    async def _run(
        self, prep: _Prepared, result: ScenarioResult, progress: ScenarioProgress
    ) -> None:
        spec = prep.spec
        if prep.problem is not None:
            result.error = prep.problem
            return
        if not spec.turns:
            result.error = Problem("setup", f"{spec.source}: the scenario has no turns")
            return
        try:
            mode, cassette = self._cassette_for(prep)
        except cassettes.CassetteError as exc:
            result.failures.append(Problem("cassette", str(exc)))
            return
        try:
            result.assistant_id = await self.driver.resolve(spec.assistant)
        except AssistantNotFound as exc:
            result.error = Problem("setup", f"{spec.source}: {exc}")
            return
        convo = await self.driver.start(
            ConversationSetup(
                assistant_id=result.assistant_id,
                scenario=spec.name,
                handler_modules=list(spec.handlers),
                mocks=dict(spec.mocks),
                vars=dict(spec.vars),
                filename_of=self._filename,
            )
        )
        result.thread_id = convo.id
        if mode == "replay":
            result.replayed = prep.cassette_path
        scenario_limit = spec.timeout if spec.timeout is not None else self.options.scenario_timeout
        deadline = None if scenario_limit is None else time.perf_counter() + scenario_limit
        try:
            for i, turn in enumerate(spec.turns):
                record = TurnRecord(index=i, user=turn.user)
                result.turns.append(record)
                progress.turn(i, len(spec.turns), turn.user)
                steps = cassette.turns[i].steps if cassette is not None else None
                ok = await self._turn(
                    convo, turn, record, prep.expectations[i], result, progress, steps, deadline
                )
                progress.turn_done(record)
                if not ok:
                    left = len(spec.turns) - i - 1
                    if left:
                        result.notes.append(
                            f"stopped after turn {i + 1}; {left} later turn(s) not played"
                        )
                    break
        finally:
            if not self.options.keep_threads:
                await asyncio.shield(convo.close())
        if mode == "record":
            self._record(prep, result)

    async def _turn(
        self,
        convo: Conversation,
        turn: TurnSpec,
        record: TurnRecord,
        expectation: TurnExpectation,
        result: ScenarioResult,
        progress: ScenarioProgress,
        steps: list[Any] | None,
        deadline: float | None,
    ) -> bool:
        """Play and check one turn; False when the scenario must stop here."""
        limit = turn.timeout if turn.timeout is not None else self.options.turn_timeout
        which = "turn"
        if deadline is not None:
            remaining = max(0.0, deadline - time.perf_counter())
            if limit is None or remaining < limit:
                limit, which = remaining, "scenario"
        started = time.perf_counter()
        try:
            attachments = await self._upload(turn)
            if steps is not None:
                record.replayed_steps = len(steps)
                try:
                    await convo.queue_script(steps)
                except ScriptUnsupported as exc:
                    result.error = Problem("setup", str(exc), turn=record.index)
                    return False
            inp = TurnInput(
                index=record.index,
                user=turn.user,
                attachments=attachments,
                additional_instructions=turn.additional_instructions,
                tool_choice=turn.tool_choice,
                stop_at_requires_action=expectation.status == ["requires_action"],
            )
            await asyncio.wait_for(convo.play(inp, record, progress), timeout=limit)
        except asyncio.CancelledError:
            # Interrupted (Ctrl-C): leave nothing running on the server.
            if record.run_id:
                await asyncio.shield(convo.stop(record))
            raise
        except openai.APIError as exc:
            # E.g. the stream broke off: the run may still be going; stop it, best effort.
            record.duration = time.perf_counter() - started
            status = await convo.stop(record, wait=2.0)
            if record.run_id:
                record.status = status
            if isinstance(exc, openai.APIConnectionError):
                what = f"lost the connection to the server{self._at()}: {exc.__cause__ or exc}"
            else:
                what = _describe_api_error(exc, self._at())
            note = f"; run {record.run_id} ended {record.status}" if record.run_id else ""
            result.error = Problem("api", what + note, turn=record.index)
            return False
        except asyncio.TimeoutError:
            record.duration = time.perf_counter() - started
            status = None
            if record.run_id:
                status = await convo.stop(record)
                record.status = status or record.status
            what = f"{limit:.3g} s" + (
                " (the rest of the scenario's time limit)" if which == "scenario" else ""
            )
            if not record.run_id:
                run_note = "no run had started"
            elif status == "cancelled":
                run_note = f"run {record.run_id} was cancelled (final status: cancelled)"
            elif status in ("completed", "failed", "expired", "incomplete"):
                run_note = f"run {record.run_id} had ended ({status})"
            else:
                # E.g. a streamed response: the Responses API cancels background ones only.
                run_note = f"run {record.run_id} could not be cancelled (status: {status})"
            result.failures.append(
                Problem(
                    "timeout",
                    f"timed out after {what}; {run_note}",
                    "transcript so far:\n" + turn_text(record),
                    turn=record.index,
                )
            )
            return False
        except TurnAborted as exc:
            record.duration = time.perf_counter() - started
            # A handler that tried to end the process is the scenario's error (it cannot be
            # run as written), listed first; other handler problems are failures.
            failures = sorted(exc.failures, key=lambda f: f.kind != "exit")
            details = "\n".join(f.render() for f in failures)
            problem = Problem(
                "handler",
                failures[0].message.splitlines()[0]
                + (f" (and {len(failures) - 1} more)" if len(failures) > 1 else "")
                + f"; the run was cancelled (status: {exc.run_status})",
                details + "\ntranscript:\n" + turn_text(record),
                turn=record.index,
            )
            if failures[0].kind == "exit":
                result.error = problem
            else:
                result.failures.append(problem)
            return False
        record.duration = time.perf_counter() - started
        broken = _model_failure(record, expectation)
        if broken is not None:
            result.error = Problem(
                "model", broken, "transcript:\n" + turn_text(record), turn=record.index
            )
            return False
        if steps is not None:
            problem = await self._replay_problem(convo, record, result)
            if problem is not None:
                result.failures.append(problem)
                return False
        failures = expectation.check(record)
        if failures:
            details = "\n".join(f.render() for f in failures)
            result.failures.append(
                Problem(
                    "expectation",
                    f"{len(failures)} expectation(s) not met ({turn.source})",
                    details + "\ntranscript:\n" + turn_text(record),
                    turn=record.index,
                )
            )
            return False
        return True

    async def _replay_problem(
        self, convo: Conversation, record: TurnRecord, result: ScenarioResult
    ) -> Problem | None:
        path = result.replayed
        if (
            record.status == "failed"
            and record.last_error
            and record.last_error.get("code") == "invalid_prompt"
        ):
            return Problem(
                "cassette",
                f"the cassette {path} no longer fits the assistant: {record.last_error.get('message')}",
                "re-record it with `orchestrator test --record` (or run with --live)\n"
                "transcript:\n" + turn_text(record),
                turn=record.index,
            )
        left = await convo.pending_script()
        if left:
            return Problem(
                "cassette",
                f"the run ended with {len(left)} recorded step(s) of {path} unused: the "
                "conversation no longer goes as recorded",
                "re-record it with `orchestrator test --record` (or run with --live)\n"
                "transcript:\n" + turn_text(record),
                turn=record.index,
            )
        return None

    def _record(self, prep: _Prepared, result: ScenarioResult) -> None:
        path = prep.cassette_path
        if path is None:
            return
        if result.failures or result.error:
            result.notes.append(
                f"not recorded: the scenario did not pass (kept {path.name} as it was)"
            )
            return
        cassette = cassettes.build(prep.spec.name, prep.spec.assistant, result.turns)
        cassettes.save(cassette, path)
        result.recorded = path

    # --- many scenarios ---------------------------------------------------------

    async def preflight(self) -> Problem | None:
        """One cheap request, so an unreachable server is one clear error, not N."""
        problem = await self.driver.preflight()
        return Problem("api", problem) if problem is not None else None

    async def run(
        self, scenarios: list[ScenarioSpec], report: RunReport | None = None
    ) -> RunReport:
        """Run the scenarios into ``report`` (a new one unless given). Cancelled (Ctrl-C),
        the given ``report`` holds what finished, marked interrupted, and the
        cancellation goes on."""
        report = report if report is not None else RunReport()
        report.target = self.target
        started = time.perf_counter()
        problem = await self.preflight()
        if problem is not None:
            report.errors.append(problem)
            report.duration = time.perf_counter() - started
            self.reporter.finish(report)
            return report
        per_file = Counter(s.source.path for s in scenarios)
        prepared = [self.prepare(s, per_file[s.source.path] > 1) for s in scenarios]
        jobs = [(p, a) for a in range(1, self.options.repeat + 1) for p in prepared]
        sem = asyncio.Semaphore(max(1, self.options.jobs))
        results: list[ScenarioResult | None] = [None] * len(jobs)

        async def one(k: int, prep: _Prepared, attempt: int) -> None:
            async with sem:
                results[k] = self.new_result(prep, attempt)
                await self.play_scenario(prep, results[k])

        try:
            await asyncio.gather(*(one(k, p, a) for k, (p, a) in enumerate(jobs)))
        except asyncio.CancelledError:
            report.interrupted = True
            raise
        finally:
            report.results = [r for r in results if r is not None]
            if report.interrupted:
                report.errors.append(
                    Problem(
                        "interrupted",
                        "interrupted (Ctrl-C): the runs in progress were cancelled; "
                        f"{len(report.results)} of {len(jobs)} scenario run(s) had started",
                    )
                )
            await asyncio.shield(self.cleanup())
            report.duration = time.perf_counter() - started
            self.reporter.finish(report)
        return report


def _conclude(result: ScenarioResult, duration: float) -> None:
    result.duration = duration
    if result.error is not None:
        result.outcome = "error"
    elif result.failures:
        result.outcome = "failed"
    else:
        result.outcome = "passed"


# last_error codes of a run the model endpoint could not serve (down, 5xx, rate limited,
# a rejected key): the scenario could not be tested, which is not the assistant failing.
_ENDPOINT_FAILURES = ("server_error", "rate_limit_exceeded")


def _model_failure(record: TurnRecord, expectation: TurnExpectation) -> str | None:
    """Why the turn's run failed on the model's side, unless the turn expects a failure."""
    error = record.last_error or {}
    if record.status != "failed" or "failed" in expectation.status:
        return None
    if error.get("code") not in _ENDPOINT_FAILURES:
        return None
    return (
        f"the model endpoint failed, so the turn could not be tested: run {record.run_id} "
        f"ended failed ({error.get('code')}): {error.get('message') or 'no message'}"
    )


def display_location(loc: Location) -> str:
    """``path:line:col`` with the path relative to the working folder when inside it."""
    try:
        rel = loc.path.resolve().relative_to(Path.cwd().resolve())
    except (ValueError, OSError):
        return str(loc)
    return f"{rel.as_posix()}:{loc.line}:{loc.column}"


def _describe_api_error(exc: openai.APIError, at: str) -> str:
    if isinstance(exc, openai.APIConnectionError):
        return f"cannot reach the server{at}: {exc.__cause__ or exc}"
    if isinstance(exc, openai.APIStatusError):
        return f"the server{at} answered {exc.status_code}: {api_message(exc)}"
    return f"the server{at} reported an error: {exc}"


def async_client_for(
    client: openai.OpenAI | openai.AsyncOpenAI, **kwargs: Any
) -> openai.AsyncOpenAI:
    """An async client for the same server and key as ``client``."""
    if isinstance(client, openai.AsyncOpenAI):
        return client
    return openai.AsyncOpenAI(
        base_url=str(client.base_url),
        api_key=client.api_key,
        max_retries=kwargs.pop("max_retries", 2),
        **kwargs,
    )


def run_scenarios(
    scenarios: list[ScenarioSpec],
    client: openai.OpenAI | openai.AsyncOpenAI,
    options: RunnerOptions | None = None,
    *,
    root: Path | None = None,
    reporter: Reporter | None = None,
    target: str = "",
) -> RunReport:
    """Run scenarios to a report (blocking). See :class:`RunnerOptions`.

    Ctrl-C cancels the runs in progress and returns the report so far, marked
    ``interrupted`` (its exit code is 130)."""

    report = RunReport(target=target)

    async def main() -> RunReport:
        aclient = async_client_for(client)
        try:
            runner = ScenarioRunner(aclient, options, root=root, reporter=reporter, target=target)
            return await runner.run(scenarios, report)
        finally:
            if aclient is not client:
                await aclient.close()

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        # Ctrl-C: the report so far (exit code 130), for the caller to write out.
        report.interrupted = True
        return report


def select_scenarios(
    scenarios: list[ScenarioSpec], *, keyword: str | None = None, tags: tuple[str, ...] = ()
) -> list[ScenarioSpec]:
    """Scenarios whose name contains ``keyword`` (case-insensitive) and that carry any
    of ``tags`` (when given)."""
    out = []
    for s in scenarios:
        if keyword and keyword.lower() not in s.name.lower():
            continue
        if tags and not set(tags) & set(s.tags):
            continue
        out.append(s)
    return out
