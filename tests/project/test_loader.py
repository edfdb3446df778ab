"""The loader: typed specs from the shipped examples, ${VAR} and .env, project defaults and
settings, path selection, and a canonical form whose hash depends on content only."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
from pathlib import Path

import pytest

from orchestrator.ownership import RESERVED_METADATA_KEYS
from orchestrator.project import find_project_root, load_project
from orchestrator.reconcile.desired import desired_state
from tests.support import ROOT
from tests.support.project_files import diagnostic_at, errors, listing, load, write_project


def test_examples_load_as_typed_specs() -> None:
    project = load_project(ROOT)
    assert project.diagnostics == [], [d.format(ROOT) for d in project.diagnostics]
    by_key = {a.key: a for a in project.assistants}
    assert {"math-tutor", "math-tutor-code", "quiz-generator"} <= set(by_key)

    tutor = by_key["math-tutor"]
    assert tutor.model == "gpt-4o"
    assert tutor.instructions == "너는 개인 수학 교사야. 질문에 한 문장 이하로 짧게 답해줘"
    assert tutor.tools == [] and tutor.vector_store is None
    assert tutor.source.path == ROOT / "assistants" / "math-tutor.yaml"

    code = by_key["math-tutor-code"]
    assert [t.type for t in code.tools] == ["code_interpreter"]
    (data,) = code.code_interpreter_files
    assert data.rel == "assistants/data/quiz-scores.csv"
    assert data.content == (ROOT / data.rel).read_bytes()
    assert data.sha256 == hashlib.sha256(data.content).hexdigest()

    quiz = by_key["quiz-generator"]
    assert quiz.instructions == (ROOT / "assistants/prompts/quiz-generator.md").read_text("utf-8")
    assert [t.to_api()["type"] for t in quiz.tools] == ["file_search", "function"]
    assert quiz.tools[0].to_api() == {"type": "file_search", "file_search": {"max_num_results": 5}}
    fn = quiz.functions()["display_quiz"]
    item = fn.parameters["properties"]["questions"]["items"]
    assert item["properties"]["question_type"]["enum"] == ["MULTIPLE_CHOICE", "FREE_RESPONSE"]
    assert item["required"] == ["question_text"]
    assert quiz.vector_store is not None and quiz.vector_store.key == "course-notes"
    assert [f.filename for f in quiz.vector_store.files] == [
        "algebra-notes-ko.md",
        "geometry-notes.md",
    ]

    scenarios = {s.name: s for s in project.scenarios}
    assert {
        "math tutor conversation",
        "quiz feedback loop",
        "file search answers with a citation",
        "code interpreter solves an equation",
    } <= set(scenarios)
    feedback = scenarios["quiz feedback loop"]
    assert feedback.assistant == "quiz-generator"
    assert feedback.handlers == [ROOT / "scenarios" / "handlers" / "quiz.py"]
    (turn,) = feedback.turns
    assert turn.expect["tool_calls"]["calls"][0]["display_quiz"]["title"] == {"matches": ".+"}
    conversation = scenarios["math tutor conversation"]
    assert len(conversation.turns) == 3 and "고마워" in conversation.turns[-1].user
    assert conversation.turns[0].source.line == 10


def test_example_handler_answers_display_quiz() -> None:
    # The handler module registers `display_quiz` with the runner's registry on import.
    from orchestrator.scenarios.handlers import find_handler, load_handler_module

    module = ROOT / "scenarios" / "handlers" / "quiz.py"
    load_handler_module(module)
    found = find_handler("display_quiz", [module])
    assert found is not None and found.source == module
    answers = found.fn(
        title="Pythagoras",
        questions=[
            {"question_text": "a?", "question_type": "FREE_RESPONSE"},
            {"question_text": "b?", "question_type": "MULTIPLE_CHOICE", "choices": ["x", "y"]},
        ],
    )
    assert answers == ["I don't know.", "a"]


def test_find_project_root(tmp_path: Path) -> None:
    deep = tmp_path / "repo" / "sub" / "deeper"
    deep.mkdir(parents=True)
    assert find_project_root(deep) == deep.resolve()  # nothing above: the start folder
    (tmp_path / "repo" / ".git").mkdir()
    assert find_project_root(deep) == (tmp_path / "repo").resolve()
    (tmp_path / "repo" / "sub" / "orchestrator.yaml").write_text("namespace: dev\n")
    assert find_project_root(deep) == (tmp_path / "repo" / "sub").resolve()


def test_variables_from_environment_and_dotenv(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            ".env": "TEAM=from-dotenv\nMODEL=gpt-4o-mini\nTEMP=0.7\n",
            "assistants/a.yaml": """\
                kind: Assistant
                model: ${MODEL}
                name: ${TEAM} tutor
                description: "costs $${PRICE} and ${MISSING:-nothing}"
                temperature: ${TEMP}
                top_p: ${TOP_P:-0.5}
                metadata:
                  quoted: "${TEMP}"
                """,
        },
        env={"TEAM": "from-env"},
    )
    assert p.ok, errors(p)
    (a,) = p.assistants
    assert a.name == "from-env tutor"  # the real environment wins over .env
    assert a.model == "gpt-4o-mini"
    assert a.description == "costs ${PRICE} and nothing"
    assert (a.temperature, a.top_p) == (0.7, 0.5)  # unquoted references are typed like YAML
    assert a.metadata == {"quoted": "0.7"}  # quoted ones stay strings


def test_dotenv_never_changes_the_process_environment(tmp_path: Path) -> None:
    name = "ORCHESTRATOR_TEST_ONLY_IN_DOTENV"
    assert name not in os.environ
    p = load(
        tmp_path,
        {".env": f"{name}=x\n", "assistants/a.yaml": f"kind: Assistant\nmodel: ${{{name}}}\n"},
    )
    assert p.assistants[0].model == "x"
    assert name not in os.environ


def test_a_typed_variable_with_a_bad_value_is_a_schema_error(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {"assistants/a.yaml": "kind: Assistant\nmodel: m\ntemperature: ${T}\n"},
        env={"T": "hot"},
    )
    assert diagnostic_at(
        p, "assistants/a.yaml", 3, "temperature must be a number, got a string ('hot')"
    ), listing(p)


def test_project_file_settings(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "orchestrator.yaml": """\
                # yaml-language-server: $schema=schemas/project.schema.json
                kind: Project
                namespace: staging
                target:
                  base_url: ${ORCH_URL:-}
                  api_key: ${ORCH_KEY}
                paths:
                  assistants: defs
                  scenarios: [tests/scenarios]
                defaults:
                  model: gpt-4o
                  metadata: {team: edu, owner: me}
                server:
                  model_provider: chat
                  upstream_base_url: http://127.0.0.1:9/v1
                  model_map: {gpt-4o: llama3}
                """,
            "defs/a.yaml": "kind: Assistant\nmetadata: {owner: you}\n",
            "tests/scenarios/s.yaml": "kind: Scenario\nassistant: a\nturns: [{user: hi}]\n",
            "assistants/ignored.yaml": "kind: Assistant\nmodel: [broken\n",
        },
        env={"ORCH_KEY": "sk-secret"},
    )
    assert p.ok, errors(p)
    cfg = p.config
    assert cfg.namespace == "staging"
    assert cfg.base_url is None  # empty: the embedded server
    assert cfg.api_key == "sk-secret"
    assert (cfg.assistants_paths, cfg.scenarios_paths) == (["defs"], ["tests/scenarios"])
    assert cfg.server.model_provider == "chat" and cfg.server.model_map == {"gpt-4o": "llama3"}
    assert cfg.source is not None and cfg.source.path == tmp_path.resolve() / "orchestrator.yaml"
    (a,) = p.assistants
    assert a.model == "gpt-4o"
    assert a.metadata == {"owner": "you", "team": "edu"}  # merged; the assistant's keys win
    assert [s.name for s in p.scenarios] == ["s"]


def test_secrets_never_appear_in_diagnostics(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {"orchestrator.yaml": "target:\n  api_key: ${KEY}\n  base_url: 42\n"},
        env={"KEY": "sk-very-secret"},
    )
    assert not p.ok
    assert all("sk-very-secret" not in d.message for d in p.diagnostics)


def test_paths_select_definitions_and_what_they_use(tmp_path: Path) -> None:
    files = {
        "assistants/tutor.yaml": "kind: Assistant\nmodel: gpt-4o\n",
        "assistants/other.yaml": "kind: Assistant\nmodel: gpt-4o\n",
        "assistants/broken.yaml": "kind: Assistant\nmodel: gpt-4o\ntemprature: 1\n",
        "scenarios/s.yaml": "kind: Scenario\nassistant: tutor\nturns: [{user: hi}]\n",
        "scenarios/t.yaml": "kind: Scenario\nassistant: other\nturns: [{user: hi}]\n",
    }
    root = write_project(tmp_path, files)
    everything = load_project(root, environ={})
    assert not everything.ok
    assert len(everything.assistants) == 3 and len(everything.scenarios) == 2

    selected = load_project(root, [root / "scenarios/s.yaml"], environ={})
    assert selected.ok, errors(selected)  # the broken, unrelated assistant is not reported
    assert [s.name for s in selected.scenarios] == ["s"]
    assert [a.key for a in selected.assistants] == ["tutor"]

    one = load_project(root, [root / "assistants/broken.yaml"], environ={})
    assert diagnostic_at(one, "assistants/broken.yaml", 3, "unknown field 'temprature'"), listing(
        one
    )
    assert [a.key for a in one.assistants] == ["broken"] and one.scenarios == []

    folder = load_project(root, [root / "scenarios"], environ={})
    assert folder.ok and {a.key for a in folder.assistants} == {"tutor", "other"}

    missing = load_project(root, [root / "nope.yaml"], environ={})
    assert [d.message for d in missing.diagnostics] == ["no such file or folder"]


def test_a_selected_scenario_still_sees_duplicate_keys_of_its_assistant(tmp_path: Path) -> None:
    root = write_project(
        tmp_path,
        {
            "assistants/tutor.yaml": "kind: Assistant\nmodel: gpt-4o\n",
            "assistants/copy.yaml": "kind: Assistant\nkey: tutor\nmodel: gpt-4o\n",
            "scenarios/s.yaml": "kind: Scenario\nassistant: tutor\nturns: [{user: hi}]\n",
        },
    )
    p = load_project(root, [root / "scenarios/s.yaml"], environ={})
    assert any("assistant key 'tutor' is also used" in d.message for d in p.diagnostics)


def test_yaml_data_files_used_by_an_assistant_need_no_kind(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "assistants/a.yaml": "kind: Assistant\nmodel: gpt-4o\ntools: [code_interpreter]\nfiles:\n  code_interpreter: [data/*.yaml]\n",
            "assistants/data/table.yaml": "rows: [1, 2, 3]\n",
        },
    )
    assert p.ok, errors(p)


def test_expectations_are_normalised_for_the_runner(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "assistants/a.yaml": "kind: Assistant\nmodel: gpt-4o\ntools:\n  - function: {name: f}\n  - function: {name: g}\n",
            "scenarios/s.yaml": """\
                kind: Scenario
                assistant: a
                turns:
                  - user: one
                    expect:
                      tool_calls: [f, {g: {x: 1}}, {f: null}]
                      reply: hello
                  - user: two
                    expect:
                      tool_calls: {calls: [f], order: exact, not: [g], count: {f: 1}}
                """,
        },
    )
    assert p.ok, errors(p)
    first, second = (t.expect for t in p.scenarios[0].turns)
    assert first == {
        "tool_calls": {"calls": [{"f": {}}, {"g": {"x": 1}}, {"f": {}}]},
        "reply": {"contains": "hello"},
    }
    assert second["tool_calls"] == {
        "calls": [{"f": {}}],
        "order": "exact",
        "not": [{"g": {}}],
        "count": {"f": 1},
    }


def test_attachments_are_read_once(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "assistants/a.yaml": "kind: Assistant\nmodel: gpt-4o\ntools: [code_interpreter, file_search]\n",
            "scenarios/data.csv": "x,y\n1,2\n",
            "scenarios/s.yaml": """\
                kind: Scenario
                assistant: a
                turns:
                  - user: look
                    attachments:
                      - data.csv
                      - {path: data.csv, tools: [file_search]}
                """,
        },
    )
    assert p.ok, errors(p)
    a, b = p.scenarios[0].turns[0].attachments
    assert a.file is b.file and a.file.content == b"x,y\n1,2\n"
    assert (a.tools, b.tools) == (["code_interpreter"], ["file_search"])


# --- canonical form -------------------------------------------------------------------

TUTOR = {
    "assistants/tutor.yaml": """\
        kind: Assistant
        key: tutor
        model: gpt-4o
        temperature: 1
        instructions_file: prompts/tutor.md
        tools:
          - file_search
          - function: functions/f.json
        files:
          file_search: [docs/*.md]
        metadata: {b: "2", a: "1"}
        """,
    "assistants/prompts/tutor.md": "Answer briefly.\n",
    "assistants/functions/f.json": '{"name": "f", "parameters": {"type": "object", "properties": {"x": {"type": "string"}}}}',
    "assistants/docs/notes.md": "Notes.\n",
}


def _sha(root: Path, files: dict[str, str | bytes]) -> tuple[str, str]:
    """The spec hashes apply writes on the assistant and on its vector store."""
    p = load(root, files)
    assert p.ok, errors(p)
    desired = desired_state(p, "default")
    (a,) = desired.assistants.values()
    (vs,) = desired.vector_stores.values()
    return a.sha256, vs.sha256


def test_hash_depends_on_content_not_location(tmp_path: Path) -> None:
    first = _sha(tmp_path / "one", TUTOR)
    assert _sha(tmp_path / "two" / "elsewhere", TUTOR) == first
    # Equivalent spellings hash the same.
    same = dict(TUTOR)
    same["assistants/tutor.yaml"] = (
        TUTOR["assistants/tutor.yaml"]
        .replace("temperature: 1", "temperature: 1.0")
        .replace("  - file_search\n", "  - file_search: {}\n")
        .replace('{b: "2", a: "1"}', '{a: "1", b: "2"}')
    )
    same["assistants/functions/f.json"] = (
        '{"parameters": {"properties": {"x": {"type": "string"}}, "type": "object"}, "name": "f"}'
    )
    same["assistants/prompts/tutor.md"] = b"Answer briefly.\r\n"  # a Windows checkout
    assert _sha(tmp_path / "three", same) == first
    # A data file moved to another folder, with the same bytes: files count by content.
    moved = {k: v for k, v in TUTOR.items() if k != "assistants/docs/notes.md"}
    moved["assistants/docs/2024/renamed.md"] = "Notes.\n"
    moved["assistants/tutor.yaml"] = TUTOR["assistants/tutor.yaml"].replace(
        "docs/*.md", "docs/**/*.md"
    )
    assert _sha(tmp_path / "four", moved) == first


