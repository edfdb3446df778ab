"""Files the code interpreter writes come back as ``file_path`` annotations.

The reply links each file the code wrote as ``sandbox:/mnt/data/<name>`` (as OpenAI's
models do); the message text carries a ``file_path`` annotation over each link with
the file's id, the message lists the file as an attachment, and ``files.content``
downloads it. Through polling and through the SDK's stream accumulators. (The chat
provider's side: tests/server/providers/test_chat.py.)
"""

from __future__ import annotations

import sys

import openai
import pytest
from openai import AssistantEventHandler

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox")

CSV = "name,score\nkim,90\nlee,85\n"
WRITE_TWO = (
    "```python\n"
    f"open('scores.csv', 'w').write({CSV!r})\n"
    "open('scores.csv.bak', 'w').write('old')\n"
    "print('saved')\n"
    "```"
)


def _code_assistant(client: openai.OpenAI) -> str:
    return client.beta.assistants.create(model="gpt-4o", tools=[{"type": "code_interpreter"}]).id


def _check_links(client: openai.OpenAI, message) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Every link in the reply is annotated with the file it names; name -> file id."""
    text = message.content[-1].text
    paths = [a for a in text.annotations if a.type == "file_path"]
    assert paths, text.value
    by_name = {}
    for a in paths:
        assert text.value[a.start_index : a.end_index] == a.text
        assert a.text.startswith("sandbox:/mnt/data/")
        by_name[a.text.removeprefix("sandbox:/mnt/data/")] = a.file_path.file_id
    # Every mention of a link got its own annotation, in the order of the text.
    mentions = text.value.count("sandbox:/mnt/data/")
    assert len(paths) == mentions
    assert [a.start_index for a in paths] == sorted(a.start_index for a in paths)
    attached = [(a.file_id, [t.type for t in a.tools]) for a in message.attachments]
    assert attached == [(fid, ["code_interpreter"]) for fid in dict.fromkeys(by_name.values())]
    return by_name


def test_a_written_file_is_linked_annotated_attached_and_downloadable(
    client: openai.OpenAI,
) -> None:
    assistant_id = _code_assistant(client)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": WRITE_TWO}])
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant_id, poll_interval_ms=50
    )
    assert run.status == "completed", run.last_error
    reply = client.beta.threads.messages.list(thread.id, run_id=run.id).data[0]
    assert "[scores.csv](sandbox:/mnt/data/scores.csv)" in reply.content[0].text.value
    files = _check_links(client, reply)
    # "scores.csv.bak" is its own file, not "scores.csv" followed by ".bak".
    assert set(files) == {"scores.csv", "scores.csv.bak"}
    assert files["scores.csv"] != files["scores.csv.bak"]
    assert client.files.content(files["scores.csv"]).read() == CSV.encode()
    assert client.files.content(files["scores.csv.bak"]).read() == b"old"
    stored = client.files.retrieve(files["scores.csv"])
    assert stored.filename == "scores.csv" and stored.purpose == "assistants_output"

    # The model saw the links in the code's output (what a real model would repeat).
    step = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc").data[0]
    assert step.step_details.tool_calls[0].code_interpreter.outputs[0].logs == "saved\n"


def test_a_linked_file_is_not_copied_back_over_later_changes(client: openai.OpenAI) -> None:
    """The reply's attachments are the code's own files: later runs in the thread see the
    working directory as the code left it (here: the file deleted), not a copy of them."""
    assistant_id = _code_assistant(client)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": WRITE_TWO}])

    def run_code(code: str) -> str:
        client.beta.threads.messages.create(
            thread.id, role="user", content=f"```python\n{code}\n```"
        )
        run = client.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=assistant_id, poll_interval_ms=50
        )
        assert run.status == "completed", run.last_error
        step = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id).data[-1]
        return step.step_details.tool_calls[0].code_interpreter.outputs[0].logs

    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant_id, poll_interval_ms=50
    )
    reply = client.beta.threads.messages.list(thread.id, run_id=run.id).data[0]
    assert len(reply.attachments) == 2
    assert run_code("import os\nos.remove('scores.csv')\nprint('removed')") == "removed\n"
    assert run_code("import os\nprint(sorted(os.listdir('.')))") == "['scores.csv.bak']\n"


def test_a_reply_that_links_nothing_has_no_file_path(client: openai.OpenAI) -> None:
    assistant_id = _code_assistant(client)
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "```python\nprint('/mnt/data is empty')\n```"}]
    )
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant_id, poll_interval_ms=50
    )
    reply = client.beta.threads.messages.list(thread.id, run_id=run.id).data[0]
    assert "/mnt/data" in reply.content[0].text.value
    assert reply.content[0].text.annotations == [] and reply.attachments == []


class _Collect(AssistantEventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.delta_annotations: list = []
        self.snapshots: list = []

    def on_text_delta(self, delta, snapshot) -> None:  # type: ignore[no-untyped-def]
        self.delta_annotations += delta.annotations or []
        self.snapshots.append(snapshot)


def test_streamed_links_arrive_whole_with_their_annotations(client: openai.OpenAI) -> None:
    assistant_id = _code_assistant(client)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": WRITE_TWO}])
    handler = _Collect()
    with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant_id, event_handler=handler
    ) as stream:
        stream.until_done()
    [final] = handler.get_final_messages()
    files = _check_links(client, final)
    text = final.content[0].text
    # The deltas carried the same annotations as the final message, each whole.
    assert [(a.type, a.text, a.start_index, a.end_index) for a in handler.delta_annotations] == [
        (a.type, a.text, a.start_index, a.end_index) for a in text.annotations
    ]
    assert [a.file_path.file_id for a in handler.delta_annotations] == [
        files[a.text.removeprefix("sandbox:/mnt/data/")] for a in text.annotations
    ]
    # The SDK's own accumulation of the deltas is the completed message's text.
    assert handler.snapshots[-1].value == text.value
    # (Its annotations keep the deltas' "index", which the completed ones do not have.)
    accumulated = [a.model_dump(exclude={"index"}) for a in handler.snapshots[-1].annotations]
    assert accumulated == [a.model_dump() for a in text.annotations]
    stored = client.beta.threads.messages.retrieve(final.id, thread_id=thread.id)
    assert stored.content[0].text == text and stored.attachments == final.attachments


def test_responses_cite_every_mention_of_a_container_file(client: openai.OpenAI) -> None:
    code = "open('out.csv', 'w').write('a,b\\n')\nprint('wrote /mnt/data/out.csv')\n"
    response = client.responses.create(
        model="local",
        input=f"```python\n{code}```",
        tools=[{"type": "code_interpreter", "container": {"type": "auto"}}],
    )
    assert response.status == "completed", response.error
    call, message = response.output
    text = message.content[0]
    # The printed path (inside the quoted output) and the link after it.
    assert [(a.type, text.text[a.start_index : a.end_index]) for a in text.annotations] == [
        ("container_file_citation", "/mnt/data/out.csv"),
        ("container_file_citation", "sandbox:/mnt/data/out.csv"),
    ]
    [file_id] = {a.file_id for a in text.annotations}
    assert {a.filename for a in text.annotations} == {"out.csv"}
    assert {a.container_id for a in text.annotations} == {call.container_id}
    data = client.containers.files.content.retrieve(file_id, container_id=call.container_id)
    assert data.read() == b"a,b\n"


def test_streamed_responses_add_each_container_citation_as_it_comes(
    client: openai.OpenAI,
) -> None:
    code = "open('out.csv', 'w').write('a,b\\n')\nprint('wrote /mnt/data/out.csv')\n"
    added, deltas, final = [], [], None
    with client.responses.stream(
        model="local",
        input=f"```python\n{code}```",
        tools=[{"type": "code_interpreter", "container": {"type": "auto"}}],
    ) as stream:
        for event in stream:
            if event.type == "response.output_text.annotation.added":
                added.append(event.annotation)
            elif event.type == "response.output_text.delta":
                deltas.append(event.delta)
        final = stream.get_final_response()
    text = final.output[-1].content[0]
    assert "".join(deltas) == text.text
    assert [a.type for a in added] == ["container_file_citation"] * 2
    assert [a.model_dump() for a in added] == [a.model_dump() for a in text.annotations]
    for a in text.annotations:
        assert text.text[a.start_index : a.end_index].endswith("/mnt/data/out.csv")
