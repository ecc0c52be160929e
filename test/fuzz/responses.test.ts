/**
 * Fuzzing `POST /v1/responses` and `POST /v1/completions` with a valid key (issue #17): valid
 * requests with one or two fields made odd, items of every shape, unknown previous responses,
 * bodies that are not JSON. The valid ones are served (200); everything else is an OpenAI-shaped
 * 4xx, never a 500.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { newTenant } from "../support/client";
import { anyJson, anyText, apiHeaders, mutatedBodies, oddCount } from "./arbitraries";
import { countStatuses, expectHealthy, expectWellFormed, fuzz, send, unlimited } from "./support";

const SCENARIOS = ["chat-main", "chat-pool", "chat-dead-first", "chat-affinity", "chat-tiered", "chat-openrouter"];

const inputItem: fc.Arbitrary<unknown> = fc.oneof(
  fc.record({ role: fc.constantFrom("user", "system", "developer", "assistant"), content: anyText }),
  fc.record({ type: fc.constant("message"), role: fc.constantFrom("user", "assistant"), content: fc.array(fc.record({ type: fc.constantFrom("input_text", "output_text"), text: anyText }), { maxLength: 2 }) }),
  fc.record({ type: fc.constant("function_call_output"), call_id: anyText, output: anyText }),
  fc.record({ type: fc.constantFrom("function_call", "reasoning", "web_search_call", "item_reference", ""), id: anyText, call_id: anyText, name: anyText, arguments: anyText }, { requiredKeys: ["type"] }),
  anyJson(2),
);

const validResponses = fc.record(
  {
    model: fc.constantFrom(...SCENARIOS),
    input: fc.oneof(anyText, fc.array(fc.record({ role: fc.constant("user"), content: anyText }), { minLength: 1, maxLength: 2 })),
    instructions: anyText,
    stream: fc.boolean(),
    max_output_tokens: fc.integer({ min: 1, max: 200 }),
    store: fc.boolean(),
    tools: fc.array(fc.record({ type: fc.constant("function"), name: fc.constantFrom("get_weather", "lookup"), parameters: fc.constant({ type: "object", properties: { q: { type: "string" } } }) }), { maxLength: 2 }),
    text: fc.constant({ format: { type: "json_object" } }),
    metadata: fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
    service_tier: fc.constantFrom("auto", "default", "flex", "priority"),
  },
  { requiredKeys: ["model", "input"] },
);

const responsesMutation: fc.Arbitrary<[string, unknown]> = fc.oneof(
  fc.tuple(fc.constant("input"), fc.oneof(fc.array(inputItem, { maxLength: 3 }), anyJson(2))),
  fc.tuple(fc.constantFrom("tools", "tool_choice", "text", "reasoning", "metadata", "include", "truncation", "background", "conversation", "prompt", "n"), anyJson(2)),
  fc.tuple(fc.constant("previous_response_id"), fc.oneof(anyText, fc.constant("resp_0123456789abcdef0123456789abcdef"), anyJson(1))),
  fc.tuple(fc.constantFrom("max_output_tokens", "top_logprobs", "max_tool_calls"), oddCount),
  fc.tuple(fc.constantFrom("temperature", "top_p"), fc.double()),
  fc.tuple(fc.constant("model"), fc.oneof(fc.constantFrom("embed-main", "__proto__", ""), anyText)),
);

const validCompletions = fc.record(
  {
    // Not chat-dead-first: its only origin that serves completions is the dead one (a real 502).
    model: fc.constantFrom(...SCENARIOS.filter((s) => s !== "chat-dead-first")),
    prompt: fc.oneof(anyText, fc.array(anyText, { minLength: 1, maxLength: 2 }), fc.array(fc.nat(1000), { minLength: 1, maxLength: 5 })),
    stream: fc.boolean(),
    stream_options: fc.record({ include_usage: fc.boolean() }),
    max_tokens: fc.integer({ min: 1, max: 64 }),
    n: fc.integer({ min: 1, max: 2 }),
    echo: fc.boolean(),
  },
  { requiredKeys: ["model", "prompt"] },
);

const completionsMutation: fc.Arbitrary<[string, unknown]> = fc.oneof(
  fc.tuple(fc.constant("prompt"), anyJson(2)),
  fc.tuple(fc.constantFrom("max_tokens", "n", "best_of", "logprobs"), oddCount),
  fc.tuple(fc.constantFrom("suffix", "echo", "stream", "stream_options", "user", "metadata"), anyJson(2)),
);

let key = "";

beforeAll(async () => {
  const tenant = await newTenant();
  key = tenant.key;
  await unlimited(tenant.tenantId);
});

describe.each([
  ["/v1/responses", mutatedBodies(validResponses, responsesMutation)],
  ["/v1/completions", mutatedBodies(validCompletions, completionsMutation)],
])("fuzz: POST %s", (path, body) => {
  it("answers 150 malformed or odd requests below 500, OpenAI-shaped, and serves the valid ones", async () => {
    const statuses = countStatuses();
    await fuzz(fc.record({ body, headers: apiHeaders }), 150, async ({ body, headers }) => {
      const req = { method: "POST", path, headers: { ...headers, authorization: `Bearer ${key}` }, body };
      const checked = await expectWellFormed(await send(req), req);
      statuses.add(checked.status);
    });
    expect(statuses.of(200)).toBeGreaterThan(20);
    expect(statuses.of(400)).toBeGreaterThan(20);
    await expectHealthy(key);
  });
});
