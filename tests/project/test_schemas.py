"""The JSON Schemas: valid under their metaschema, documented for editors, closed, and
matching every shipped example (and the server's script steps, for cassettes)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator, FormatChecker

from orchestrator.project import load_schema
from orchestrator.project.schema_check import SCHEMA_FILES
from orchestrator.scripting import ScriptStep
from tests.support import ROOT

SCHEMA_DIR = ROOT / "orchestrator" / "schemas"
KIND_OF_SCHEMA = {v: k for k, v in SCHEMA_FILES.items()}
EXAMPLES = sorted(
    [*ROOT.glob("assistants/*.yaml"), *ROOT.glob("scenarios/*.yaml"), ROOT / "orchestrator.yaml"]
)


def _schemas() -> list[Path]:
    return sorted(SCHEMA_DIR.glob("*.schema.json"))


def test_every_kind_has_a_schema_file() -> None:
    assert {p.name for p in _schemas()} == set(SCHEMA_FILES.values())


def test_root_schemas_link_is_the_package_folder() -> None:
    # Editors read schemas/ at the repo root; the installed package reads orchestrator/schemas.
    assert (ROOT / "schemas").is_symlink()
    assert (ROOT / "schemas").resolve() == SCHEMA_DIR.resolve()
    for path in _schemas():
        assert load_schema(KIND_OF_SCHEMA[path.name]) == json.loads(path.read_text("utf-8"))


@pytest.mark.parametrize("path", _schemas(), ids=lambda p: p.name)
def test_schema_is_valid_draft_2020_12(path: Path) -> None:
    schema = json.loads(path.read_text("utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    assert schema.get("title") and schema.get("description")


def _walk(
    node: Any, path: tuple[Any, ...] = ()
) -> Iterator[tuple[tuple[Any, ...], dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for k, v in node.items():
            if k == "if":
                continue  # conditions test values; they describe nothing
            yield from _walk(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, (*path, i))


@pytest.mark.parametrize("path", _schemas(), ids=lambda p: p.name)
def test_objects_are_closed_and_fields_documented(path: Path) -> None:
    schema = json.loads(path.read_text("utf-8"))
    undocumented = []
    for where, node in _walk(schema):
        props = node.get("properties")
        if not isinstance(props, dict):
            continue
        # A closed object: misspelt fields are errors. (Subschemas under then/else/allOf
        # only constrain fields their enclosing object declares.)
        inside_condition = any(p in ("then", "else", "allOf") for p in where)
        if not inside_condition:
            assert node.get("additionalProperties") is False, (
                f"{path.name}: {'/'.join(map(str, where))} is open"
            )
        for name, sub in props.items():
            if isinstance(sub, dict) and not (
                "description" in sub or "$ref" in sub or "not" in sub
            ):
                undocumented.append("/".join(map(str, (*where, "properties", name))))
    assert undocumented == [], f"{path.name}: fields without a description: {undocumented}"


def test_project_defaults_match_the_assistant_fields() -> None:
    assistant, project = load_schema("Assistant"), load_schema("Project")
    defaults = project["properties"]["defaults"]["properties"]
    for name, sub in defaults.items():
        if "$ref" in sub:
            ref = sub["$ref"].split("/")[-1]
            assert project["$defs"][ref] == assistant["$defs"][ref], name
        else:
            assert sub == assistant["properties"][name], name


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(ROOT)))
def test_example_validates_against_its_schema(path: Path) -> None:
    text = path.read_text("utf-8")
    first = text.splitlines()[0]
    prefix = "# yaml-language-server: $schema="
    assert first.startswith(prefix), f"{path.name} must start with the yaml-language-server line"
    schema_path = (path.parent / first[len(prefix) :]).resolve()
    assert schema_path.is_file(), f"{first} does not point at a schema file"
    data = yaml.safe_load(text)
    kind = data.get("kind", "Project")
    assert schema_path.name == SCHEMA_FILES[kind]
    schema = json.loads(schema_path.read_text("utf-8"))
    errors = [
        e.message
        for e in Draft202012Validator(schema, format_checker=FormatChecker()).iter_errors(data)
    ]
    assert errors == []


CASSETTE = """\
# yaml-language-server: $schema=../schemas/cassette.schema.json
kind: Cassette
version: 1
scenario: quiz feedback loop
assistant: quiz-generator
model: gpt-4o
recorded_at: 2026-09-01T10:00:00Z
turns:
  - user: Use display_quiz to make a quiz.
    steps:
      - tool_calls:
          - type: function
            name: display_quiz
            arguments: {title: Quiz, questions: []}
          - {type: file_search, query: pythagoras}
      - tool_calls: [{type: code_interpreter, code: "print(1)"}]
      - reply: Here is your feedback.
"""


def test_cassette_schema_matches_the_server_script_steps() -> None:
    data = yaml.safe_load(CASSETTE)
    data["recorded_at"] = str(data["recorded_at"])  # safe_load makes a datetime of it
    validator = Draft202012Validator(load_schema("Cassette"))
    assert [e.message for e in validator.iter_errors(data)] == []
    for turn in data["turns"]:
        for step in turn["steps"]:
            ScriptStep.model_validate(step)  # every valid cassette step is a valid script step

    bad_steps = [
        {"reply": "x", "tool_calls": [{"type": "code_interpreter", "code": "1"}]},  # both
        {},  # neither
        {"tool_calls": [{"type": "function", "name": "f", "code": "1"}]},  # foreign field
        {"tool_calls": [{"type": "code_interpreter"}]},  # missing code
        {"tool_calls": [{"type": "web_search", "query": "q"}]},  # unknown type
    ]
    for step in bad_steps:
        data["turns"][0]["steps"] = [step]
        assert list(validator.iter_errors(data)), step
        with pytest.raises(ValueError):
            ScriptStep.model_validate(step)
