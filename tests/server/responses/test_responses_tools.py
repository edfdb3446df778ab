"""Built-in tools behind the Responses API: file search with file_citation annotations,
and the code interpreter in containers (auto and explicit), over the real SDK."""

from __future__ import annotations

import io

import openai

# A 1x1 PNG written by the code, with no third-party library needed.
PNG_B64 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4"
    "nGNgYGBgAAAABQABh6FO1AAAAABJRU5ErkJggg=="
)


def _store_with(client: openai.OpenAI, name: str, text: str) -> str:
    vs = client.vector_stores.create(name=f"responses-{name}")
    client.vector_stores.files.upload_and_poll(
        vector_store_id=vs.id, file=(name, io.BytesIO(text.encode()))
    )
    return vs.id


def test_file_search_cites_files_and_includes_results(client: openai.OpenAI) -> None:
    vs_id = _store_with(
        client,
        "refunds.md",
        "Refund policy: customers may return unopened items within 30 days for a full refund.",
    )
    response = client.responses.create(
        model="local",
        input="What is the refund policy?",
        tools=[{"type": "file_search", "vector_store_ids": [vs_id], "max_num_results": 3}],
        include=["file_search_call.results"],
    )
    assert response.status == "completed"
    search, message = response.output
    assert search.type == "file_search_call" and search.status == "completed"
    assert search.queries == ["What is the refund policy?"]
    assert search.results and search.results[0].filename == "refunds.md"
    assert "30 days" in search.results[0].text
    citations = message.content[0].annotations
    assert citations and citations[0].type == "file_citation"
    assert citations[0].file_id == search.results[0].file_id
    assert citations[0].filename == "refunds.md"
    assert 0 < citations[0].index <= len(message.content[0].text)

    # Without include, results are left out of the item (as OpenAI does).
    plain = client.responses.retrieve(response.id)
    assert plain.output[0].results is None
    asked = client.responses.retrieve(response.id, include=["file_search_call.results"])
    assert asked.output[0].results[0].file_id == search.results[0].file_id


def test_file_search_streams_its_events(client: openai.OpenAI) -> None:
    vs_id = _store_with(client, "hours.md", "Opening hours: the shop opens at 9 am on weekdays.")
    with client.responses.stream(
        model="local",
        input="When does the shop open?",
        tools=[{"type": "file_search", "vector_store_ids": [vs_id]}],
    ) as stream:
        types = [e.type for e in stream]
        final = stream.get_final_response()
    for name in (
        "response.file_search_call.in_progress",
        "response.file_search_call.searching",
        "response.file_search_call.completed",
        "response.output_text.annotation.added",
    ):
        assert name in types, name
    assert final.output[1].content[0].annotations[0].filename == "hours.md"


def test_code_interpreter_auto_container_with_csv_image_and_written_file(
    client: openai.OpenAI,
) -> None:
    csv = client.files.create(
        file=("scores.csv", b"name,score\nkim,90\nlee,85\n"), purpose="user_data"
    )
    code = (
        "import base64, csv\n"
        "rows = list(csv.DictReader(open('scores.csv')))\n"
        "print('mean', sum(int(r['score']) for r in rows) / len(rows))\n"
        f"open('dot.png', 'wb').write(base64.b64decode('{PNG_B64}'))\n"
        "open('summary.txt', 'w').write('done')\n"
    )
    tools = [{"type": "code_interpreter", "container": {"type": "auto", "file_ids": [csv.id]}}]
    response = client.responses.create(
        model="local",
        input=f"```python\n{code}```",
        tools=tools,
        include=["code_interpreter_call.outputs"],
    )
    assert response.status == "completed", response.error
    call, message = response.output
    assert call.type == "code_interpreter_call" and call.status == "completed"
    assert "csv.DictReader" in call.code
    logs = [o for o in call.outputs if o.type == "logs"]
    images = [o for o in call.outputs if o.type == "image"]
    assert logs and "mean 87.5" in logs[0].logs
    assert len(images) == 1 and call.container_id in images[0].url

    container = client.containers.retrieve(call.container_id)
    assert container.status == "running"
    files = {f.path: f for f in client.containers.files.list(call.container_id)}
    assert set(files) == {"/mnt/data/scores.csv", "/mnt/data/dot.png", "/mnt/data/summary.txt"}
    assert files["/mnt/data/dot.png"].source == "assistant"
    png = client.containers.files.content.retrieve(
        files["/mnt/data/dot.png"].id, container_id=call.container_id
    )
    assert png.read().startswith(b"\x89PNG")

    cited = {a.filename: a for a in message.content[0].annotations}
    assert cited["summary.txt"].type == "container_file_citation"
    assert cited["summary.txt"].container_id == call.container_id
    assert cited["summary.txt"].file_id == files["/mnt/data/summary.txt"].id
    text = message.content[0].text
    span = text[cited["summary.txt"].start_index : cited["summary.txt"].end_index]
    assert span.endswith("/mnt/data/summary.txt")

    # The chain reuses its auto container: the file written before is still there.
    again = client.responses.create(
        model="local",
        previous_response_id=response.id,
        input="```python\nprint(open('summary.txt').read())\n```",
        tools=tools,
        include=["code_interpreter_call.outputs"],
    )
    second = again.output[0]
    assert second.container_id == call.container_id
    assert "done" in second.outputs[0].logs


def test_code_interpreter_in_a_named_container_streams_its_events(client: openai.OpenAI) -> None:
    container = client.containers.create(name="named")
    client.containers.files.create(container.id, file=("n.txt", io.BytesIO(b"7")))
    with client.responses.stream(
        model="local",
        input="```python\nprint(int(open('n.txt').read()) * 6)\n```",
        tools=[{"type": "code_interpreter", "container": container.id}],
    ) as stream:
        events = list(stream)
        final = stream.get_final_response()
    types = [e.type for e in events]
    for name in (
        "response.code_interpreter_call.in_progress",
        "response.code_interpreter_call_code.delta",
        "response.code_interpreter_call_code.done",
        "response.code_interpreter_call.interpreting",
        "response.code_interpreter_call.completed",
    ):
        assert name in types, name
    call = final.output[0]
    assert call.container_id == container.id
    assert "42" in final.output_text
