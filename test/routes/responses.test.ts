/**
 * `POST /v1/responses`, `GET` and `DELETE /v1/responses/{id}` through the router (issue #17,
 * section 1), driven by the official SDK and by plain requests: translated to chat for the origins
 * that do not speak the Responses API (the pools here; passed through to those that do:
 * responses-native.test.ts), with budgets, fallback, affinity, usage and cost applying unchanged; stored per tenant
 * before the client is told the response is over; refused with a 400 naming the field when it
 * asks for what the router cannot do.
 */
import { SELF } from "cloudflare:test";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { renderChatPrompt } from "../../src/sim";
import { addBudget, api, ledgerOf, newTenant, originSaw, settledAll, usageOf } from "../support/client";
import { eventsOf, readStream, responseIdOf, sdk, simText, textStreamTypes, tokens } from "../support/responses";

const BASE = "http://router.test/v1";

const WEATHER_TOOL = {
  type: "function" as const,
  name: "get_weather",
  description: "Current weather in a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false },
  strict: true,
};

const textOf = (response: { output: Array<{ type: string; content?: Array<{ type: string; text?: string }> }> }) =>
  response.output.flatMap((o) => (o.type === "message" ? (o.content ?? []) : [])).map((p) => p.text ?? "").join("");

describe("POST /v1/responses", () => {
  it("translates to chat, answers in the Responses shape, priced, stored, with its usage row", async () => {
    const { tenantId, key } = await newTenant();
    const { data, response: res } = await sdk(key).responses.create({ model: "chat-pool", instructions: "Be brief.", input: "hi", metadata: { team: "search" }, user: "alice" }).withResponse();
    const requestId = res.headers.get("x-request-id")!;
    const chat = { model: "qwen2.5-7b", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "hi" }] };
    expect((await originSaw(requestId))[0]!.body).toEqual({ ...chat, user: "alice" });

    const text = simText(chat);
    const input = tokens(renderChatPrompt(chat));
    const output = text.trim().split(" ").length;
    // chat-pool: input free, 2 µ$ an output token.
    const cost = 2 * output;
    expect(data.id).toBe(responseIdOf(res));
    expect(data).toMatchObject({ object: "response", status: "completed", model: "chat-pool", instructions: "Be brief.", metadata: { team: "search" }, user: "alice", store: true });
    expect(data.output_text).toBe(text);
    expect(data.usage).toEqual({ input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + output, cost: cost / 1e6 });
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("x-router-cost-usd")).toBe(`0.${String(cost).padStart(6, "0")}`);
    expect(res.headers.get("x-router-origin")).toBe("pool");
    expect(await usageOf(tenantId, requestId)).toMatchObject({ endpoint: "responses", scenario: "chat-pool", completionTokens: output, costMicros: cost, user: "alice", metadata: { team: "search" } });

    const { output_text: _, ...stored } = await sdk(key).responses.retrieve(data.id);
    const { output_text: __, ...created } = data;
    expect(stored).toEqual(created);
  });

  it("streams the Responses events, usage and cost in response.completed, stored before it is sent", async () => {
    const { key } = await newTenant();
    const client = sdk(key);
    const { data: stream, response: res } = await client.responses.create({ model: "chat-pool", input: "hi", stream: true }).withResponse();
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    expect(res.headers.get("x-router-origin")).toBe("pool");
    const { types, text, completed } = await readStream(stream, async (response) => {
      // Read the moment the event arrives: the write it waited for has landed.
      expect(await client.responses.retrieve(response.id)).toMatchObject({ id: response.id, status: "completed" });
    });
    const chat = { model: "qwen2.5-7b", messages: [{ role: "user", content: "hi" }] };
    const words = simText(chat).trim().split(" ").length;
    expect(types).toEqual(textStreamTypes(words));
    expect(text).toBe(simText(chat));
    expect(completed!.usage).toMatchObject({ output_tokens: words, cost: (2 * words) / 1e6 });
  });

  it("previous_response_id: the stored turns follow this turn's instructions (earlier ones are not carried), and the chained history is the prefix affinity places by", async () => {
    const { tenantId, key } = await newTenant();
    const client = sdk(key);
    const long = `${crypto.randomUUID()} ${"Tell me about caches and routers. ".repeat(40)}`;
    const first = await client.responses.create({ model: "chat-affinity", instructions: "Be brief.", input: long }).withResponse();
    // What the first turn taught the tenant's prefix index has landed.
    await settledAll(tenantId);
    // As agents do, the same instructions again: OpenAI does not carry a previous turn's over.
    const second = await client.responses.create({ model: "chat-affinity", instructions: "Be brief.", previous_response_id: first.data.id, input: "And then?" }).withResponse();
    const [seen] = await originSaw(second.response.headers.get("x-request-id")!);
    expect((seen!.body as { messages: unknown }).messages).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: long },
      { role: "assistant", content: first.data.output_text },
      { role: "user", content: "And then?" },
    ]);
    expect(second.data.previous_response_id).toBe(first.data.id);
    expect(second.response.headers.get("x-router-origin")).toBe(first.response.headers.get("x-router-origin"));
    const predicted = Number(/predicted-cached-tokens=(\d+)/.exec(second.response.headers.get("x-router-affinity")!)![1]);
    expect(predicted).toBeGreaterThan(0);
  });

  it.each([false, true])("a tool-call round trip (stream: %s)", async (streamed) => {
    const { key } = await newTenant();
    const client = sdk(key);
    const first = streamed
      ? await client.responses.stream({ model: "chat-pool", input: "Weather in Paris?", tools: [WEATHER_TOOL] }).finalResponse()
      : await client.responses.create({ model: "chat-pool", input: "Weather in Paris?", tools: [WEATHER_TOOL] });
    const call = first.output[0];
    if (call?.type !== "function_call") throw new Error(`expected a function call, got ${JSON.stringify(first.output)}`);
    expect(call).toMatchObject({ type: "function_call", status: "completed", name: "get_weather" });
    expect(JSON.parse(call.arguments)).toEqual({ city: expect.any(String) });
    const params = { model: "chat-pool", previous_response_id: first.id, input: [{ type: "function_call_output" as const, call_id: call.call_id, output: '{"temperature":18}' }], tools: [WEATHER_TOOL] };
    const second = streamed ? await client.responses.stream(params).finalResponse() : await client.responses.create(params);
    expect(second.output.map((o) => o.type)).toEqual(["message"]);
    expect(textOf(second).length).toBeGreaterThan(0);
  });

  it("falls back before the first byte, like chat", async () => {
    const { key } = await newTenant();
    const res = await api("/responses", key, { model: "chat-dead-first", input: "hi" });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-router-attempts")!.replace(/;ms=\d+/g, "")).toBe("dead;result=connect_error, beta;result=200");
    expect(((await res.json()) as { status: string }).status).toBe("completed");
  });

  it("a stream the origin breaks ends with error and response.failed, and the failed response is stored", async () => {
    const { tenantId, key } = await newTenant();
    const res = await api("/responses", key, { model: "chat-pool", input: "hi", stream: true, sim: { pool: { cutAfterChunks: 2 } } });
    const events = eventsOf(await res.text());
    expect(events.slice(-2).map((e) => e.type)).toEqual(["error", "response.failed"]);
    expect(events.at(-2)!.code).toBe("upstream_stream_broken");
    expect(events.at(-1)!.response!.output).toHaveLength(1);
    const stored = (await (await api(`/responses/${responseIdOf(res)}`, key)).json()) as { status: string };
    expect(stored.status).toBe("failed");
    expect(await usageOf(tenantId, res.headers.get("x-request-id")!)).toMatchObject({ endpoint: "responses", outcome: "stream_broken" });
  });

  it("store: false keeps nothing: it cannot be read or continued", async () => {
    const { key } = await newTenant();
    const res = await api("/responses", key, { model: "chat-pool", input: "hi", store: false });
    expect(res.status).toBe(200);
    const id = responseIdOf(res);
    expect((await api(`/responses/${id}`, key)).status).toBe(404);
    const next = await api("/responses", key, { model: "chat-pool", input: "more", previous_response_id: id });
    expect(next.status).toBe(404);
  });

  it("a spent budget refuses it as chat: 429 insufficient_quota", async () => {
    const { tenantId, key } = await newTenant();
    await addBudget(tenantId, { metric: "cost", period: "day", limit: 1 });
    const err = await sdk(key).responses.create({ model: "chat-pool", input: "hi" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err).toMatchObject({ status: 429, code: "insufficient_quota" });
  });

  it.each([
    [{ input: "hi", tools: [{ type: "web_search" }] }, 400, "tools[0].type"],
    [{ input: "hi", background: true }, 400, "background"],
    [{ input: "hi", tool_choice: { type: "file_search" } }, 400, "tool_choice.type"],
    [{ input: [{ type: "item_reference", id: "x" }] }, 400, "input[0].type"],
    [{ input: "hi", previous_response_id: "resp_0123456789abcdef0123456789abcdef" }, 404, "previous_response_id"],
    [{ input: "hi", metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"])) }, 400, "metadata"],
  ])("refuses %j: %i naming '%s', OpenAI-shaped, reserving nothing", async (body, status, param) => {
    const { tenantId, key } = await newTenant();
    const res = await api("/responses", key, { model: "chat-pool", ...body });
    expect(res.status).toBe(status);
    const { error } = (await res.json()) as { error: { param: string; type: string; message: string } };
    expect(error.param).toBe(param);
    expect(typeof error.message).toBe("string");
    await settledAll(tenantId);
  });

  it("a bad key is a 401 whatever the body, before its previous_response_id is looked up", async () => {
    const res = await api("/responses", "tr-nobody-guess", { model: "chat-pool", input: "hi", previous_response_id: "resp_0123456789abcdef0123456789abcdef" });
    expect(res.status).toBe(401);
  });
});

describe("GET and DELETE /v1/responses/{id}", () => {
  it("a tenant reads and deletes its own responses only; unknown ids are OpenAI-shaped 404s", async () => {
    const a = await newTenant();
    const b = await newTenant();
    const created = await sdk(a.key).responses.create({ model: "chat-pool", input: "hi" });
    // Another tenant's key: the id is unknown to its ledger, and nothing is written there.
    const other = await api(`/responses/${created.id}`, b.key);
    expect(other.status).toBe(404);
    expect(await other.json()).toEqual({ error: { message: `Response with id '${created.id}' was not found.`, type: "not_found_error", param: null, code: "not_found" } });
    expect((await SELF.fetch(`${BASE}/responses/${created.id}`, { method: "DELETE", headers: { authorization: `Bearer ${b.key}` } })).status).toBe(404);
    expect(await ledgerOf(b.tenantId).getResponse(created.id, Date.now())).toBeNull();

    const client = sdk(a.key);
    expect((await client.responses.retrieve(created.id)).id).toBe(created.id);
    const deleted = await SELF.fetch(`${BASE}/responses/${created.id}`, { method: "DELETE", headers: { authorization: `Bearer ${a.key}` } });
    expect(await deleted.json()).toEqual({ id: created.id, object: "response", deleted: true });
    await expect(client.responses.retrieve(created.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(client.responses.delete(created.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    expect((await api("/responses/not-an-id", a.key)).status).toBe(404);
  });

  it("needs a valid key: none is a 401, a forged one too", async () => {
    expect((await api("/responses/resp_0123456789abcdef0123456789abcdef", null)).status).toBe(401);
    expect((await api("/responses/resp_0123456789abcdef0123456789abcdef", "tr-nobody-guess")).status).toBe(401);
  });
});
