"""Reports of a run: JSON, JUnit XML, Markdown transcripts and the summary table."""

from __future__ import annotations

import contextlib
import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from orchestrator.scenarios.results import RunReport, ScenarioResult
from orchestrator.scenarios.transcript import scenario_markdown, slug

# Characters XML 1.0 cannot hold at all (ElementTree would write them unescaped).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _XML_ILLEGAL.sub("\ufffd", text)


def _write(path: Path, data: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(data, encoding="utf-8")
    os.replace(tmp, path)


def dumps_json(report: RunReport) -> str:
    """The JSON report's text (indented, UTF-8, newline-terminated)."""
    return json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n"


def write_json(report: RunReport, path: Path) -> None:
    _write(path, dumps_json(report))


def _classname(result: ScenarioResult, root: Path | None) -> str:
    path = result.file
    if root is not None:
        with contextlib.suppress(ValueError):
            path = path.resolve().relative_to(root.resolve())
    stem = path.as_posix()
    for ext in (".yaml", ".yml"):
        stem = stem.removesuffix(ext)
    return stem.replace("/", ".")


def junit_xml(report: RunReport, root: Path | None = None) -> str:
    """JUnit XML: one testsuite per scenario file; failures as <failure>, runtime
    errors as <error> (the scheme Jenkins, GitLab and GitHub reporters read)."""
    suites: dict[str, list[ScenarioResult]] = {}
    for r in report.results:
        suites.setdefault(_classname(r, root), []).append(r)
    top = ET.Element(
        "testsuites",
        name="orchestrator test",
        tests=str(len(report.results)),
        failures=str(report.count("failed")),
        errors=str(report.count("error") + len(report.errors)),
        time=f"{report.duration:.3f}",
    )
    for classname, results in suites.items():
        suite = ET.SubElement(
            top,
            "testsuite",
            name=classname,
            tests=str(len(results)),
            failures=str(sum(r.outcome == "failed" for r in results)),
            errors=str(sum(r.outcome == "error" for r in results)),
            skipped="0",
            time=f"{sum(r.duration for r in results):.3f}",
        )
        for r in results:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=classname,
                name=_xml_text(r.id),
                file=str(r.file),
                time=f"{r.duration:.3f}",
            )
            if r.outcome != "passed":
                problems = r.problems()
                tag = "error" if r.outcome == "error" else "failure"
                first = problems[0] if problems else None
                el = ET.SubElement(
                    case,
                    tag,
                    message=_xml_text(first.render().splitlines()[0] if first else r.outcome),
                    type=first.kind if first else r.outcome,
                )
                el.text = _xml_text("\n\n".join(p.render() for p in problems))
            out = ET.SubElement(case, "system-out")
            out.text = _xml_text(scenario_markdown(r))
    if report.errors:
        suite = ET.SubElement(
            top, "testsuite", name="orchestrator", tests="1", failures="0", errors="1", time="0"
        )
        case = ET.SubElement(suite, "testcase", classname="orchestrator", name="run", time="0")
        el = ET.SubElement(
            case, "error", message=_xml_text(report.errors[0].message), type=report.errors[0].kind
        )
        el.text = _xml_text("\n".join(p.render() for p in report.errors))
    ET.indent(top)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(top, encoding="unicode") + "\n"


def write_junit(report: RunReport, path: Path, root: Path | None = None) -> None:
    _write(path, junit_xml(report, root))


def write_transcripts(report: RunReport, directory: Path) -> list[Path]:
    """One Markdown file per scenario attempt; names from the scenario names."""
    directory.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    written = []
    for r in report.results:
        base = slug(r.name, r.attempt)
        name, n = base, 1
        while name in used:  # two files with the same scenario name
            n += 1
            name = f"{base}-{n}"
        used.add(name)
        path = directory / f"{name}.md"
        _write(path, scenario_markdown(r))
        written.append(path)
    return written
