"""/v1/agents (Managed Agents beta) through the real openai SDK's ``client.beta.agents``.

Every body is checked strictly against the SDK's own ``Agent`` types (the ``client``
fixture's checker), since OpenAI's pinned spec has no agents.
"""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.support import API_KEY

QUIZ_FN = {
    "type": "function",
    "name": "grade_answer",
    "description": "Grade the student's answer.",
    "parameters": {"type": "object", "properties": {"answer": {"type": "string"}}},
}


def test_agent_crud_round_trip_with_resolved_defaults(client: openai.OpenAI) -> None:
    created = client.beta.agents.create(
        model="gpt-5",
        name="Quiz master",
        instructions="Ask one question at a time.",
        tools=[QUIZ_FN, {"type": "web_search"}],
        metadata={"team": "edu"},
    )
    assert created.id.startswith("agent_") and created.object == "agent"
    assert created.created_at == created.updated_at
    fn, web = created.tools
    assert fn.type == "function" and fn.name == "grade_answer" and fn.defer_loading is False
    assert web.type == "web_search" and web.mode == "live" and web.context_size == "medium"
    assert created.reasoning.effort is None and created.text.verbosity == "medium"
    assert created.text.format.type == "text" and created.service_tier == "auto"
    assert created.multi_agent.enabled is False and created.metadata == {"team": "edu"}

    assert client.beta.agents.retrieve(created.id) == created

    deleted = client.beta.agents.delete(created.id)
    assert deleted.deleted and deleted.id == created.id and deleted.object == "agent.deleted"
    with pytest.raises(openai.NotFoundError) as err:
        client.beta.agents.retrieve(created.id)
    assert err.value.body["message"] == f"No agent found with id '{created.id}'."


def test_update_is_partial_and_replaces_tools_and_metadata_whole(client: openai.OpenAI) -> None:
    agent = client.beta.agents.create(
        model="gpt-5",
        name="Partial",
        instructions="Keep me.",
        tools=[QUIZ_FN, {"type": "tool_search"}],
        metadata={"a": "1", "b": "2"},
        reasoning={"effort": "low"},
    )
    updated = client.beta.agents.update(
        agent.id, metadata={"c": "3"}, tools=[{"type": "web_search", "mode": "cached"}]
    )
    # Omitted fields are unchanged; tools and metadata are replaced, not merged.
    assert updated.name == "Partial" and updated.instructions == "Keep me."
    assert updated.reasoning.effort == "low" and updated.model == "gpt-5"
    assert updated.metadata == {"c": "3"}
    assert [t.type for t in updated.tools] == ["web_search"] and updated.tools[0].mode == "cached"

    # null clears or resets: name to unnamed, reasoning to the model's default, tools to [].
    cleared = client.beta.agents.update(agent.id, name=None, reasoning=None, tools=None)
    assert cleared.name is None and cleared.reasoning.effort is None and cleared.tools == []
    assert cleared.instructions == "Keep me." and cleared.metadata == {"c": "3"}
    assert client.beta.agents.retrieve(agent.id) == cleared
    client.beta.agents.delete(agent.id)


def test_list_pages_with_after_limit_order(client: openai.OpenAI) -> None:
    ids = [client.beta.agents.create(model="gpt-5", name=f"page-{i}").id for i in range(5)]
    page = client.beta.agents.list(limit=2, order="asc", after=ids[0])
    assert [a.id for a in page.data] == ids[1:3] and page.has_more
    walked = [a.id for a in client.beta.agents.list(limit=2, order="asc", after=ids[0])]
    assert walked[:4] == ids[1:5]
    newest_first = [a.id for a in client.beta.agents.list(limit=100)]
    assert newest_first.index(ids[4]) < newest_first.index(ids[0])
    for i in ids:
        client.beta.agents.delete(i)


def test_agents_cannot_hold_file_search_or_code_interpreter(client: openai.OpenAI) -> None:
    for kind in ("file_search", "code_interpreter"):
        with pytest.raises(openai.BadRequestError) as err:
            client.beta.agents.create(model="gpt-5", tools=[{"type": kind}])  # type: ignore[list-item]
        assert err.value.body["param"] == "tools[0].type"
        assert kind in err.value.message and "web_search" in err.value.message


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"tools": [{"type": "function", "name": "f", "parameters": {}}]}, "tools[0].description"),
        ({"tools": [{"type": "mcp", "server_label": "x"}]}, "tools[0].transport"),
        ({"tools": [QUIZ_FN, QUIZ_FN]}, "tools[1]"),
        ({"metadata": {str(i): "v" for i in range(17)}}, "metadata"),
        ({"reasoning": {"effort": "enormous"}}, "reasoning.effort"),
        ({"extra_body": {"colour": "blue"}}, "colour"),
    ],
)
def test_invalid_requests_name_the_parameter(
    client: openai.OpenAI, kwargs: dict, param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        client.beta.agents.create(model="gpt-5", **kwargs)
    assert err.value.body["param"] == param


def test_model_is_required(server) -> None:
    r = httpx.post(
        f"{server.base_url}/agents",
        json={"name": "no model"},
        headers={"authorization": f"Bearer {API_KEY}", "openai-beta": "agents=v1"},
    )
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "Missing required parameter: 'model'."


def test_the_beta_header_is_required(server) -> None:
    auth = {"authorization": f"Bearer {API_KEY}"}
    r = httpx.get(f"{server.base_url}/agents", headers=auth)
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "invalid_beta" and "OpenAI-Beta: agents=v1" in error["message"]
    ok = httpx.get(
        f"{server.base_url}/agents", headers={**auth, "openai-beta": "assistants=v2, agents=v1"}
    )
    assert ok.status_code == 200 and ok.json()["object"] == "list"


def test_agents_survive_a_restart(server_factory) -> None:
    server = server_factory()
    made = server.client().beta.agents.create(model="gpt-5", name="durable", tools=[QUIZ_FN])
    server.restart()
    assert server.client().beta.agents.retrieve(made.id) == made
