"""`orchestrator validate` finds each class of problem, at the right file and line, with a
message that says what was expected (through ``load_project``, which the command renders)."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import pytest

from orchestrator.project import load_project
from tests.support.project_files import (
    DISPLAY_QUIZ,
    GOOD_ASSISTANT,
    diagnostic_at,
    errors,
    find,
    listing,
    load,
    write_project,
)

BASE = {
    "assistants/quiz.yaml": GOOD_ASSISTANT,
    "assistants/functions/display_quiz.json": DISPLAY_QUIZ,
    "assistants/docs/notes.md": "# Notes\n\nThe hypotenuse is the longest side.\n",
}


def test_the_base_project_is_clean(tmp_path: Path) -> None:
    project = load(tmp_path, BASE)
    assert project.diagnostics == []


def test_yaml_syntax_error(tmp_path: Path) -> None:
    p = load(tmp_path, {"assistants/a.yaml": "kind: Assistant\nmodel: [gpt-4o\nname: x\n"})
    d = find(p, "assistants/a.yaml", 3, "YAML syntax error")
    assert "expected ',' or ']'" in d.message


def test_tab_indentation_is_explained(tmp_path: Path) -> None:
    p = load(tmp_path, {"assistants/a.yaml": "kind: Assistant\nmetadata:\n\tteam: x\n"})
    assert diagnostic_at(p, "assistants/a.yaml", 3, "not tabs"), listing(p)


def test_duplicate_keys(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "assistants/a.yaml": "kind: Assistant\nmodel: gpt-4o\nname: A\nmetadata: {t: x}\nname: B\n"
        },
    )
    d = find(p, "assistants/a.yaml", 5, "duplicate key 'name' (first defined at line 3)")
    assert d.location.column == 1


def test_duplicate_keys_in_nested_mappings_and_json_files(tmp_path: Path) -> None:
    fn = '{"name": "f", "name": "g", "parameters": {"type": "object"}}'
    p = load(
        tmp_path,
        {
            "assistants/a.yaml": """\
                kind: Assistant
                model: gpt-4o
                tools:
                  - function: f.json
                files:
                  code_interpreter: [f.json]
                  code_interpreter: [f.json]
                """,
            "assistants/f.json": fn,
        },
    )
    assert diagnostic_at(
        p, "assistants/a.yaml", 7, "duplicate key 'code_interpreter' (first defined at line 6)"
    ), listing(p)
    assert diagnostic_at(p, "assistants/f.json", 1, "duplicate key 'name'"), listing(p)


def test_unknown_field_suggests_the_closest_name(tmp_path: Path) -> None:
    p = load(tmp_path, {"assistants/a.yaml": "kind: Assistant\nmodel: gpt-4o\ntemprature: 0.2\n"})
    d = find(p, "assistants/a.yaml", 3, "unknown field 'temprature' in Assistant")
    assert "did you mean 'temperature'?" in d.message


def test_unknown_field_without_close_match_lists_the_valid_ones(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "scenarios/s.yaml": "kind: Scenario\nassistant: quiz\nturns:\n  - user: hi\n    zzz: 1\n",
            **BASE,
        },
    )
    d = find(p, "scenarios/s.yaml", 5, "unknown field 'zzz' in turn")
    assert "expected one of: user, attachments" in d.message


def test_misspelt_nested_fields_in_expectations(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            **BASE,
            "scenarios/s.yaml": """\
                kind: Scenario
                assistant: quiz
                turns:
                  - user: hi
                    expect:
                      reply: {contians: hello}
                      tool_calls: {calls: [display_quiz], ordr: exact}
                """,
        },
    )
    assert diagnostic_at(
        p,
        "scenarios/s.yaml",
        6,
        "unknown field 'contians' in reply expectation; did you mean 'contains'?",
    ), listing(p)
    assert diagnostic_at(
        p,
        "scenarios/s.yaml",
        7,
        "unknown field 'ordr' in tool_calls expectation; did you mean 'order'?",
    ), listing(p)


def test_wrong_types(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "assistants/a.yaml": """\
                kind: Assistant
                model: gpt-4o
                temperature: warm
                tools: code_interpreter
                metadata: {team: 7}
                """
        },
    )
    assert diagnostic_at(
        p, "assistants/a.yaml", 3, "temperature must be a number, got a string ('warm')"
    ), listing(p)
    assert diagnostic_at(
        p, "assistants/a.yaml", 4, "tools must be a list, got a string ('code_interpreter')"
    ), listing(p)
    assert diagnostic_at(p, "assistants/a.yaml", 5, "metadata values must be strings"), listing(p)


def test_missing_model(tmp_path: Path) -> None:
    p = load(tmp_path, {"assistants/a.yaml": "# comment\nkind: Assistant\nname: A\n"})
    d = find(p, "assistants/a.yaml", 2, "missing required field 'model'")
    assert "orchestrator.yaml `defaults`" in d.message


def test_model_from_project_defaults(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "orchestrator.yaml": "defaults:\n  model: gpt-4o-mini\n  temperature: 0.3\n",
            "assistants/a.yaml": "kind: Assistant\nname: A\ntemperature: 1\n",
        },
    )
    assert p.ok, errors(p)
    (a,) = p.assistants
    assert (a.model, a.temperature) == ("gpt-4o-mini", 1.0)


def test_a_bad_default_is_reported_once_in_the_project_file(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "orchestrator.yaml": "defaults:\n  model: gpt-4o\n  top_p: 7\n",
            "assistants/a.yaml": "kind: Assistant\n",
            "assistants/b.yaml": "kind: Assistant\n",
        },
    )
    assert diagnostic_at(
        p, "orchestrator.yaml", 3, "defaults.top_p must be between 0 and 1, got 7"
    ), listing(p)
    assert len(errors(p)) == 1, errors(p)


@pytest.mark.parametrize(
    ("tool", "expected"),
    [
        ("retrieval", "renamed `retrieval` to `file_search`"),
        ("code_interpretor", "did you mean 'code_interpreter'?"),
        ("function", "needs its definition"),
        ("{type: code_interpreter}", "not the API's `{type: ...}` form"),
        ("{web_search: {}}", "unknown tool type 'web_search'"),
    ],
)
def test_unknown_tool_type(tmp_path: Path, tool: str, expected: str) -> None:
    p = load(
        tmp_path, {"assistants/a.yaml": f"kind: Assistant\nmodel: gpt-4o\ntools:\n  - {tool}\n"}
    )
    d = find(p, "assistants/a.yaml", 4, "expected code_interpreter, file_search or function")
    assert expected in d.message


def test_bad_function_name(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "assistants/a.yaml": """\
                kind: Assistant
                model: gpt-4o
                tools:
                  - function:
                      name: display quiz
                      parameters: {type: object}
                """
        },
    )
    d = find(
        p, "assistants/a.yaml", 5, "function name 'display quiz' must match ^[a-zA-Z0-9_-]{1,64}$"
    )
    assert d.location.column == 13


def test_bad_function_name_in_a_json_file(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "assistants/a.yaml": "kind: Assistant\nmodel: gpt-4o\ntools:\n  - function: f.json\n",
            "assistants/f.json": '{\n  "name": "'
            + "x" * 65
            + '",\n  "parameters": {"type": "object"}\n}\n',
        },
    )
    assert diagnostic_at(p, "assistants/f.json", 2, "must match ^[a-zA-Z0-9_-]{1,64}$"), listing(p)


def test_parameters_that_are_not_a_json_schema(tmp_path: Path) -> None:
    fn = """\
        {
          "name": "f",
          "parameters": {
            "type": "object",
            "properties": {"x": {"type": "strng"}},
            "required": "x"
          }
        }
        """
    p = load(
        tmp_path,
        {
            "assistants/a.yaml": "kind: Assistant\nmodel: gpt-4o\ntools:\n  - function: f.json\n",
            "assistants/f.json": fn,
        },
    )
    d = find(
        p,
        "assistants/f.json",
        5,
        "parameters of function 'f' is not a valid JSON Schema at properties.x.type",
    )
    assert "did you mean 'string'?" in d.message
    assert diagnostic_at(p, "assistants/f.json", 6, "at required: 'x' is not of type 'array'"), (
        listing(p)
    )


def test_parameters_must_describe_an_object(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "assistants/a.yaml": """\
                kind: Assistant
                model: gpt-4o
                tools:
                  - function: {name: f, parameters: {type: array}}
                """
        },
    )
    assert diagnostic_at(
        p, "assistants/a.yaml", 4, "must be a JSON Schema with type: object, got type 'array'"
    ), listing(p)


def test_strict_mode_rules(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "assistants/a.yaml": """\
                kind: Assistant
                model: gpt-4o
                tools:
                  - function:
                      name: grade
                      strict: true
                      parameters:
                        type: object
                        additionalProperties: false
                        required: [score]
                        properties:
                          score: {type: integer}
                          comment: {type: string}
                          detail:
                            type: object
                            properties: {x: {type: string}}
                            required: [x]
                """
        },
    )
    d = find(p, "assistants/a.yaml", 10, "every property must be listed in required")
    assert "'comment', 'detail'" in d.message and "the root" in d.message
    d = find(p, "assistants/a.yaml", 15, "must set additionalProperties: false")
    assert "properties.detail" in d.message
    assert len(errors(p)) == 2, errors(p)


def test_strict_mode_unsupported_keyword(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "assistants/a.yaml": """\
                kind: Assistant
                model: gpt-4o
                tools:
                  - function:
                      name: f
                      strict: true
                      parameters:
                        type: object
                        additionalProperties: false
                        required: [a]
                        properties:
                          a: {oneOf: [{type: string}, {type: integer}]}
                """
        },
    )
    assert diagnostic_at(
        p,
        "assistants/a.yaml",
        12,
        "'oneOf' (at properties.a) is not supported in strict mode; use anyOf",
    ), listing(p)


def test_strict_json_schema_response_format(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "assistants/a.yaml": """\
                kind: Assistant
                model: gpt-4o
                response_format:
                  type: json_schema
                  json_schema:
                    name: answer
                    strict: true
                    schema:
                      type: object
                      properties: {x: {type: string}}
                """
        },
    )
    assert diagnostic_at(
        p,
        "assistants/a.yaml",
        9,
        "response_format.json_schema.schema: the object at the root must set additionalProperties: false",
    ), listing(p)


@pytest.mark.parametrize(
    ("yaml_line", "expected"),
    [
        ("name: " + "n" * 257, "name is 257 characters long; at most 256 are allowed"),
        (
            "description: " + "d" * 513,
            "description is 513 characters long; at most 512 are allowed",
        ),
        (
            "instructions: " + "i" * 256_001,
            "instructions is 256,001 characters long; at most 256,000",
        ),
        (
            "tools: [" + ", ".join(["code_interpreter"] * 129) + "]",
            "tools has 129 items; at most 128",
        ),
        ("temperature: 2.5", "temperature must be between 0 and 2, got 2.5"),
        ("top_p: 1.5", "top_p must be between 0 and 1, got 1.5"),
        (
            "reasoning_effort: extreme",
            "reasoning_effort must be one of: none, minimal, low, medium, high",
        ),
        ("metadata: {" + "k" * 65 + ": v}", "is longer than 64 characters"),
        (
            "metadata: {k: " + "v" * 513 + "}",
            "metadata values must be strings of at most 512 characters",
        ),
        ("metadata: {orchestrator-key: x}", "metadata key 'orchestrator-key' is reserved"),
        (
            "files: {file_search: {vector_store: [a, b], paths: [x]}}",
            "an assistant has one vector store",
        ),
        ("key: 'bad key!'", "key 'bad key!' must be 1-64 letters, digits"),
    ],
)
def test_api_limits(tmp_path: Path, yaml_line: str, expected: str) -> None:
    p = load(tmp_path, {"assistants/a.yaml": f"kind: Assistant\nmodel: gpt-4o\n{yaml_line}\n"})
    assert diagnostic_at(p, "assistants/a.yaml", 3, expected), listing(p)


def test_metadata_leaves_room_for_the_reserved_keys(tmp_path: Path) -> None:
    entries = "".join(f"  k{i}: v\n" for i in range(12))
    p = load(
        tmp_path, {"assistants/a.yaml": f"kind: Assistant\nmodel: gpt-4o\nmetadata:\n{entries}"}
    )
    d = find(p, "assistants/a.yaml", 3, "metadata has 12 keys; at most 11 are allowed")
    assert "orchestrator reserves" in d.message and "orchestrator-files" in d.message
    p = load(
        tmp_path,
        {
            "assistants/a.yaml": "kind: Assistant\nmodel: gpt-4o\nmetadata: {orchestrator-files: x}\n"
        },
    )
    assert diagnostic_at(
        p, "assistants/a.yaml", 3, "metadata key 'orchestrator-files' is reserved"
    ), listing(p)


@pytest.mark.parametrize("kind", ["Assistant", "Project"])
def test_schema_metadata_limits_follow_the_reserved_keys(kind: str) -> None:
    # The schemas are static JSON; they must agree with the keys the reconciler writes.
    from orchestrator.ownership import MAX_METADATA_KEYS, RESERVED_METADATA_KEYS
    from orchestrator.project.schema_check import load_schema

    defs = load_schema(kind)["$defs"]
    meta = defs["metadata"]
    assert meta["maxProperties"] == MAX_METADATA_KEYS - len(RESERVED_METADATA_KEYS)
    assert meta["propertyNames"]["not"]["enum"] == list(RESERVED_METADATA_KEYS)


def test_project_default_metadata_counts_towards_the_limit(tmp_path: Path) -> None:
    mine = "".join(f"  k{i}: v\n" for i in range(10))
    p = load(
        tmp_path,
        {
            "orchestrator.yaml": "defaults:\n  metadata: {team: a, owner: b, cost: c}\n",
            "assistants/a.yaml": f"kind: Assistant\nmodel: gpt-4o\nmetadata:\n{mine}",
        },
    )
    assert diagnostic_at(p, "assistants/a.yaml", 3, "metadata has 13 keys; at most 11"), listing(p)


def test_too_many_code_interpreter_files(tmp_path: Path) -> None:
    files = {f"assistants/data/{i:02}.csv": "a,b\n" for i in range(21)}
    p = load(
        tmp_path,
        {
            **files,
            "assistants/a.yaml": "kind: Assistant\nmodel: gpt-4o\ntools: [code_interpreter]\nfiles:\n  code_interpreter: [data/*.csv]\n",
        },
    )
    assert diagnostic_at(
        p,
        "assistants/a.yaml",
        5,
        "files.code_interpreter matches 21 files; the code interpreter takes at most 20",
    ), listing(p)


def test_instructions_and_instructions_file_together(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "assistants/p.md": "Be brief.\n",
            "assistants/a.yaml": "kind: Assistant\nmodel: gpt-4o\ninstructions: hi\ninstructions_file: p.md\n",
        },
    )
    assert diagnostic_at(
        p, "assistants/a.yaml", 4, "use either `instructions` or `instructions_file`, not both"
    ), listing(p)


def test_instructions_file_missing(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "assistants/a.yaml": "kind: Assistant\nmodel: gpt-4o\ninstructions_file: prompts/tutor.md\n"
        },
    )
    d = find(p, "assistants/a.yaml", 3, "instructions_file 'prompts/tutor.md' does not exist")
    assert d.location.column == 20


def test_instructions_file_over_the_limit(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "assistants/long.md": "x" * 256_001,
            "assistants/a.yaml": "kind: Assistant\nmodel: gpt-4o\ninstructions_file: long.md\n",
        },
    )
    assert diagnostic_at(
        p,
        "assistants/a.yaml",
        3,
        "instructions in 'long.md' are 256,001 characters long; the API allows at most 256,000",
    ), listing(p)


def test_glob_matching_nothing(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "assistants/a.yaml": """\
                kind: Assistant
                model: gpt-4o
                tools: [file_search]
                files:
                  file_search:
                    - docs/*.md
                    - docs/*.pdf
                """,
            "assistants/docs/a.md": "text",
        },
    )
    d = find(p, "assistants/a.yaml", 7, "file_search file 'docs/*.pdf' matches no files")
    assert "relative to assistants/" in d.message


def test_path_escaping_the_project_root(tmp_path: Path) -> None:
    outside = tmp_path / "outside.md"
    outside.write_text("secret")
    root = tmp_path / "project"
    p = load(
        root,
        {
            "assistants/a.yaml": """\
                kind: Assistant
                model: gpt-4o
                instructions_file: ../../outside.md
                tools: [code_interpreter]
                files:
                  code_interpreter: ["../../*.md"]
                """
        },
    )
    assert diagnostic_at(
        p,
        "assistants/a.yaml",
        3,
        "instructions_file '../../outside.md' is outside the project root",
    ), listing(p)
    assert diagnostic_at(
        p, "assistants/a.yaml", 6, "code_interpreter file '../../*.md' is outside the project root"
    ), listing(p)


def test_symlink_out_of_the_project_is_an_escape(tmp_path: Path) -> None:
    (tmp_path / "outside.md").write_text("secret")
    root = tmp_path / "project"
    (root / "assistants").mkdir(parents=True)
    (root / "assistants" / "link.md").symlink_to(tmp_path / "outside.md")
    p = load(
        root, {"assistants/a.yaml": "kind: Assistant\nmodel: gpt-4o\ninstructions_file: link.md\n"}
    )
    assert diagnostic_at(p, "assistants/a.yaml", 3, "is outside the project root"), listing(p)


def test_undefined_variable(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {"assistants/a.yaml": "kind: Assistant\nmodel: gpt-4o\nname: ${TEAM_NAME} tutor\n"},
    )
    d = find(p, "assistants/a.yaml", 3, "undefined variable ${TEAM_NAME}")
    assert "${TEAM_NAME:-value}" in d.message


def test_malformed_variable_reference(tmp_path: Path) -> None:
    p = load(tmp_path, {"assistants/a.yaml": "kind: Assistant\nmodel: gpt-4o\nname: ${1abc}\n"})
    assert diagnostic_at(p, "assistants/a.yaml", 3, "'${1abc}' is not a variable reference"), (
        listing(p)
    )


def test_two_files_with_the_same_key(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "assistants/a.yaml": "kind: Assistant\nkey: tutor\nmodel: gpt-4o\n",
            "assistants/tutor.yaml": "kind: Assistant\nmodel: gpt-4o\n",
        },
    )
    d = find(
        p, "assistants/a.yaml", 2, "assistant key 'tutor' is also used by assistants/tutor.yaml:1:1"
    )
    assert "set `key:`" in d.message
    assert diagnostic_at(
        p, "assistants/tutor.yaml", 1, "assistant key 'tutor' is also used by assistants/a.yaml:2:1"
    ), listing(p)


def test_shared_vector_store_with_different_files(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "assistants/docs/a.md": "a",
            "assistants/docs/b.md": "b",
            "assistants/one.yaml": """\
                kind: Assistant
                model: gpt-4o
                tools: [file_search]
                files:
                  file_search: {vector_store: notes, paths: [docs/*.md]}
                """,
            "assistants/two.yaml": """\
                kind: Assistant
                model: gpt-4o
                tools: [file_search]
                files:
                  file_search: {vector_store: notes, paths: [docs/a.md]}
                """,
        },
    )
    d = find(p, "assistants/two.yaml", 5, "vector store 'notes' is shared with assistant 'one'")
    assert "only in 'one': assistants/docs/b.md" in d.message


def test_shared_vector_store_with_the_same_files_is_one_store(tmp_path: Path) -> None:
    share = "kind: Assistant\nmodel: gpt-4o\ntools: [file_search]\nfiles:\n  file_search: {vector_store: notes, paths: [docs/*.md]}\n"
    p = load(
        tmp_path,
        {"assistants/docs/a.md": "a", "assistants/one.yaml": share, "assistants/two.yaml": share},
    )
    assert p.ok, errors(p)
    one, two = p.assistants
    assert one.vector_store is two.vector_store
    assert one.vector_store is not None and one.vector_store.key == "notes"


def test_scenario_with_an_unknown_assistant(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {**BASE, "scenarios/s.yaml": "kind: Scenario\nassistant: quizz\nturns:\n  - user: hi\n"},
    )
    d = find(p, "scenarios/s.yaml", 2, "unknown assistant 'quizz'; did you mean 'quiz'?")
    assert "(known: quiz)" in d.message


def test_scenario_naming_an_undeclared_function(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            **BASE,
            "scenarios/s.yaml": """\
                kind: Scenario
                assistant: quiz
                mocks:
                  grade_quiz: ok
                turns:
                  - user: Use display_quiz
                    tool_choice: {type: function, function: {name: show_quiz}}
                    expect:
                      tool_calls:
                        calls: [dispaly_quiz]
                        not: [{delete_all: {}}]
                        count: {display_quiz: 1, other: 0}
                """,
        },
    )
    assert diagnostic_at(
        p,
        "scenarios/s.yaml",
        4,
        "mocks names function 'grade_quiz', which assistant 'quiz' does not declare",
    ), listing(p)
    assert diagnostic_at(p, "scenarios/s.yaml", 7, "tool_choice names function 'show_quiz'"), (
        listing(p)
    )
    d = find(p, "scenarios/s.yaml", 10, "expect.tool_calls names function 'dispaly_quiz'")
    assert (
        "did you mean 'display_quiz'?" in d.message and "(it declares: display_quiz)" in d.message
    )
    assert diagnostic_at(p, "scenarios/s.yaml", 11, "function 'delete_all'"), listing(p)
    assert diagnostic_at(
        p, "scenarios/s.yaml", 12, "expect.tool_calls.count names function 'other'"
    ), listing(p)
    assert len(errors(p)) == 5, errors(p)


def test_scenario_with_a_missing_handler_module(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            **BASE,
            "scenarios/s.yaml": "kind: Scenario\nassistant: quiz\nhandlers:\n  - handlers/quiz.py\nturns:\n  - user: hi\n",
        },
    )
    d = find(p, "scenarios/s.yaml", 4, "handler module 'handlers/quiz.py' does not exist")
    assert str(tmp_path / "scenarios" / "handlers" / "quiz.py") in d.message


def test_handler_module_with_a_syntax_error(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            **BASE,
            "scenarios/handlers/quiz.py": "def display_quiz(:\n    pass\n",
            "scenarios/s.yaml": "kind: Scenario\nassistant: quiz\nhandlers: [handlers/quiz.py]\nturns:\n  - user: hi\n",
        },
    )
    assert diagnostic_at(
        p, "scenarios/handlers/quiz.py", 1, "handler module has a Python syntax error"
    ), listing(p)


def test_expectation_needing_a_tool_the_assistant_lacks(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            **BASE,
            "scenarios/s.yaml": "kind: Scenario\nassistant: quiz\nturns:\n  - user: hi\n    expect:\n      steps: {code_interpreter: true}\n",
        },
    )
    assert diagnostic_at(
        p,
        "scenarios/s.yaml",
        6,
        "expects a code_interpreter step, but assistant 'quiz' has no code_interpreter tool",
    ), listing(p)


def test_invalid_regex_in_an_expectation(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            **BASE,
            "scenarios/s.yaml": """\
                kind: Scenario
                assistant: quiz
                turns:
                  - user: Use display_quiz
                    expect:
                      tool_calls:
                        - display_quiz: {title: {matches: "(unclosed"}}
                      reply: {matches: "[a-"}
                """,
        },
    )
    assert diagnostic_at(
        p, "scenarios/s.yaml", 7, "title.matches is not a valid regular expression"
    ), listing(p)
    assert diagnostic_at(
        p, "scenarios/s.yaml", 8, "reply.matches is not a valid regular expression"
    ), listing(p)


def test_non_utf8_file(tmp_path: Path) -> None:
    p = load(tmp_path, {"assistants/a.yaml": b"kind: Assistant\nmodel: gpt-4o\nname: caf\xe9\n"})
    d = find(p, "assistants/a.yaml", 3, "is not valid UTF-8 (byte 0xe9")
    assert d.location.column == 10


def test_non_utf8_instructions_file(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "assistants/p.md": "안녕하세요".encode("euc-kr"),
            "assistants/a.yaml": "kind: Assistant\nmodel: gpt-4o\ninstructions_file: p.md\n",
        },
    )
    assert diagnostic_at(p, "assistants/p.md", 1, "instructions_file is not valid UTF-8"), listing(
        p
    )


def test_missing_and_unknown_kind(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "assistants/a.yaml": "kidn: Assistant\nmodel: gpt-4o\n",
            "assistants/b.yaml": "kind: Asistant\nmodel: gpt-4o\n",
        },
    )
    assert diagnostic_at(
        p,
        "assistants/a.yaml",
        1,
        "missing `kind`: expected kind: Assistant, Scenario or Cassette ('kidn' looks like a misspelt `kind`)",
    ), listing(p)
    assert diagnostic_at(
        p,
        "assistants/b.yaml",
        1,
        "unknown kind 'Asistant': expected one of Assistant, Scenario, Cassette; did you mean 'Assistant'?",
    ), listing(p)


def test_cassette_that_no_longer_fits_its_assistant(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            **BASE,
            "scenarios/s.cassette.yaml": """\
                kind: Cassette
                version: 1
                assistant: quiz
                turns:
                  - user: hi
                    steps:
                      - tool_calls:
                          - {type: function, name: show_quiz, arguments: {}}
                      - {reply: done, tool_calls: []}
                """,
        },
    )
    assert diagnostic_at(
        p,
        "scenarios/s.cassette.yaml",
        8,
        "the cassette calls function 'show_quiz', which assistant 'quiz' no longer declares",
    ), listing(p)
    assert diagnostic_at(
        p, "scenarios/s.cassette.yaml", 9, "a step has either `tool_calls` or `reply`"
    ), listing(p)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "assistants/a.yaml": "kind: Assistant\nmodel: gpt-4o\ntemprature: 1\ntop_p: 3\ninstructions_file: nope.md\n",
            "assistants/b.yaml": "kind: Assistant\nmodel: [\n",
            "scenarios/s.yaml": "kind: Scenario\nassistant: nobody\nturns: []\n",
        },
    )
    assert [d.location.path.name for d in p.diagnostics if d.severity == "error"] == [
        "a.yaml",
        "a.yaml",
        "a.yaml",
        "b.yaml",
        "s.yaml",
        "s.yaml",
    ], errors(p)


def test_recursive_alias_and_non_mapping_files(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "assistants/a.yaml": "kind: Assistant\nmodel: gpt-4o\nmetadata: &m\n  self: *m\n",
            "assistants/b.yaml": "- kind: Assistant\n",
        },
    )
    assert diagnostic_at(p, "assistants/a.yaml", 3, "contains itself through a YAML alias"), (
        listing(p)
    )
    assert diagnostic_at(p, "assistants/b.yaml", 1, "expected a mapping with `kind: Assistant`"), (
        listing(p)
    )


def test_unknown_top_level_field_points_at_extension_fields(tmp_path: Path) -> None:
    p = load(tmp_path, {"assistants/a.yaml": "kind: Assistant\nmodel: gpt-4o\ncommon: {}\n"})
    d = find(
        p, "assistants/a.yaml", 3, "unknown field 'common' in Assistant; expected one of: kind, key"
    )
    assert "name it x-..." in d.message


# -- hostile files: each a diagnostic, never a hang, a crash or a traceback -------------


def _alias_bomb(levels: int) -> str:
    # Each anchor repeats the previous one nine times: 9**levels values from ~40 bytes a line.
    lines = ["kind: Assistant", "model: gpt-4o", 'a0: &a0 ["lol","lol","lol","lol","lol"]']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]")
    lines.append(f"metadata: {{x: *a{levels}}}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("levels", [6, 9])
def test_a_yaml_alias_bomb_is_refused_before_it_expands(tmp_path: Path, levels: int) -> None:
    bomb = _alias_bomb(levels)
    assert len(bomb) < 600
    tracemalloc.start()
    try:
        p = load(tmp_path, {"assistants/bomb.yaml": bomb})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert diagnostic_at(
        p, "assistants/bomb.yaml", 1, "expands to more than 200000 values through YAML aliases"
    ), listing(p)
    assert peak < 20 * 2**20, f"peak {peak} bytes: the aliases were expanded"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("a.yaml", "kind: Assistant\nmodel: gpt-4o\nmetadata:\n  x: " + "[" * 1000 + "]" * 1000),
        ("b.yaml", "kind: Assistant\nmodel: gpt-4o\nmetadata:\n  x: " + "[" * 100 + "]" * 100),
        (
            "c.yaml",
            "kind: Assistant\nmodel: gpt-4o\nmetadata:\n"
            + "".join(f"{'  ' * (i + 1)}k{i}:\n" for i in range(1000))
            + "  " * 1001
            + "v\n",
        ),
    ],
    ids=["flow 1000", "flow 100", "block 1000"],
)
def test_deeply_nested_yaml_is_a_diagnostic(tmp_path: Path, name: str, text: str) -> None:
    p = load(tmp_path, {f"assistants/{name}": text})
    (message,) = errors(p)
    assert f"assistants/{name}" in message and "nest" in message and "64 levels" in message


def test_deeply_nested_json_function_is_a_diagnostic(tmp_path: Path) -> None:
    deep = '{"name": "f", "parameters": ' + '{"a": ' * 100_000 + "1" + "}" * 100_001
    p = load(
        tmp_path,
        {
            "assistants/a.yaml": "kind: Assistant\nmodel: gpt-4o\ntools:\n  - function: f.json\n",
            "assistants/f.json": deep,
        },
    )
    assert any("assistants/f.json" in e and "nest" in e for e in errors(p)), errors(p)


def test_a_file_name_that_is_not_utf8_is_a_diagnostic(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "assistants/a.yaml": (
                "kind: Assistant\nkey: a\nmodel: gpt-4o\ntools: [code_interpreter]\n"
                "files:\n  code_interpreter: [data/*]\n"
            ),
            "assistants/data/ok.txt": "fine",
        },
    )
    assert errors(p) == []
    (tmp_path / os.fsdecode(b"assistants/data/\xff.txt")).write_bytes(b"x")
    (tmp_path / os.fsdecode(b"assistants/\xfe.yaml")).write_text("kind: Assistant\nmodel: x\n")
    p = load_project(tmp_path, environ={})
    found = errors(p)
    assert any("'assistants/data/\\xff.txt' is not valid UTF-8" in e for e in found), found
    assert any("'assistants/\\xfe.yaml' is not valid UTF-8" in e for e in found), found
    assert [a.key for a in p.assistants] == ["a"]
    # Every diagnostic can be printed and hashed as UTF-8 (plan hashes names).
    for e in found:
        e.encode("utf-8")


def test_file_names_an_upload_would_change_are_refused(tmp_path: Path) -> None:
    # Multipart upload names escape or drop these, so the server's name never matched
    # and every apply uploaded the file again.
    p = load(
        tmp_path,
        {
            "assistants/a.yaml": (
                "kind: Assistant\nkey: a\nmodel: gpt-4o\ntools: [code_interpreter]\n"
                "files:\n  code_interpreter: [data/*]\n"
            ),
            "assistants/data/ok name (1).txt": "fine",
            'assistants/data/say "hi".txt': "x",
            "assistants/data/back\\slash.txt": "x",
            "assistants/data/two\nlines.txt": "x",
        },
    )
    found = errors(p)
    assert len(found) == 3, found
    assert any("""'say "hi".txt' contains '"'""" in e for e in found), found
    assert any("'back\\\\slash.txt' contains '\\\\'" in e for e in found), found
    assert any("'two\\nlines.txt' contains '\\n'" in e for e in found), found
    assert all("rename the file" in e for e in found)


def test_a_symlinked_definition_outside_the_project_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "evil.yaml"
    outside.parent.mkdir()
    outside.write_text("kind: Assistant\nkey: evil\nmodel: gpt-4o\n")
    root = tmp_path / "project"
    write_project(root, {"assistants/a.yaml": "kind: Assistant\nkey: a\nmodel: gpt-4o\n"})
    (root / "assistants" / "evil.yaml").symlink_to(outside)
    p = load_project(root, environ={})
    assert diagnostic_at(p, "assistants/evil.yaml", 1, "leads outside the project root"), listing(p)
    assert "evil" not in [a.key for a in p.assistants]
