/**
 * Fuzzing `POST /v1/chat/completions` with a valid key: bodies that are not JSON, fields of the
 * wrong type or out of range, odd models, messages and tools, unicode and long strings, odd headers.
 * A third or so are valid and go to the simulated origins: those must be served (200), streamed or
 * not; everything else is an OpenAI-shaped 4xx.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { newTenant } from "../support/client";
import { anyJson, anyText, apiHeaders, mutatedBodies, oddCount } from "./arbitraries";
import { countStatuses, expectHealthy, expectWellFormed, fuzz, send, unlimited } from "./support";

const CHAT_SCENARIOS = ["chat-main", "chat-pool", "chat-deepseek", "chat-dead-first", "chat-priced", "chat-affinity", "chat-shadowed"];

const content: fc.Arbitrary<unknown> = fc.oneof(
  anyText,
  fc.constant(null),
  anyJson(3),
  fc.array(fc.record({ type: fc.constantFrom("text", "image_url", "input_audio", "file", "refusal", ""), text: anyText, image_url: anyJson(2) }, { requiredKeys: [] }), { maxLength: 3 }),
);

/** A message the router accepts: any text, unicode and long runs included. */
const validMessage = fc.record({ role: fc.constantFrom("user", "system", "assistant", "developer"), content: anyText });

/** A message that may be anything at all. */
const oddMessage: fc.Arbitrary<unknown> = fc.oneof(
  fc.record(
    { role: fc.oneof(fc.constantFrom("user", "tool", "function", "robot", ""), anyText, anyJson(1)), content, name: anyText, tool_calls: anyJson(3), tool_call_id: anyJson(1), audio: anyJson(1) },
    { requiredKeys: [] },
  ),
  anyJson(2),
);

/** A valid request: the fields the router validates within range, the rest passed through as any JSON. */
const validChat = fc.record(
  {
    model: fc.constantFrom(...CHAT_SCENARIOS),
    messages: fc.array(validMessage, { minLength: 1, maxLength: 3 }),
    stream: fc.boolean(),
    stream_options: fc.record({ include_usage: fc.boolean() }),
    max_tokens: fc.integer({ min: 1, max: 200 }),
    temperature: fc.double({ min: 0, max: 2, noNaN: true }),
    tools: fc.array(anyJson(3), { maxLength: 2 }),
    response_format: anyJson(2),
    service_tier: fc.oneof(fc.constantFrom("auto", "default", "flex", "priority", "batch"), anyText),
    user: anyText,
    prompt_cache_key: anyText,
    vendor_extension: anyJson(3),
  },
  { requiredKeys: ["model", "messages"] },
);

/** One field set to something odd: wrong type, out of range, or a value the router has never seen. */
const mutation: fc.Arbitrary<[string, unknown]> = fc.oneof(
  fc.tuple(fc.constant("model"), fc.oneof(fc.constantFrom("embed-main", "constructor", "__proto__", "toString", "", "x".repeat(300), "chat-main ", "CHAT-MAIN"), anyText, anyJson(2))),
  fc.tuple(fc.constant("messages"), fc.oneof(fc.array(oddMessage, { maxLength: 3 }), anyJson(2))),
  fc.tuple(fc.constantFrom("stream", "stream_options", "temperature", "top_p", "tools", "functions", "response_format", "service_tier"), anyJson(2)),
  fc.tuple(fc.constantFrom("max_tokens", "max_completion_tokens", "n", "seed"), oddCount),
  fc.tuple(fc.constantFrom("temperature", "top_p"), fc.double()),
);

const chatBody: fc.Arbitrary<string> = mutatedBodies(validChat, mutation);

let key = "";

beforeAll(async () => {
  const tenant = await newTenant();
  key = tenant.key;
  await unlimited(tenant.tenantId);
});

describe("fuzz: POST /v1/chat/completions", () => {
  it("answers 250 malformed or odd chat requests below 500, OpenAI-shaped, and serves the valid ones", async () => {
    const statuses = countStatuses();
    await fuzz(fc.record({ body: chatBody, headers: apiHeaders }), 250, async ({ body, headers }) => {
      const req = { method: "POST", path: "/v1/chat/completions", headers: { ...headers, authorization: `Bearer ${key}` }, body };
      const res = await send(req);
      const type = res.headers.get("content-type");
      const checked = await expectWellFormed(res, req);
      statuses.add(checked.status);
      if (checked.status === 200) expect(type).toMatch(/^(application\/json|text\/event-stream; charset=utf-8)$/);
    });
    // The run reaches past validation, or it would only ever test the front door.
    expect(statuses.of(200)).toBeGreaterThan(40);
    expect(statuses.of(400)).toBeGreaterThan(80);
    await expectHealthy(key);
  });
});
