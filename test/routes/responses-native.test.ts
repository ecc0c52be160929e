/**
 * `POST /v1/responses` passed through to origins that speak the Responses API (issue #17 §1): the
 * `openai` provider by default, a pool with `responsesApi: true` (`pool-native`, a simulated vLLM).
 * The origin is sent the Responses request at `/responses` with `store: false`, the conversation
 * expanded into `input` and the cap in `max_output_tokens`; the client gets the router's ids, its
 * price and its stored responses, whichever origin served each turn; fallback, settlement and
 * broken streams behave as on the translated path.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { renderChatPrompt } from "../../src/sim";
import { addBudget, api, newTenant, originSaw, readUntilKeepAlive, settledAll, usageOf } from "../support/client";
import { eventsOf, readStream, responseIdOf, sdk, simText, textStreamTypes, tokens } from "../support/responses";

const requestIdOf = (res: Response) => res.headers.get("x-request-id")!;
const attemptsOf = (res: Response) => res.headers.get("x-router-attempts")!.replace(/;ms=\d+/g, "");

const WEATHER_TOOL = {
  type: "function" as const,
  name: "get_weather",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false },
  strict: true,
};

interface ResponseBody {
  id: string;
  status: string;
  previous_response_id: string | null;
  incomplete_details: { reason: string } | null;
  output: Array<{ type: string; id: string; content?: Array<{ text: string }> }>;
  usage: Record<string, unknown>;
}

const textOf = (r: ResponseBody) => r.output.flatMap((o) => o.content ?? []).map((p) => p.text).join("");

describe("POST /v1/responses to an origin that speaks it", () => {
  it("is sent the Responses request at /responses with store: false; the client gets the router's ids, price and stored response", async () => {
    const { tenantId, key } = await newTenant();
    const { data, response: res } = await sdk(key).responses.create({ model: "chat-native", instructions: "Be brief.", input: "hi", metadata: { team: "search" }, user: "alice" }).withResponse();
    const seen = await originSaw(requestIdOf(res));
    expect(seen.map((r) => r.path)).toEqual(["/pool-native/v1/responses"]);
    expect(seen[0]!.body).toEqual({ model: "qwen2.5-7b", instructions: "Be brief.", input: "hi", metadata: { team: "search" }, user: "alice", store: false });

    const chat = { model: "qwen2.5-7b", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "hi" }] };
    const text = simText(chat);
    const input = tokens(renderChatPrompt(chat));
    const output = text.trim().split(" ").length;
    const cost = 2 * output;
    const id = responseIdOf(res);
    expect(data).toMatchObject({ id, object: "response", status: "completed", model: "chat-native", instructions: "Be brief.", metadata: { team: "search" }, user: "alice", store: true });
    expect(data.output).toEqual([{ id: `msg_${id.slice(5)}_0`, type: "message", status: "completed", role: "assistant", content: [{ type: "output_text", text, annotations: [] }] }]);
    expect(data.usage).toEqual({ input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + output, cost: cost / 1e6 });
    expect(res.headers.get("x-router-cost-usd")).toBe(`0.${String(cost).padStart(6, "0")}`);
    expect(res.headers.get("x-router-origin")).toBe("pool-native");
    expect(await usageOf(tenantId, requestIdOf(res))).toMatchObject({ endpoint: "responses", origin: "pool-native", promptTokens: input, completionTokens: output, costMicros: cost, usageSource: "origin", user: "alice" });

    const { output_text: _, ...stored } = await sdk(key).responses.retrieve(data.id);
    const { output_text: __, ...created } = data;
    expect(stored).toEqual(created);
  });

  it("an openai origin speaks it by default: its API key injected, the request passed through", async () => {
    const { key } = await newTenant();
    const res = await api("/responses", key, { model: "chat-alpha-only", input: "hi", text: { format: { type: "json_object" } } });
    expect(res.status).toBe(200);
    const [seen] = await originSaw(requestIdOf(res));
    expect(seen!.path).toBe("/alpha/v1/responses");
    expect(seen!.headers.authorization).toBe("Bearer sk-alpha-test-secret");
    expect(seen!.body).toMatchObject({ model: "alpha-large", input: "hi", text: { format: { type: "json_object" } }, store: false });
    const body = (await res.json()) as ResponseBody;
    expect(JSON.parse(textOf(body))).toEqual(expect.any(Object));
  });

  it("sends the client's cap in max_output_tokens, and the router's when a budget lowers it", async () => {
    const { tenantId, key } = await newTenant();
    const own = await api("/responses", key, { model: "chat-native", input: "hi", max_output_tokens: 3 });
    expect((await originSaw(requestIdOf(own)))[0]!.body).toEqual({ model: "qwen2.5-7b", input: "hi", store: false, max_output_tokens: 3 });
    expect(await own.json()).toMatchObject({ status: "incomplete", incomplete_details: { reason: "max_output_tokens" }, max_output_tokens: 3, usage: { output_tokens: 3 } });

    // Input free, 2 µ$ an output token: 40 µ$ left affords 20.
    await addBudget(tenantId, { metric: "cost", period: "month", limit: 40 });
    const capped = await api("/responses", key, { model: "chat-native", input: "hi", max_output_tokens: 500 });
    expect(capped.headers.get("x-router-max-tokens")).toBe("20");
    expect((await originSaw(requestIdOf(capped)))[0]!.body).toEqual({ model: "qwen2.5-7b", input: "hi", store: false, max_output_tokens: 20 });
    await settledAll(tenantId);
  });

  it("a cap under OpenAI's floor of 16 output tokens is sent to an openai origin as chat; 16 goes native", async () => {
    const { key } = await newTenant();
    const small = await api("/responses", key, { model: "chat-alpha-only", input: "hi", max_output_tokens: 10 });
    expect(small.status).toBe(200);
    expect(attemptsOf(small)).toBe("alpha;result=200");
    const [chat] = await originSaw(requestIdOf(small));
    expect(chat!.path).toBe("/alpha/v1/chat/completions");
    expect(chat!.body).toMatchObject({ model: "alpha-large", messages: [{ role: "user", content: "hi" }], max_completion_tokens: 10 });
    expect(chat!.body).not.toHaveProperty("max_output_tokens");
    expect(await small.json()).toMatchObject({ status: "incomplete", incomplete_details: { reason: "max_output_tokens" }, max_output_tokens: 10, usage: { output_tokens: 10 } });

    const floor = await api("/responses", key, { model: "chat-alpha-only", input: "hi", max_output_tokens: 16 });
    const [native] = await originSaw(requestIdOf(floor));
    expect(native!.path).toBe("/alpha/v1/responses");
    expect(native!.body).toMatchObject({ max_output_tokens: 16 });
  });

  it("a conversation whose turns alternate between a native and a translating origin keeps one chain of the router's ids", async () => {
    const { tenantId, key } = await newTenant();
    // Long enough that the native pool's prefix cache (16-token blocks) holds some of it on the third turn.
    const name = `My name is Ada. ${"I route tokens between origins. ".repeat(8)}`;
    const first = await api("/responses", key, { model: "chat-native-first", input: name });
    expect(first.headers.get("x-router-origin")).toBe("pool-native");
    const one = (await first.json()) as ResponseBody;

    // The native pool fails this turn: the translating pool serves it, from the router's history.
    const second = await api("/responses", key, { model: "chat-native-first", previous_response_id: one.id, input: "What is my name?", sim: { "pool-native": { status: 503 } } });
    expect(attemptsOf(second)).toBe("pool-native;result=503, pool;result=200");
    const two = (await second.json()) as ResponseBody;
    const [refused, translated] = await originSaw(requestIdOf(second));
    expect(refused!.path).toBe("/pool-native/v1/responses");
    expect(translated!.path).toBe("/pool/v1/chat/completions");
    expect((translated!.body as { messages: unknown }).messages).toEqual([
      { role: "user", content: name },
      { role: "assistant", content: textOf(one) },
      { role: "user", content: "What is my name?" },
    ]);

    // Back on the native pool: the whole conversation in input, no id of the router's.
    const third = await api("/responses", key, { model: "chat-native-first", previous_response_id: two.id, input: "And again?" });
    expect(third.headers.get("x-router-origin")).toBe("pool-native");
    const [native] = await originSaw(requestIdOf(third));
    expect(native!.body).toEqual({
      model: "qwen2.5-7b",
      input: [
        { role: "user", content: name },
        { role: "assistant", content: textOf(one) },
        { role: "user", content: "What is my name?" },
        { role: "assistant", content: textOf(two) },
        { role: "user", content: "And again?" },
      ],
      store: false,
    });
    const three = (await third.json()) as ResponseBody;
    // The cached tokens the pool reported in the Responses shape reach the client and the usage record.
    const cached = (three.usage.input_tokens_details as { cached_tokens: number }).cached_tokens;
    expect(cached).toBeGreaterThan(0);
    expect(await usageOf(tenantId, requestIdOf(third))).toMatchObject({ origin: "pool-native", cachedTokens: cached });
    expect([one.previous_response_id, two.previous_response_id, three.previous_response_id]).toEqual([null, one.id, two.id]);
    expect(three.id).toBe(responseIdOf(third));
    const stored = (await (await api(`/responses/${three.id}`, key)).json()) as ResponseBody;
    expect(stored).toEqual(three);
  });

  it("an answer without input_tokens_details leaves the cache unreported, not a reported miss: the prefix index keeps what it predicted", async () => {
    const { tenantId, key } = await newTenant();
    // One message of several full blocks; each later turn extends it, so only the first turn's block is shared.
    const opening = `${crypto.randomUUID()} ${"A prompt long enough to fill several cache blocks. ".repeat(40)}`;
    const predictedOf = (res: Response) => Number(/predicted-cached-tokens=(\d+)/.exec(res.headers.get("x-router-affinity")!)![1]);
    const ask = async (input: string, sim?: unknown) => {
      const res = await api("/responses", key, { model: "chat-native", input, ...(sim ? { sim } : {}) });
      expect(res.status).toBe(200);
      await res.json();
      await settledAll(tenantId);
      return res;
    };
    await ask(opening);
    const silent = await ask(`${opening} ${"Then B. ".repeat(100)}`, { "pool-native": { omitCacheDetails: true } });
    expect(predictedOf(silent)).toBeGreaterThan(0);
    // Had the silent answer counted as "nothing cached", the index would have dropped the opening's block.
    const again = await ask(`${opening} ${"Then C. ".repeat(100)}`);
    expect(predictedOf(again)).toBe(predictedOf(silent));
  });

  it.each([false, true])("a tool-call round trip (stream: %s)", async (streamed) => {
    const { key } = await newTenant();
    const client = sdk(key);
    const params = { model: "chat-native", input: "Weather in Paris?", tools: [WEATHER_TOOL] };
    const first = streamed ? await client.responses.stream(params).finalResponse() : await client.responses.create(params);
    const call = first.output[0];
    if (call?.type !== "function_call") throw new Error(`expected a function call, got ${JSON.stringify(first.output)}`);
    expect(call).toMatchObject({ id: `fc_${first.id.slice(5)}_0`, status: "completed", name: "get_weather" });
    expect(JSON.parse(call.arguments)).toEqual({ city: expect.any(String) });
    const next = { model: "chat-native", previous_response_id: first.id, input: [{ type: "function_call_output" as const, call_id: call.call_id, output: '{"temperature":18}' }], tools: [WEATHER_TOOL] };
    const { data: second, response } = streamed ? { data: await client.responses.stream(next).finalResponse(), response: null } : await client.responses.create(next).withResponse();
    expect(second.output.map((o) => o.type)).toEqual(["message"]);
    if (response) {
      const [seen] = await originSaw(requestIdOf(response));
      expect((seen!.body as { input: unknown }).input).toEqual([
        { role: "user", content: "Weather in Paris?" },
        { type: "function_call", call_id: call.call_id, name: "get_weather", arguments: call.arguments },
        { type: "function_call_output", call_id: call.call_id, output: '{"temperature":18}' },
      ]);
    }
  });

  it("streams the Responses events with the router's ids, usage and cost in response.completed; settled as the usage says", async () => {
    const { tenantId, key } = await newTenant();
    const { data: stream, response: res } = await sdk(key).responses.create({ model: "chat-native", input: "hi", stream: true }).withResponse();
    const { types, text, completed } = await readStream(stream);
    expect((await originSaw(requestIdOf(res)))[0]!.body).toEqual({ model: "qwen2.5-7b", input: "hi", stream: true, store: false });
    const chat = { model: "qwen2.5-7b", messages: [{ role: "user", content: "hi" }] };
    const words = simText(chat).trim().split(" ").length;
    const input = tokens(renderChatPrompt(chat));
    expect(types).toEqual(textStreamTypes(words));
    expect(text).toBe(simText(chat));
    expect(completed!.id).toBe(responseIdOf(res));
    expect(completed!.usage).toEqual({ input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: words, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + words, cost: (2 * words) / 1e6 });
    expect(await usageOf(tenantId, requestIdOf(res))).toMatchObject({ endpoint: "responses", origin: "pool-native", outcome: "ok", promptTokens: input, completionTokens: words, costMicros: 2 * words, usageSource: "origin" });
  });

  it("falls back from a native stream that fails before its first token, to a translating origin", async () => {
    const { key } = await newTenant();
    const res = await api("/responses", key, { model: "chat-native-first", input: "hi", stream: true, sim: { "pool-native": { errorEventAfterChunks: 0 } } });
    expect(res.status).toBe(200);
    expect(attemptsOf(res)).toBe("pool-native;result=broken, pool;result=200");
    const events = eventsOf(await res.text());
    expect(events.at(-1)!.type).toBe("response.completed");
    expect(events.at(-1)!.response!.id).toBe(responseIdOf(res));
    expect((await originSaw(requestIdOf(res))).map((r) => r.path)).toEqual(["/pool-native/v1/responses", "/pool/v1/chat/completions"]);
  });

  it("a native stream broken mid-way ends with error and response.failed, stored as failed, settled as broken", async () => {
    const { tenantId, key } = await newTenant();
    const res = await api("/responses", key, { model: "chat-native", input: "hi", stream: true, sim: { "pool-native": { cutAfterChunks: 2 } } });
    const events = eventsOf(await res.text());
    expect(events.slice(-2).map((e) => e.type)).toEqual(["error", "response.failed"]);
    expect(events.at(-2)!.code).toBe("upstream_stream_broken");
    expect(events.filter((e) => e.type === "response.output_text.delta")).toHaveLength(2);
    expect(events.at(-1)!.response).toMatchObject({ id: responseIdOf(res), status: "failed" });
    const stored = (await (await api(`/responses/${responseIdOf(res)}`, key)).json()) as ResponseBody;
    expect(stored.status).toBe("failed");
    expect(await usageOf(tenantId, requestIdOf(res))).toMatchObject({ endpoint: "responses", origin: "pool-native", outcome: "stream_broken" });
  });

  it("an openai origin without a Responses API (404) is sent chat at once, and straight away from then on", async () => {
    const { tenantId, key } = await newTenant();
    const first = await api("/responses", key, { model: "chat-compat", input: "hi", max_output_tokens: 64 });
    expect(first.status).toBe(200);
    expect(attemptsOf(first)).toBe("compat;result=404, compat;result=200");
    const seen = await originSaw(requestIdOf(first));
    expect(seen.map((r) => r.path)).toEqual(["/compat/v1/responses", "/compat/v1/chat/completions"]);
    // Its provider takes `prompt_cache_key`: both calls carry the same one.
    const cacheKey = (seen[0]!.body as { prompt_cache_key: string }).prompt_cache_key;
    expect(seen[0]!.body).toEqual({ model: "compat-model", input: "hi", store: false, max_output_tokens: 64, prompt_cache_key: cacheKey });
    expect(seen[1]!.body).toEqual({ model: "compat-model", messages: [{ role: "user", content: "hi" }], max_completion_tokens: 64, prompt_cache_key: cacheKey });
    const chat = { model: "compat-model", messages: [{ role: "user", content: "hi" }] };
    const words = simText(chat).trim().split(" ").length;
    expect(await first.json()).toMatchObject({ status: "completed", output: [{ type: "message", content: [{ type: "output_text", text: simText(chat) }] }] });
    // One request, charged once, for what the chat call used (the 404 cost nothing).
    expect(await usageOf(tenantId, requestIdOf(first))).toMatchObject({ endpoint: "responses", origin: "compat", status: 200, outcome: "ok", completionTokens: words, costMicros: 2 * words, usageSource: "origin" });

    const next = await api("/responses", key, { model: "chat-compat", input: "hi", stream: true });
    expect(attemptsOf(next)).toBe("compat;result=200");
    expect(eventsOf(await next.text()).at(-1)!.type).toBe("response.completed");
    const [only, ...none] = await originSaw(requestIdOf(next));
    expect(only!.path).toBe("/compat/v1/chat/completions");
    expect(none).toEqual([]);
  });

  it.each([
    ["chat-native", "pool-native"],
    ["chat-pool", "pool"],
  ])("a stream its client leaves (%s) is stored as failed with what it generated, never as completed; a chain continues from what the client saw", async (model, origin) => {
    const { tenantId, key } = await newTenant();
    const client = new AbortController();
    const res = await SELF.fetch("http://router.test/v1/responses", {
      method: "POST",
      signal: client.signal,
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model, input: "hi", stream: true, sim: { [origin]: { stallAfterChunks: 2 } } }),
    });
    expect(res.status).toBe(200);
    const seen = eventsOf(await readUntilKeepAlive(res));
    client.abort();
    expect(seen.map((e) => e.type)).not.toContain("response.completed");
    const partial = seen.filter((e) => e.type === "response.output_text.delta").map((e) => e.delta).join("");
    expect(partial).not.toBe("");
    expect(await usageOf(tenantId, requestIdOf(res))).toMatchObject({ origin, outcome: "stream_cancelled" });

    const id = responseIdOf(res);
    let stored = await api(`/responses/${id}`, key);
    for (let i = 0; i < 100 && stored.status === 404; i++) {
      await new Promise((r) => setTimeout(r, 20));
      stored = await api(`/responses/${id}`, key);
    }
    const body = (await stored.json()) as ResponseBody & { error: unknown };
    expect(body).toMatchObject({ id, status: "failed", incomplete_details: null, error: { code: "server_error", message: "The client closed the stream before the response was complete." } });
    expect(body.output).toEqual([{ id: `msg_${id.slice(5)}_0`, type: "message", status: "incomplete", role: "assistant", content: [{ type: "output_text", text: partial, annotations: [] }] }]);

    // The next turn continues from the text the client saw, as after a stream the origin broke.
    const next = await api("/responses", key, { model, previous_response_id: id, input: "go on" });
    expect(next.status).toBe(200);
    const [sent] = await originSaw(requestIdOf(next));
    const history = (sent!.body as { input?: unknown; messages?: unknown }).input ?? (sent!.body as { messages: unknown }).messages;
    expect(history).toEqual([
      { role: "user", content: "hi" },
      { role: "assistant", content: partial },
      { role: "user", content: "go on" },
    ]);
  });

  it.each([
    [{ tools: [{ type: "web_search" }] }, "tools[0].type"],
    [{ background: true }, "background"],
    [{ input: [{ type: "item_reference", id: "x" }] }, "input[0].type"],
  ])("refuses %j with the same 400 naming '%s', sending nothing", async (body, param) => {
    const { tenantId, key } = await newTenant();
    const res = await api("/responses", key, { model: "chat-native", input: "hi", ...body });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe(param);
    expect(await originSaw(requestIdOf(res))).toEqual([]);
    await settledAll(tenantId);
  });
});
