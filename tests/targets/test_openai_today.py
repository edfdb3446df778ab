"""The `today` fixture: OpenAI as it is now (Assistants API retired), in front of our server."""

from __future__ import annotations

import openai
import pytest

from tests.support import API_KEY
from tests.support.proxy import openai_today


def _client(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key=API_KEY, max_retries=0)


def test_the_assistants_api_is_gone_and_the_rest_goes_through(server) -> None:
    proxy = openai_today(server.base_url)
    try:
        client = _client(proxy.base_url)
        with pytest.raises(openai.NotFoundError) as err:
            client.beta.assistants.list()
        assert err.value.body["message"] == "Invalid URL (GET /v1/assistants)"
        with pytest.raises(openai.NotFoundError):
            client.beta.threads.create()
        store = client.vector_stores.create(name="today")
        agent = client.beta.agents.create(model="gpt-5", name="today")
        assert client.beta.agents.retrieve(agent.id).name == "today"
        assert client.vector_stores.retrieve(store.id).name == "today"
        assert proxy.retired_calls() == [("GET", "/v1/assistants"), ("POST", "/v1/threads")]
        client.beta.agents.delete(agent.id)
        client.vector_stores.delete(store.id)
    finally:
        proxy.stop()