@pytest.mark.parametrize(
    ("file", "old", "new"),
    [
        ("assistants/prompts/tutor.md", "Answer briefly.", "Answer at length."),
        ("assistants/docs/notes.md", "Notes.", "Other notes."),
        ("assistants/functions/f.json", '"type": "string"', '"type": "integer"'),
        ("assistants/tutor.yaml", "model: gpt-4o", "model: gpt-4o-mini"),
        ("assistants/tutor.yaml", 'a: "1"', 'a: "one"'),
    ],
)
def test_hash_changes_with_content(tmp_path: Path, file: str, old: str, new: str) -> None:
    before = _sha(tmp_path / "before", TUTOR)
    changed = dict(TUTOR)
    assert old in str(changed[file])
    changed[file] = str(changed[file]).replace(old, new)
    assert _sha(tmp_path / "after", changed) != before


def test_desired_form_is_plain_json_of_the_api_fields(tmp_path: Path) -> None:
    p = load(tmp_path, TUTOR)
    desired = desired_state(p, "default")
    tutor = desired.assistants["tutor"]
    assert tutor.fields["tools"][1] == {
        "type": "function",
        "function": {
            "name": "f",
            "parameters": {"type": "object", "properties": {"x": {"type": "string"}}},
        },
    }
    assert tutor.vector_store == "tutor"
    assert tutor.user_metadata == {"a": "1", "b": "2"}
    assert not set(tutor.user_metadata) & set(RESERVED_METADATA_KEYS)


