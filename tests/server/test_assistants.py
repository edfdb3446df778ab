"""Assistants endpoints through the real openai SDK."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.support import API_KEY


def test_assistant_crud_round_trip(client: openai.OpenAI) -> None:
    created = client.beta.assistants.create(
        name="Math Tutor",
        instructions="너는 개인 수학 교사야. 질문에 한 문장 이하로 짧게 답해줘",
        model="gpt-4o",
        tools=[{"type": "code_interpreter"}],
        metadata={"team": "edu"},
        temperature=0.2,
    )
    assert created.id.startswith("asst_")
    assert created.tools[0].type == "code_interpreter"
    got = client.beta.assistants.retrieve(created.id)
    assert got == created
    updated = client.beta.assistants.update(created.id, instructions="Short answers.", top_p=0.5)
    assert updated.instructions == "Short answers."
    assert updated.top_p == 0.5
    assert updated.name == "Math Tutor"
    deleted = client.beta.assistants.delete(created.id)
    assert deleted.deleted and deleted.id == created.id
    with pytest.raises(openai.NotFoundError) as err:
        client.beta.assistants.retrieve(created.id)
    assert created.id in err.value.message


def test_list_pagination_follows_cursors(client: openai.OpenAI) -> None:
    ids = [
        client.beta.assistants.create(
            model="gpt-4o", name=f"page-{i}", metadata={"suite": "pagination"}
        ).id
        for i in range(7)
    ]
    page = client.beta.assistants.list(limit=3, order="asc", after=ids[0])
    assert [a.id for a in page.data] == ids[1:4]
    assert page.has_more
    seen = [a.id for a in client.beta.assistants.list(limit=2, order="asc", after=ids[0])]
    assert seen[:6] == ids[1:7]
    desc = client.beta.assistants.list(limit=2, before=ids[3], order="desc")
    assert [a.id for a in desc.data] == [ids[5], ids[4]]
    for i in ids:
        client.beta.assistants.delete(i)


def test_invalid_requests_name_the_parameter(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        client.beta.assistants.create(model="gpt-4o", temperature=7)
    assert err.value.body["param"] == "temperature"
    with pytest.raises(openai.BadRequestError) as err:
        client.beta.assistants.create(model="gpt-4o", extra_body={"colour": "blue"})
    assert "colour" in err.value.message
    with pytest.raises(openai.BadRequestError) as err:
        client.beta.assistants.list(limit=101)
    assert err.value.body["param"] == "limit"


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("../../x/authorized_keys", "invalid_value"),
        ("two words", "invalid_value"),
        ("", "invalid_value"),
        ("f" * 65, "string_above_max_length"),
    ],
)
def test_function_names_outside_openais_pattern_are_refused(
    client: openai.OpenAI, name: str, code: str
) -> None:
    good = {"type": "function", "function": {"name": "ok_name-1"}}
    bad = {"type": "function", "function": {"name": name}}
    with pytest.raises(openai.BadRequestError) as err:
        client.beta.assistants.create(model="gpt-4o", tools=[good, bad])
    assert err.value.body["param"] == "tools[1].function.name"
    assert err.value.body["code"] == code
    assistant = client.beta.assistants.create(model="gpt-4o", tools=[good])
    thread = client.beta.threads.create()
    with pytest.raises(openai.BadRequestError) as err:
        client.beta.threads.runs.create(thread.id, assistant_id=assistant.id, tools=[bad])
    assert err.value.body["param"] == "tools[0].function.name"
    assert client.beta.threads.runs.list(thread.id).data == []


def test_wrong_key_is_401(server) -> None:
    bad = openai.OpenAI(base_url=server.base_url, api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as err:
        bad.beta.assistants.list()
    assert "sk-wrong" not in err.value.message


def test_a_non_ascii_bearer_token_is_401(server) -> None:
    r = httpx.get(
        f"{server.base_url}/assistants",
        headers={"authorization": "Bearer sk-kéy-ключ".encode()},
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b'{"model": "gpt-4o", "name": "\\ud800"}', "lone surrogate"),
        (
            b'{"model": "gpt-4o", "metadata": ' + b'{"a": ' * 100_000 + b"1" + b"}" * 100_001,
            "nests too deeply",
        ),
        (b'{"model": "gpt-4o", "temperature": NaN}', "NaN is not a JSON value"),
        (b'{"model": "gpt-4o", "temperature": Infinity}', "Infinity is not a JSON value"),
    ],
    ids=["lone surrogate", "100000 deep", "NaN", "Infinity"],
)
def test_bodies_that_are_not_json_text_are_400(server, body: bytes, needle: str) -> None:
    r = httpx.post(
        f"{server.base_url}/assistants",
        content=body,
        headers={"authorization": f"Bearer {API_KEY}", "content-type": "application/json"},
    )
    assert r.status_code == 400, r.text
    assert needle in r.json()["error"]["message"]


def test_missing_required_parameter_is_named(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        client.post("/assistants", body={"name": "no model"}, cast_to=object)
    assert err.value.body["param"] == "model"
    assert "'model'" in err.value.message
    with pytest.raises(openai.BadRequestError) as err:
        client.beta.assistants.create(model="gpt-4o", tools=[{"type": "function"}])
    assert err.value.body["param"].startswith("tools[0]")


@pytest.mark.parametrize("create", [True, False])
def test_a_v1_retrieval_tool_is_told_to_use_file_search(
    client: openai.OpenAI, create: bool
) -> None:
    # Seed 001's v1 code: tools=[{"type": "code_interpreter"}, {"type": "retrieval"}].
    tools: list = [{"type": "code_interpreter"}, {"type": "retrieval"}]
    with pytest.raises(openai.BadRequestError) as err:
        if create:
            client.beta.assistants.create(model="gpt-4o", tools=tools)
        else:
            assistant = client.beta.assistants.create(model="gpt-4o")
            client.beta.assistants.update(assistant.id, tools=tools)
    assert err.value.param == "tools[1].type"
    assert "'retrieval' is the Assistants v1 name" in err.value.message
    assert '{"type": "file_search"}' in err.value.message


def test_every_response_has_a_request_id(client: openai.OpenAI) -> None:
    first = client.beta.assistants.with_raw_response.create(model="gpt-4o")
    second = client.beta.assistants.with_raw_response.retrieve(first.parse().id)
    ids = [first.request_id, second.request_id, client.files.with_raw_response.list().request_id]
    assert all(i and i.startswith("req_") and len(i) == 36 for i in ids)
    assert len(set(ids)) == 3
    # Errors and streams carry one too (the SDK exposes it as _request_id).
    with pytest.raises(openai.NotFoundError) as err:
        client.beta.assistants.retrieve("asst_missing")
    assert err.value.request_id and err.value.request_id.startswith("req_")
    thread = client.beta.threads.create()
    assert thread._request_id and thread._request_id.startswith("req_")
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
    ) as streamed:
        assert streamed.request_id and streamed.request_id.startswith("req_")
        assert any(line.startswith("data: ") for line in streamed.iter_lines())
