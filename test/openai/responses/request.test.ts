/** Validating `POST /v1/responses` bodies: what is accepted as is, and every refusal naming its field. */
import { describe, expect, it } from "vitest";
import { parseResponsesRequest } from "../../../src/openai/responses";

const base = { model: "chat-default", input: "hi" };

function refusal(body: Record<string, unknown>): unknown {
  const parsed = parseResponsesRequest({ ...base, ...body });
  return parsed.ok ? "accepted" : parsed.failure;
}

describe("parseResponsesRequest", () => {
  it("accepts the subset the router translates, keeping unknown fields", () => {
    const body = {
      model: "chat-default",
      instructions: "Be brief.",
      input: [
        { role: "user", content: "Weather in Paris?" },
        { type: "message", role: "user", content: [{ type: "input_text", text: "and" }, { type: "input_image", image_url: "https://x/y.png", detail: "low" }] },
        { type: "function_call", call_id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}', id: "fc_1", status: "completed" },
        { type: "function_call_output", call_id: "call_1", output: "18C" },
        { type: "reasoning", id: "rs_1", summary: [], encrypted_content: "…" },
        { type: "message", role: "assistant", id: "msg_1", status: "completed", content: [{ type: "output_text", text: "It is 18C.", annotations: [] }] },
      ],
      tools: [{ type: "function", name: "get_weather", description: "Weather", parameters: { type: "object" }, strict: true }],
      tool_choice: { type: "function", name: "get_weather" },
      parallel_tool_calls: false,
      text: { format: { type: "json_schema", name: "answer", schema: { type: "object" }, strict: true }, verbosity: "low" },
      max_output_tokens: 100,
      temperature: 0.2,
      top_p: 0.9,
      metadata: { team: "search" },
      stream: true,
      store: false,
      previous_response_id: "resp_0",
      user: "u-1",
      truncation: "disabled",
      background: false,
      include: ["reasoning.encrypted_content"],
      vendor_extension: { any: ["thing"] },
    };
    const parsed = parseResponsesRequest(body);
    expect(parsed).toEqual({ ok: true, request: body });
  });

  it.each<[string, Record<string, unknown>, string | null, string]>([
    ["a built-in tool", { tools: [{ type: "function", name: "f" }, { type: "web_search" }] }, "tools[1].type", "'web_search' tools are not supported by this router; only 'function' tools are (built-in tools run on OpenAI's side)."],
    ["file search", { tools: [{ type: "file_search", vector_store_ids: ["vs_1"] }] }, "tools[0].type", "'file_search' tools are not supported by this router; only 'function' tools are (built-in tools run on OpenAI's side)."],
    ["computer use", { tools: [{ type: "computer_use_preview" }] }, "tools[0].type", "'computer_use_preview' tools are not supported by this router; only 'function' tools are (built-in tools run on OpenAI's side)."],
    ["a choice of a built-in tool", { tool_choice: { type: "file_search" } }, "tool_choice.type", "'file_search' tool choices are not supported by this router; only 'none', 'auto', 'required' or a function."],
    ["an unknown tool choice", { tool_choice: "sometimes" }, "tool_choice", `must be 'none', 'auto', 'required' or {"type": "function", "name": ...}.`],
    ["background", { background: true }, "background", "background responses are not supported by this router."],
    ["a conversation", { conversation: "conv_1" }, "conversation", "conversations are not supported by this router; chain responses with 'previous_response_id'."],
    ["a prompt template", { prompt: { id: "pmpt_1" } }, "prompt", "prompt templates are not supported by this router; send 'instructions' and 'input'."],
    ["auto truncation", { truncation: "auto" }, "truncation", "'auto' truncation is not supported by this router; only 'disabled'."],
    ["n", { n: 2 }, "n", "'n' is not a Responses API parameter: a response has one output."],
    ["an item reference", { input: [{ type: "item_reference", id: "msg_1" }] }, "input[0].type", "'item_reference' items are not supported by this router; supported: message, function_call, function_call_output (and reasoning, which is dropped)."],
    ["a built-in tool call item", { input: [{ type: "web_search_call", id: "ws_1" }] }, "input[0].type", "'web_search_call' items are not supported by this router; supported: message, function_call, function_call_output (and reasoning, which is dropped)."],
    ["an image in a system message", { input: [{ role: "system", content: [{ type: "input_image", image_url: "https://x" }] }] }, "input[0].content[0].type", "'input_image' parts are not supported in a 'system' message."],
    ["an image by file id", { input: [{ role: "user", content: [{ type: "input_image", file_id: "file_1", detail: "auto" }] }] }, "input[0].content[0].image_url", "an image needs 'image_url' here; images by 'file_id' are not supported."],
    ["a file by URL", { input: [{ role: "user", content: [{ type: "input_file", file_url: "https://x/a.pdf" }] }] }, "input[0].content[0]", "a file needs 'file_id' or 'file_data' here; files by 'file_url' are not supported."],
    ["audio content", { input: [{ role: "user", content: [{ type: "input_audio" }] }] }, "input[0].content[0].type", "'input_audio' content parts are not supported; supported: input_text, input_image, input_file, output_text, refusal."],
    ["an image in a function call output", { input: [{ type: "function_call_output", call_id: "c", output: [{ type: "input_image", image_url: "https://x" }] }] }, "input[0].output[0].type", "'input_image' parts are not supported in a function call output; only input_text."],
    ["input that is neither a string nor items", { input: 42 }, "input", "must be a string or an array of input items."],
    ["a schema name with spaces", { text: { format: { type: "json_schema", name: "my answer", schema: {} } } }, "text.format.name", "must be 1 to 64 letters, digits, underscores or dashes"],
    ["17 metadata pairs", { metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"])) }, "metadata", "at most 16 key-value pairs"],
  ])("refuses %s with a 400 naming the field", (_, body, param, reason) => {
    expect(refusal(body)).toEqual({ kind: "invalid_body", param, message: `Invalid value for '${param}': ${reason}` });
  });

  it("names a missing model, and a body that is not an object", () => {
    expect(parseResponsesRequest({ input: "hi" })).toEqual({
      ok: false,
      failure: { kind: "invalid_body", param: "model", message: "Invalid value for 'model': Invalid input: expected string, received undefined" },
    });
    expect(parseResponsesRequest([])).toEqual({
      ok: false,
      failure: { kind: "invalid_body", param: null, message: "Invalid request body: Invalid input: expected object, received array" },
    });
  });
});