def test_loading_never_touches_the_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(ROOT / "assistants", tmp_path / "assistants")
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    (tmp_path / ".git").mkdir()

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("validation opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    p = load_project(tmp_path, environ={})
    assert p.ok, errors(p)
    assert len(p.assistants) >= 3 and len(p.scenarios) >= 4


def test_anchors_merge_keys_and_extension_fields(tmp_path: Path) -> None:
    p = load(
        tmp_path,
        {
            "assistants/a.yaml": """\
                kind: Assistant
                model: gpt-4o
                x-team: &team {team: edu, owner: math}
                metadata:
                  <<: *team
                  owner: algebra
                """
        },
    )
    assert p.ok, errors(p)
    assert p.assistants[0].metadata == {"team": "edu", "owner": "algebra"}


def _value_paths(
    data: object, path: tuple[object, ...] = (), depth: int = 3
) -> list[tuple[object, ...]]:
    out = [path]
    if depth and isinstance(data, dict):
        for k, v in data.items():
            out += _value_paths(v, (*path, k), depth - 1)
    elif depth and isinstance(data, list):
        for i, v in enumerate(data):
            out += _value_paths(v, (*path, i), depth - 1)
    return out


def test_malformed_values_are_diagnostics_never_exceptions(tmp_path: Path) -> None:
    """Every value of every example, replaced by junk of another type: always a clean result."""
    import copy
    import json

    import yaml

    shutil.copytree(ROOT / "assistants", tmp_path / "assistants")
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    (tmp_path / ".git").mkdir()
    files = [
        tmp_path / "assistants/functions/display_quiz.json",
        *sorted(tmp_path.glob("assistants/*.yaml")),
        *sorted(tmp_path.glob("scenarios/*.yaml")),
    ]
    runs = 0
    for file in files:
        original = file.read_text("utf-8")
        data = yaml.safe_load(original)
        for n, path in enumerate(_value_paths(data, depth=2)):
            # One kind of junk per place, rotating, keeps this quick; all kinds appear.
            for junk in [(7, "\0", [{"b": 1}], None)[(n + len(original)) % 4]]:
                mutated: object = copy.deepcopy(data)
                if path:
                    parent: object = mutated
                    for key in path[:-1]:
                        parent = parent[key]  # type: ignore[index]
                    parent[path[-1]] = junk  # type: ignore[index]
                else:
                    mutated = junk
                text = json.dumps(mutated) if file.suffix == ".json" else yaml.safe_dump(mutated)
                file.write_text(text, encoding="utf-8")
                project = load_project(tmp_path, environ={})
                assert all(d.message for d in project.diagnostics)
                runs += 1
        file.write_text(original, encoding="utf-8")
    assert runs > 60
