/**
 * Streamed chat chunks as Responses streaming events: exact sequences (sequence numbers included),
 * typed against the SDK's `ResponseStreamEvent`.
 */
import { describe, expect, it } from "vitest";
import {
  encodeEvent,
  parseResponsesRequest,
  ResponsesStreamTranslator,
  type ChatCompletionChunk,
  type ResponseStreamEvent,
  type ResponsesRequest,
} from "../../../src/openai/responses";
import { sdkEvents } from "./sdk-types";

function request(body: Record<string, unknown>): ResponsesRequest {
  const parsed = parseResponsesRequest({ model: "chat-default", input: "hi", stream: true, ...body });
  if (!parsed.ok) throw new Error(parsed.failure.message);
  return parsed.request;
}

const IDS = { responseId: "resp_s1", createdAt: 1_700_000_000 };
const COMPLETED_AT = 1_700_000_003;
const USAGE = { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15, prompt_tokens_details: { cached_tokens: 0 } };
const RESPONSE_USAGE = { input_tokens: 12, input_tokens_details: { cached_tokens: 0 }, output_tokens: 3, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 15 };

/** A chat chunk with one choice-0 delta, as the simulator (and OpenAI) streams them. */
function chunk(delta: Record<string, unknown>, finish_reason: string | null = null, logprobs: unknown = null): ChatCompletionChunk {
  return { id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model: "upstream", choices: [{ index: 0, delta, logprobs: logprobs as null, finish_reason }], usage: null };
}
const usageChunk: ChatCompletionChunk = { id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model: "upstream", choices: [], usage: USAGE };

function run(req: ResponsesRequest, chunks: ChatCompletionChunk[]): ResponseStreamEvent[] {
  const t = new ResponsesStreamTranslator(req, IDS);
  const events = [...chunks.flatMap((c) => t.push(c)), ...t.finish(COMPLETED_AT)];
  sdkEvents(events); // compiles only while our events fit the SDK's types
  return events;
}

/** The echo of `request({})`, at a given status and output. */
function response(status: string, output: unknown[], extra: Record<string, unknown> = {}) {
  return {
    id: "resp_s1",
    object: "response",
    created_at: 1_700_000_000,
    status,
    background: false,
    error: null,
    incomplete_details: null,
    instructions: null,
    max_output_tokens: null,
    model: "chat-default",
    output,
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    store: true,
    temperature: null,
    text: { format: { type: "text" } },
    tool_choice: "auto",
    tools: [],
    top_p: null,
    truncation: "disabled",
    metadata: {},
    ...extra,
  };
}

const START = [
  { type: "response.created", sequence_number: 0, response: response("in_progress", []) },
  { type: "response.in_progress", sequence_number: 1, response: response("in_progress", []) },
];

