// The official openai Node SDK's Assistants stream helpers against a server at
// OPENAI_BASE_URL (run by tests/server/test_node_sdk.py): a code interpreter run that
// writes an image and a CSV, then a file search run. Prints what the SDK's own
// accumulators built, as one JSON object, for the test to check.
import OpenAI, { toFile } from "openai";

const client = new OpenAI(); // OPENAI_BASE_URL and OPENAI_API_KEY from the environment
const PNG =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

async function streamRun(threadId, assistantId) {
  const seen = { textDeltas: [], imageFileDone: [], toolCallDone: [], messageDone: [] };
  const stream = client.beta.threads.runs.stream(threadId, { assistant_id: assistantId });
  stream.on("textDelta", (delta) => seen.textDeltas.push(delta.value ?? ""));
  stream.on("imageFileDone", (content) => seen.imageFileDone.push(content));
  stream.on("toolCallDone", (call) => seen.toolCallDone.push(call));
  stream.on("messageDone", (message) => seen.messageDone.push(message));
  seen.finalRun = await stream.finalRun();
  seen.finalRunSteps = await stream.finalRunSteps();
  seen.finalMessages = await stream.finalMessages();
  return seen;
}

const code = await client.beta.assistants.create({
  model: "gpt-4o",
  tools: [{ type: "code_interpreter" }],
});
const created = await client.beta.threads
  .create({
    messages: [
      {
        role: "user",
        content:
          "```python\nimport base64\n" +
          `open('dot.png', 'wb').write(base64.b64decode('${PNG}'))\n` +
          "open('table.csv', 'w').write('x,y\\n1,2\\n')\nprint('written')\n```",
      },
    ],
  })
  .withResponse();
const codeRun = await streamRun(created.data.id, code.id);

const store = await client.vectorStores.create({ name: "node sdk" });
await client.vectorStores.files.uploadAndPoll(
  store.id,
  await toFile(Buffer.from("The tutor explains linear equations step by step.\n"), "notes.txt"),
);
const search = await client.beta.assistants.create({
  model: "gpt-4o",
  tools: [{ type: "file_search" }],
  tool_resources: { file_search: { vector_store_ids: [store.id] } },
});
const thread = await client.beta.threads.create({
  messages: [{ role: "user", content: "How does the tutor explain linear equations?" }],
});
const searchRun = await streamRun(thread.id, search.id);

console.log(
  JSON.stringify({ requestId: created.request_id, codeRun, searchRun, threadId: created.data.id }),
);