describe("ResponsesStreamTranslator", () => {
  it("text: message and part added, one delta per chunk, then text done, part done, item done, completed with usage", () => {
    const events = run(request({}), [chunk({ role: "assistant", content: "" }), chunk({ content: "Hello " }), chunk({ content: "world" }), chunk({}, "stop"), usageChunk]);
    const where = { item_id: "msg_s1_0", output_index: 0, content_index: 0 };
    const part = { type: "output_text", text: "Hello world", annotations: [] };
    const item = { id: "msg_s1_0", type: "message", status: "completed", role: "assistant", content: [part] };
    expect(events).toEqual([
      ...START,
      { type: "response.output_item.added", sequence_number: 2, output_index: 0, item: { id: "msg_s1_0", type: "message", status: "in_progress", role: "assistant", content: [] } },
      { type: "response.content_part.added", sequence_number: 3, ...where, part: { type: "output_text", text: "", annotations: [] } },
      { type: "response.output_text.delta", sequence_number: 4, ...where, delta: "Hello ", logprobs: [] },
      { type: "response.output_text.delta", sequence_number: 5, ...where, delta: "world", logprobs: [] },
      { type: "response.output_text.done", sequence_number: 6, ...where, text: "Hello world", logprobs: [] },
      { type: "response.content_part.done", sequence_number: 7, ...where, part },
      { type: "response.output_item.done", sequence_number: 8, output_index: 0, item },
      { type: "response.completed", sequence_number: 9, response: response("completed", [item], { completed_at: COMPLETED_AT, usage: RESPONSE_USAGE }) },
    ]);
  });

  it("a tool call: item added with call id and name, the arguments in deltas, arguments done, item done", () => {
    const req = request({ tools: [{ type: "function", name: "get_weather", parameters: { type: "object" } }] });
    const events = run(req, [
      chunk({ role: "assistant", content: null, tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "get_weather", arguments: "" } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"ci' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: 'ty":"Paris"}' } }] }),
      chunk({}, "tool_calls"),
      usageChunk,
    ]);
    const where = { item_id: "fc_s1_0", output_index: 0 };
    const call = { id: "fc_s1_0", type: "function_call", call_id: "call_1", name: "get_weather" };
    const done = { ...call, status: "completed", arguments: '{"city":"Paris"}' };
    const tools = [{ type: "function", name: "get_weather", description: null, parameters: { type: "object" }, strict: null }];
    expect(events).toEqual([
      { type: "response.created", sequence_number: 0, response: response("in_progress", [], { tools }) },
      { type: "response.in_progress", sequence_number: 1, response: response("in_progress", [], { tools }) },
      { type: "response.output_item.added", sequence_number: 2, output_index: 0, item: { ...call, status: "in_progress", arguments: "" } },
      { type: "response.function_call_arguments.delta", sequence_number: 3, ...where, delta: '{"ci' },
      { type: "response.function_call_arguments.delta", sequence_number: 4, ...where, delta: 'ty":"Paris"}' },
      { type: "response.function_call_arguments.done", sequence_number: 5, ...where, name: "get_weather", arguments: '{"city":"Paris"}' },
      { type: "response.output_item.done", sequence_number: 6, output_index: 0, item: done },
      { type: "response.completed", sequence_number: 7, response: response("completed", [done], { tools, completed_at: COMPLETED_AT, usage: RESPONSE_USAGE }) },
    ]);
  });

  it("text then a call: the message closes when the call starts; the call is output 1", () => {
    const events = run(request({}), [chunk({ content: "Let me check." }), chunk({ tool_calls: [{ index: 0, id: "call_1", function: { name: "f", arguments: "{}" } }] }), chunk({}, "tool_calls")]);
    expect(events.map((e) => [e.type, e.sequence_number, "output_index" in e ? e.output_index : null])).toEqual([
      ["response.created", 0, null],
      ["response.in_progress", 1, null],
      ["response.output_item.added", 2, 0],
      ["response.content_part.added", 3, 0],
      ["response.output_text.delta", 4, 0],
      ["response.output_text.done", 5, 0],
      ["response.content_part.done", 6, 0],
      ["response.output_item.done", 7, 0],
      ["response.output_item.added", 8, 1],
      ["response.function_call_arguments.delta", 9, 1],
      ["response.function_call_arguments.done", 10, 1],
      ["response.output_item.done", 11, 1],
      ["response.completed", 12, null],
    ]);
  });

  it("parallel calls whose pieces interleave are assembled per index, closed in output order at the end", () => {
    const events = run(request({}), [
      chunk({ tool_calls: [{ index: 0, id: "call_a", function: { name: "f", arguments: '{"x"' } }] }),
      chunk({ tool_calls: [{ index: 1, id: "call_b", function: { name: "g", arguments: '{"y"' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: ":1}" } }] }),
      chunk({ tool_calls: [{ index: 1, function: { arguments: ":2}" } }] }),
      chunk({}, "tool_calls"),
    ]);
    const last = events.at(-1);
    expect(last?.type === "response.completed" ? last.response.output : null).toEqual([
      { id: "fc_s1_0", type: "function_call", status: "completed", call_id: "call_a", name: "f", arguments: '{"x":1}' },
      { id: "fc_s1_1", type: "function_call", status: "completed", call_id: "call_b", name: "g", arguments: '{"y":2}' },
    ]);
    expect(events.filter((e) => e.type === "response.function_call_arguments.done").map((e) => ("arguments" in e ? e.arguments : null))).toEqual(['{"x":1}', '{"y":2}']);
  });

  it("finish_reason length ends with response.incomplete (reason max_output_tokens), items incomplete", () => {
    const events = run(request({ max_output_tokens: 2 }), [chunk({ content: "Hello " }), chunk({ content: "wor" }), chunk({}, "length"), usageChunk]);
    const item = { id: "msg_s1_0", type: "message", status: "incomplete", role: "assistant", content: [{ type: "output_text", text: "Hello wor", annotations: [] }] };
    expect(events.slice(-2)).toEqual([
      { type: "response.output_item.done", sequence_number: 8, output_index: 0, item },
      {
        type: "response.incomplete",
        sequence_number: 9,
        response: response("incomplete", [item], { incomplete_details: { reason: "max_output_tokens" }, max_output_tokens: 2, usage: RESPONSE_USAGE }),
      },
    ]);
  });

  it("a failure mid-stream: an error event, then response.failed with the output so far, incomplete", () => {
    const t = new ResponsesStreamTranslator(request({}), IDS);
    const events = sdkEvents([...t.push(chunk({ content: "Hel" })), ...t.fail({ message: "The origin stopped sending.", code: "upstream_stream_broken" })]);
    const item = { id: "msg_s1_0", type: "message", status: "incomplete", role: "assistant", content: [{ type: "output_text", text: "Hel", annotations: [] }] };
    expect(events.slice(4)).toEqual([
      { type: "response.output_text.delta", sequence_number: 4, item_id: "msg_s1_0", output_index: 0, content_index: 0, delta: "Hel", logprobs: [] },
      { type: "error", sequence_number: 5, code: "upstream_stream_broken", message: "The origin stopped sending.", param: null },
      { type: "response.failed", sequence_number: 6, response: response("failed", [item], { error: { code: "server_error", message: "The origin stopped sending." } }) },
    ]);
    expect(t.response?.status).toBe("failed");
    // Over is over: nothing more comes out.
    expect([t.push(chunk({ content: "lo" })), t.finish(COMPLETED_AT), t.fail({ message: "again" })]).toEqual([[], [], []]);
  });

  it("logprobs, when included, ride on each delta and on the part", () => {
    const lp = (token: string, logprob: number) => ({ token, logprob, bytes: Array.from(new TextEncoder().encode(token)), top_logprobs: [{ token, logprob, bytes: Array.from(new TextEncoder().encode(token)) }] });
    const events = run(request({ include: ["message.output_text.logprobs"], top_logprobs: 1 }), [
      chunk({ content: "Hi " }, null, { content: [lp("Hi ", -0.25)] }),
      chunk({ content: "there" }, null, { content: [lp("there", -0.5)] }),
      chunk({}, "stop"),
    ]);
    const deltas = events.filter((e) => e.type === "response.output_text.delta");
    expect(deltas.map((e) => ("logprobs" in e ? e.logprobs : null))).toEqual([
      [{ token: "Hi ", logprob: -0.25, top_logprobs: [{ token: "Hi ", logprob: -0.25 }] }],
      [{ token: "there", logprob: -0.5, top_logprobs: [{ token: "there", logprob: -0.5 }] }],
    ]);
    const done = events.find((e) => e.type === "response.content_part.done");
    expect(done && "part" in done ? done.part : null).toEqual({ type: "output_text", text: "Hi there", annotations: [], logprobs: [lp("Hi ", -0.25), lp("there", -0.5)] });
  });

  it("start is sent once, whoever asks first; a stream with no output still completes", () => {
    const t = new ResponsesStreamTranslator(request({}), IDS);
    expect(t.start().map((e) => e.sequence_number)).toEqual([0, 1]);
    expect(t.start()).toEqual([]);
    expect(t.finish(COMPLETED_AT)).toEqual([{ type: "response.completed", sequence_number: 2, response: response("completed", [], { completed_at: COMPLETED_AT }) }]);
  });

  it("encodeEvent frames an event as OpenAI does: an event line and a data line", () => {
    const event: ResponseStreamEvent = { type: "response.output_text.delta", sequence_number: 4, item_id: "msg_1", output_index: 0, content_index: 0, delta: "Hi", logprobs: [] };
    expect(encodeEvent(event)).toBe(
      'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hi","logprobs":[]}\n\n',
    );
  });
});
