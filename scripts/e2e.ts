/**
 * End to end: the router started locally exactly as `npm start` does (wrangler dev, simulated
 * origins, demo tenant), and again as `npm run serve -- --demo` does (bare workerd), each driven by
 * the official `openai` SDK with only `baseURL` changed. Where the runtime's own HTTP layer matters
 * (a body's framing, an answer sent before the upload ended), the real server is the only honest
 * test. Prints one line per check and a closing "N passed, N failed"; exits non-zero on any failure.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI, { toFile } from "openai";
import demoConfig from "../src/config/demo.json";
import type { RouterConfigInput } from "../src/config/schema";
import { demoSimOptions, zeroLatency } from "../src/sim/demo";
import { startSimServer } from "../src/sim/node";
import { DEMO_SECRETS, LOCAL_VARS, pointAtSim } from "./lib/demo";
import { LOCAL_ADMIN_TOKEN, LOCAL_DEMO_KEY, freePort, startLocalRouter } from "./lib/local-router";
import { startRouterOnWorkerd } from "./lib/workerd-router";

/** Sends raw bytes over TCP and returns the status and body of the HTTP answer (the connection is closed by the request). */
async function rawHttp(base: string, request: string): Promise<{ status: number; body: string }> {
  const url = new URL(base);
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => socket.end(request));
    let data = "";
    socket.setTimeout(10_000, () => socket.destroy(new Error("no answer in 10 s")));
    socket.on("data", (d: Buffer) => (data += d.toString()));
    socket.on("end", () => resolve(data));
    socket.on("error", reject);
  });
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? NaN);
  return { status, body: answer.slice(answer.indexOf("\r\n\r\n") + 4) };
}

/**
 * Sends a raw HTTP/1.1 request and leaves: once what it read satisfies `until`, or after `until` ms,
 * closing (`fin`) or with a reset (`rst`).
 */
async function leaveMidway(base: string, key: string, body: unknown, until: ((seen: string) => boolean) | number, how: "fin" | "rst"): Promise<void> {
  const url = new URL(base);
  const json = JSON.stringify(body);
  await new Promise<void>((resolve, reject) => {
    const leave = () => {
      // destroy(): a full close, as a client that aborts does (FIN, then a reset for anything the
      // router still writes); end() would be a half-close, still listening.
      if (how === "rst") socket.resetAndDestroy();
      else socket.destroy();
      resolve();
    };
    const socket = connect(Number(url.port), url.hostname, () => {
      socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: router\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`);
      if (typeof until === "number") setTimeout(leave, until);
    });
    let seen = "";
    socket.on("data", (d: Buffer) => {
      seen += d.toString();
      if (typeof until === "function" && until(seen)) leave();
    });
    socket.on("error", reject);
  });
}

/** A fresh tenant and key through the admin API. */
async function freshKey(base: string, id: string): Promise<string> {
  const root = base.replace(/\/v1$/, "");
  const admin = { authorization: `Bearer ${LOCAL_ADMIN_TOKEN}`, "content-type": "application/json" };
  assert.equal((await fetch(`${root}/admin/tenants`, { method: "POST", headers: admin, body: JSON.stringify({ id }) })).status, 201);
  const created = (await (await fetch(`${root}/admin/tenants/${id}/keys`, { method: "POST", headers: admin, body: JSON.stringify({ name: "e2e" }) })).json()) as { key: string };
  return created.key;
}

/** Polls the key's usage until its one row appears (settlement runs after the response). */
async function onlyUsageRow(base: string, key: string): Promise<{ outcome: string; status: number; latencyMs: number }> {
  for (let i = 0; i < 100; i++) {
    const rows = ((await (await fetch(`${base}/usage`, { headers: { authorization: `Bearer ${key}` } })).json()) as { data: Array<{ outcome: string; status: number; latencyMs: number }> }).data;
    if (rows.length > 0) return rows[0]!;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("no usage row after 5 s");
}

type Runtime = "wrangler dev" | "workerd serve";

const WEATHER_PARAMETERS = { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false };
const CHAT_WEATHER_TOOL = { type: "function" as const, function: { name: "get_weather", description: "Current weather in a city", parameters: WEATHER_PARAMETERS } };
const RESPONSES_WEATHER_TOOL = { type: "function" as const, name: "get_weather", description: "Current weather in a city", parameters: WEATHER_PARAMETERS, strict: true };

let client: OpenAI;
const checks: Array<[string, (client: OpenAI, base: string) => Promise<void>, Runtime[]?]> = [
  [
    "models.list() returns the demo scenarios",
    async (client) => {
      const ids: string[] = [];
      for await (const model of client.models.list()) ids.push(model.id);
      assert.deepEqual(ids, ["chat-default", "chat-canary", "deepseek-v3", "embed-default"]);
    },
  ],
  [
    "the console (/console) signs the admin in and shows the overview, its script and stylesheet served by the Worker",
    async (_client, base) => {
      const root = base.replace(/\/v1$/, "");
      const cookieOf = (res: Response) => res.headers.getSetCookie().map((c) => c.split(";")[0]!).join("; ");
      const form = await fetch(`${root}/console/sign-in`);
      assert.equal(form.status, 200);
      assert.match(form.headers.get("content-security-policy") ?? "", /script-src 'self'/);
      const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
      const signIn = await fetch(`${root}/console/sign-in`, {
        method: "POST",
        redirect: "manual",
        headers: { origin: root, cookie: cookieOf(form), "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ _csrf: csrf, token: LOCAL_ADMIN_TOKEN }),
      });
      assert.equal(signIn.status, 303);
      assert.equal(signIn.headers.get("location"), "/console/overview");
      const overview = await fetch(`${root}/console/overview`, { headers: { cookie: cookieOf(signIn) } });
      assert.equal(overview.status, 200);
      assert.match(await overview.text(), /<h1>Overview<\/h1>/);
      for (const asset of ["console.js", "console.css"]) assert.equal((await fetch(`${root}/console/assets/${asset}`)).status, 200);
    },
  ],
  [
    "chat.completions.create() answers with content and usage",
    async (client) => {
      const { data, response } = await client.chat.completions
        .create({ model: "chat-default", messages: [{ role: "user", content: "Say hello" }], max_tokens: 12 })
        .withResponse();
      assert.equal(data.object, "chat.completion");
      assert.ok(data.choices[0]?.message.content && data.choices[0].message.content.length > 0);
      assert.ok(data.usage && data.usage.prompt_tokens > 0 && data.usage.completion_tokens > 0);
      assert.equal(response.headers.get("x-router-origin"), "pool-local");
      assert.equal(response.headers.get("x-router-scenario"), "chat-default");
      assert.match(response.headers.get("x-request-id") ?? "", /^req_[0-9a-f]{32}$/);
    },
  ],
  [
    "a streamed chat arrives chunk by chunk, with usage when asked",
    async (client) => {
      const stream = await client.chat.completions.create({
        model: "deepseek-v3",
        messages: [{ role: "user", content: "Stream please" }],
        stream: true,
        stream_options: { include_usage: true },
        max_tokens: 10,
      });
      let text = "";
      let chunks = 0;
      let usage: OpenAI.CompletionUsage | null | undefined;
      for await (const chunk of stream) {
        chunks++;
        text += chunk.choices[0]?.delta.content ?? "";
        if (chunk.usage) usage = chunk.usage;
      }
      assert.ok(chunks >= 10, `expected at least 10 chunks, got ${chunks}`);
      assert.equal(text.trim().split(/\s+/).length, 10);
      assert.equal(usage?.completion_tokens, 10);
    },
  ],
  [
    "a stream the origin breaks mid-way raises an APIError in the SDK",
    async (client) => {
      const body = {
        model: "chat-default",
        messages: [{ role: "user" as const, content: "Break" }],
        stream: true as const,
        sim: { "pool-local": { cutAfterChunks: 3 } },
      };
      const stream = await client.chat.completions.create(body);
      let text = "";
      await assert.rejects(
        (async () => {
          for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
        })(),
        (e: unknown) => e instanceof OpenAI.APIError && /broke off/.test(e.message),
      );
      assert.equal(text.trim().split(/\s+/).length, 3);
    },
  ],
  [
    "embeddings.create() decodes the vectors (base64 on the wire)",
    async (client) => {
      const result = await client.embeddings.create({ model: "embed-default", input: ["first", "second"] });
      assert.equal(result.data.length, 2);
      assert.equal(result.data[0]?.embedding.length, 16);
      const norm = Math.hypot(...(result.data[0]?.embedding ?? []));
      assert.ok(Math.abs(norm - 1) < 1e-3, `unit vector expected, norm ${norm}`);
    },
  ],
  [
    "a chat tool-call round trip: the call, then the answer to its result (not streamed)",
    async (client) => {
      const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: "user", content: "Weather in Paris?" }];
      const first = await client.chat.completions.create({ model: "chat-default", messages, tools: [CHAT_WEATHER_TOOL] });
      const call = first.choices[0]?.message.tool_calls?.[0];
      assert.equal(first.choices[0]?.finish_reason, "tool_calls");
      assert.ok(call && call.type === "function" && call.function.name === "get_weather");
      assert.equal(typeof (JSON.parse(call.function.arguments) as { city: unknown }).city, "string");
      messages.push(first.choices[0]!.message, { role: "tool", tool_call_id: call.id, content: '{"temperature":18}' });
      const second = await client.chat.completions.create({ model: "chat-default", messages, tools: [CHAT_WEATHER_TOOL] });
      assert.equal(second.choices[0]?.finish_reason, "stop");
      assert.ok((second.choices[0]?.message.content ?? "").length > 0);
    },
  ],
  [
    "a chat tool-call round trip, streamed: the SDK's runTools runs the tool and gets the answer",
    async (client) => {
      let ran = 0;
      const runner = client.chat.completions.runTools({
        model: "chat-default",
        stream: true,
        messages: [{ role: "user", content: "Weather in Paris?" }],
        tools: [{ type: "function", function: { ...CHAT_WEATHER_TOOL.function, function: (args: { city: string }) => (ran++, { city: args.city, temperature: 18 }), parse: JSON.parse } }],
      });
      const answer = await runner.finalContent();
      assert.equal(ran, 1);
      assert.ok(answer && answer.length > 0);
    },
  ],
  [
    "completions.create() answers, priced (x-router-cost-usd, usage.cost)",
    async (client) => {
      const { data, response } = await client.completions.create({ model: "chat-default", prompt: "Once upon a time", max_tokens: 6 }).withResponse();
      assert.equal(data.object, "text_completion");
      assert.equal(data.choices[0]?.text.trim().split(/\s+/).length, 6);
      assert.equal(data.usage?.completion_tokens, 6);
      const cost = (data.usage as { cost?: number } | undefined)?.cost;
      assert.equal(typeof cost, "number");
      assert.equal(response.headers.get("x-router-cost-usd"), cost!.toFixed(6));
    },
  ],
  [
    "completions.create() streamed, with usage and its cost when asked",
    async (client) => {
      const stream = await client.completions.create({ model: "chat-default", prompt: "Once upon a time", max_tokens: 5, stream: true, stream_options: { include_usage: true } });
      let text = "";
      let usage: (OpenAI.CompletionUsage & { cost?: number }) | undefined;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.text ?? "";
        if (chunk.usage) usage = chunk.usage;
      }
      assert.equal(text.trim().split(/\s+/).length, 5);
      assert.equal(usage?.completion_tokens, 5);
      assert.equal(typeof usage?.cost, "number");
    },
  ],
  [
    "responses.create(): plain, priced, stored; retrieve() returns it, delete() removes it",
    async (client) => {
      const { data, response } = await client.responses.create({ model: "chat-default", instructions: "Be brief.", input: "Say hello" }).withResponse();
      assert.match(data.id, /^resp_[0-9a-f]{32}$/);
      assert.equal(data.status, "completed");
      assert.ok(data.output_text.length > 0);
      const cost = (data.usage as { cost?: number } | undefined)?.cost;
      assert.equal(response.headers.get("x-router-cost-usd"), cost!.toFixed(6));
      const retrieved = await client.responses.retrieve(data.id);
      assert.equal(retrieved.output_text, data.output_text);
      await client.responses.delete(data.id);
      await assert.rejects(client.responses.retrieve(data.id), (e: unknown) => e instanceof OpenAI.NotFoundError);
    },
  ],
  [
    "responses.create() streamed: the events arrive in order, response.completed with usage",
    async (client) => {
      const stream = await client.responses.create({ model: "chat-default", input: "Stream please", stream: true });
      const types: string[] = [];
      let text = "";
      let completed: OpenAI.Responses.Response | undefined;
      for await (const event of stream) {
        types.push(event.type);
        if (event.type === "response.output_text.delta") text += event.delta;
        if (event.type === "response.completed") completed = event.response;
      }
      assert.deepEqual(types.slice(0, 4), ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"]);
      assert.equal(types.at(-1), "response.completed");
      assert.ok(text.length > 0);
      assert.ok(completed?.usage && completed.usage.output_tokens > 0);
      assert.equal((await client.responses.retrieve(completed.id)).status, "completed");
    },
  ],
  [
    "responses.create() with previous_response_id continues the stored conversation",
    async (client) => {
      const first = await client.responses.create({ model: "chat-default", input: "My name is Ada." });
      const second = await client.responses.create({ model: "chat-default", previous_response_id: first.id, input: "What is my name?" });
      assert.equal(second.previous_response_id, first.id);
      assert.ok(second.output_text.length > 0);
      // The second turn's prompt holds the first turn: it is counted.
      assert.ok(second.usage!.input_tokens > first.usage!.input_tokens + first.usage!.output_tokens);
    },
  ],
  ...([false, true] as const).map(
    (streamed): [string, (client: OpenAI) => Promise<void>] => [
      `a Responses tool-call round trip over previous_response_id (${streamed ? "streamed" : "not streamed"})`,
      async (client) => {
        const params = { model: "chat-default", input: "Weather in Paris?", tools: [RESPONSES_WEATHER_TOOL] };
        const first = streamed ? await client.responses.stream(params).finalResponse() : await client.responses.create(params);
        const call = first.output.find((o) => o.type === "function_call");
        assert.ok(call && call.type === "function_call" && call.name === "get_weather");
        const next = { model: "chat-default", previous_response_id: first.id, tools: [RESPONSES_WEATHER_TOOL], input: [{ type: "function_call_output" as const, call_id: call.call_id, output: '{"temperature":18}' }] };
        const second = streamed ? await client.responses.stream(next).finalResponse() : await client.responses.create(next);
        assert.deepEqual(second.output.map((o) => o.type), ["message"]);
        assert.equal(second.status, "completed");
      },
    ],
  ),
  [
    "responses.create() with a built-in tool is a 400 naming the field",
    async (client) => {
      await assert.rejects(
        client.responses.create({ model: "chat-default", input: "hi", tools: [{ type: "web_search" }] }),
        (e: unknown) => e instanceof OpenAI.BadRequestError && e.param === "tools[0].type",
      );
    },
  ],
  [
    "an unknown model raises NotFoundError with OpenAI's code",
    async (client) => {
      await assert.rejects(
        client.chat.completions.create({ model: "gpt-9", messages: [{ role: "user", content: "x" }] }),
        (e: unknown) => e instanceof OpenAI.NotFoundError && e.status === 404 && e.code === "model_not_found",
      );
    },
  ],
  [
    "a spent budget raises RateLimitError with code insufficient_quota; rate-limit headers are OpenAI's",
    async (_client, base) => {
      const admin = { authorization: `Bearer ${LOCAL_ADMIN_TOKEN}`, "content-type": "application/json" };
      const root = base.replace(/\/v1$/, "");
      const post = (path: string, body: unknown) => fetch(`${root}/admin${path}`, { method: "POST", headers: admin, body: JSON.stringify(body) });
      assert.equal((await post("/tenants", { id: "e2e_budget" })).status, 201);
      const { key } = (await (await post("/tenants/e2e_budget/keys", { name: "sdk" })).json()) as { key: string };
      assert.equal((await post("/tenants/e2e_budget/budgets", { metric: "cost", period: "day", limit: 1 })).status, 201);
      const tenant = new OpenAI({ baseURL: base, apiKey: key, maxRetries: 0 });
      const { response } = await tenant.models.list().withResponse();
      assert.equal(response.status, 200);
      await assert.rejects(
        tenant.chat.completions.create({ model: "chat-default", messages: [{ role: "user", content: "x" }] }),
        (e: unknown) => e instanceof OpenAI.RateLimitError && e.code === "insufficient_quota" && e.type === "insufficient_quota",
      );
      const { response: served } = await client.chat.completions
        .create({ model: "chat-default", messages: [{ role: "user", content: "x" }], max_tokens: 8 })
        .withResponse();
      assert.match(served.headers.get("x-ratelimit-remaining-requests") ?? "", /^\d+$/);
      assert.match(served.headers.get("x-ratelimit-reset-tokens") ?? "", /^\d+(ms|(\.\d+)?s|m\d+s)$/);
    },
  ],
  [
    // Issue #12, item 5: the router answered before reading the upload; the runtime then closed the
    // connection under the client, and the SDK saw APIConnectionError and retried the 5 MB thrice.
    // The reset came about one time in five on loopback: ten tries, no retries, each must be a 413.
    "a 5 MiB message raises the documented 413, not a connection error (10 of 10)",
    async (client) => {
      const big = "x".repeat(5 * 1024 * 1024);
      for (let i = 0; i < 10; i++) {
        await assert.rejects(
          client.chat.completions.create({ model: "chat-default", messages: [{ role: "user", content: big }] }),
          (e: unknown) => e instanceof OpenAI.APIError && !(e instanceof OpenAI.APIConnectionError) && e.status === 413 && e.code === "request_too_large",
        );
      }
    },
  ],
  [
    // Issue #12, item 6: workerd's reader throws on a malformed chunk; that was a 500.
    "a body with malformed chunked framing is a 400 invalid_body",
    async (_client, base) => {
      const body = '{"model":"chat-default","messages":[{"role":"user","content":"hi"}]}';
      const { status, body: text } = await rawHttp(
        base,
        `POST /v1/chat/completions HTTP/1.1\r\nHost: router\r\nAuthorization: Bearer ${LOCAL_DEMO_KEY}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nZZZ\r\n${body}\r\n0\r\n\r\n`,
      );
      assert.equal(status, 400);
      assert.equal((JSON.parse(text) as { error: { code: string } }).error.code, "invalid_body");
    },
    // wrangler dev's Node proxy answers malformed framing itself, before the Worker runs.
    ["workerd serve"],
  ],
  [
    // Issue #12, item 8. A stalled stream writes nothing, so a client that closes its end gracefully
    // is noticed only by the keep-alive comment whose write fails: the serve config below sets it
    // to 300 ms. Before, the origin call and the reservation were held until the total timeout.
    "a client that closes a stalled stream is settled as stream_cancelled at once",
    async (_client, base) => {
      const key = await freshKey(base, "e2e_leave_stream");
      const body = { model: "chat-default", stream: true, messages: [{ role: "user", content: "stall" }], sim: { "pool-local": { stallAfterChunks: 2 } } };
      const left = Date.now();
      await leaveMidway(base, key, body, (seen) => (seen.match(/"content":"[^"]/g) ?? []).length >= 2, "fin");
      const row = await onlyUsageRow(base, key);
      assert.equal(row.outcome, "stream_cancelled");
      assert.ok(Date.now() - left < 5_000, `settled ${Date.now() - left} ms after the client left`);
    },
    ["workerd serve"],
  ],
  [
    // A non-streamed request writes nothing until its answer: only a reset connection (or, at the
    // edge, Cloudflare's front end) tells the runtime the client left; request.signal then fires.
    "a client that resets a waiting non-streamed request cancels it, settled as cancelled",
    async (_client, base) => {
      const key = await freshKey(base, "e2e_leave_json");
      const body = { model: "chat-default", messages: [{ role: "user", content: "stall" }], sim: { "pool-local": { stallAfterChunks: 0 } } };
      await leaveMidway(base, key, body, 300, "rst");
      const left = Date.now();
      const row = await onlyUsageRow(base, key);
      assert.equal(row.outcome, "cancelled");
      assert.equal(row.status, 499);
      assert.ok(Date.now() - left < 5_000, `settled ${Date.now() - left} ms after the client left`);
    },
    ["workerd serve"],
  ],
  [
    "a wrong key raises AuthenticationError",
    async (_client, base) => {
      const intruder = new OpenAI({ baseURL: base, apiKey: "tr-demo-wrong", maxRetries: 0 });
      await assert.rejects(intruder.models.list(), (e: unknown) => e instanceof OpenAI.AuthenticationError && e.status === 401);
    },
  ],
  [
    "the Batch API: files.create, batches.create, poll, files.content (output and error files)",
    async (client) => {
      const lines = [
        { custom_id: "hello", method: "POST", url: "/v1/chat/completions", body: { model: "chat-default", messages: [{ role: "user", content: "Say hello" }], max_tokens: 8 } },
        { custom_id: "bye", method: "POST", url: "/v1/chat/completions", body: { model: "chat-default", messages: [{ role: "user", content: "Say bye" }], max_tokens: 8 } },
        { custom_id: "refused", method: "POST", url: "/v1/chat/completions", body: { model: "chat-default", messages: [{ role: "user", content: "No" }], sim: { "*": { status: 400 } } } },
      ];
      const jsonl = lines.map((l) => `${JSON.stringify(l)}\n`).join("");
      const file = await client.files.create({ file: await toFile(Buffer.from(jsonl), "requests.jsonl"), purpose: "batch" });
      assert.equal(file.purpose, "batch");
      assert.equal(file.bytes, Buffer.byteLength(jsonl));
      let batch = await client.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h", metadata: { run: "e2e" } });
      const deadline = Date.now() + 30_000;
      while (!["completed", "failed", "expired", "cancelled"].includes(batch.status)) {
        assert.ok(Date.now() < deadline, `batch still ${batch.status} after 30 s`);
        await new Promise((r) => setTimeout(r, 200));
        batch = await client.batches.retrieve(batch.id);
      }
      assert.equal(batch.status, "completed");
      assert.deepEqual(batch.request_counts, { total: 3, completed: 2, failed: 1 });
      const output = (await (await client.files.content(batch.output_file_id!)).text()).trimEnd().split("\n").map((l) => JSON.parse(l));
      assert.deepEqual(output.map((l) => [l.custom_id, l.response.status_code]), [["hello", 200], ["bye", 200]]);
      assert.ok(output.every((l) => l.response.body.choices[0].message.content.length > 0));
      const errors = (await (await client.files.content(batch.error_file_id!)).text()).trimEnd().split("\n").map((l) => JSON.parse(l));
      assert.deepEqual(errors.map((l) => [l.custom_id, l.response.status_code]), [["refused", 400]]);
      const listed: string[] = [];
      for await (const b of client.batches.list({ limit: 1 })) listed.push(b.id);
      assert.ok(listed.includes(batch.id));
      assert.equal((await client.files.delete(file.id)).deleted, true);
    },
  ],
  [
    // Issue #12, item 1: 3,000 wrong admin tokens in 1.3 s all got plain 401s. The default limit is
    // a burst of 20 failures per address, then 10 a minute; on bare workerd the address is the
    // connection's peer (127.0.0.1 here), and a client's own `cf-connecting-ip` is no address: each
    // guess below forges another, and they all count as one client's. Last: it leaves this router's
    // admin API refusing for a while.
    "failed authentications are limited: 429 past the burst, forged addresses or not, the right admin token included; a valid key still served",
    async (client, base) => {
      const root = base.replace(/\/v1$/, "");
      const admin = (token: string, forged?: string) => fetch(`${root}/admin/tenants`, { headers: { authorization: `Bearer ${token}`, ...(forged ? { "cf-connecting-ip": forged } : {}) } });
      const tenantKey = await freshKey(base, "e2e_limits");
      const statuses: number[] = [];
      for (let i = 0; i < 25; i++) statuses.push((await admin(`wrong-${i}`, `203.0.113.${i}`)).status);
      assert.deepEqual(statuses, [...Array(20).fill(401), ...Array(5).fill(429)]);
      const refused = await admin(LOCAL_ADMIN_TOKEN);
      assert.equal(refused.status, 429);
      assert.ok(Number(refused.headers.get("retry-after")) >= 1);
      // Tenant keys count apart from admin tokens, and a key the router issued is never slowed.
      const forged: number[] = [];
      for (let i = 0; i < 25; i++) forged.push((await fetch(`${base}/models`, { headers: { authorization: `Bearer tr-e2e_limits-guess${i}` } })).status);
      assert.equal(forged.filter((s) => s === 401).length, 20 - 1); // the check above failed once already
      assert.ok(forged.slice(19).every((s) => s === 429), forged.join(","));
      assert.equal((await fetch(`${base}/models`, { headers: { authorization: `Bearer ${tenantKey}` } })).status, 200);
      void client;
    },
    ["workerd serve"],
  ],
];

/** `wrangler dev` of the Worker with these vars: its exit status and output (it should not start). */
async function devWith(vars: Record<string, string>): Promise<{ status: number | null; output: string }> {
  const run = spawnSync(
    "npx",
    [
      "wrangler",
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(await freePort()),
      "--persist-to",
      stateDir,
      "--show-interactive-dev-session=false",
      ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
    ],
    { encoding: "utf8", timeout: 60_000, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" } },
  );
  return { status: run.status, output: run.stdout + run.stderr };
}

/**
 * The Worker itself refuses to start on a bad config (not only the scripts' own checks), listing
 * every problem; and the bundled demo config, whose origins are loopback, stops a Worker that is
 * not a local run, as `wrangler deploy` of it would be stopped at upload.
 */
async function badConfigStopsTheWorker(): Promise<void> {
  const bad = { version: 1, origins: { a: { baseUrl: "http://127.0.0.1:9/v1", provider: "acme" } }, scenarios: { chat: { candidates: [{ origin: "b", model: "m" }] } } };
  const local = await devWith({ ...LOCAL_VARS, ROUTER_CONFIG: JSON.stringify(bad) });
  assert.notEqual(local.status, 0, "wrangler dev should have failed");
  assert.match(local.output, /origins\.a\.provider: Invalid option/);
  assert.match(local.output, /scenarios\.chat\.candidates\[0\]\.origin: unknown origin "b"/);

  const demoAtTheEdge = await devWith({});
  assert.notEqual(demoAtTheEdge.status, 0, "the demo config should not start outside a local run");
  assert.match(demoAtTheEdge.output, /origins\.pool-local\.baseUrl: a loopback address is refused outside a local run/);

  const deploy = spawnSync("npx", ["tsx", "scripts/deploy.ts", "--dry-run"], { encoding: "utf8", env: { ...process.env, ROUTER_CONFIG: "src/config/demo.json" } });
  assert.notEqual(deploy.status, 0, "npm run deploy of the demo config should refuse");
  assert.match(deploy.stdout + deploy.stderr, /origins\.maas-beta\.baseUrl: a loopback address is refused/);
}

const stateDir = mkdtempSync(join(tmpdir(), "token-router-e2e-"));
let passed = 0;
let failed = 0;

async function runChecks(runtime: Runtime, base: string): Promise<void> {
  client = new OpenAI({ baseURL: base, apiKey: LOCAL_DEMO_KEY, maxRetries: 0 });
  for (const [name, check, runtimes] of checks) {
    if (runtimes && !runtimes.includes(runtime)) continue;
    try {
      await check(client, base);
      passed++;
      console.log(`  ✓ e2e (${runtime}): ${name}`);
    } catch (e) {
      failed++;
      console.log(`  ✗ e2e (${runtime}): ${name}\n    ${String((e as Error).stack ?? e).split("\n").slice(0, 6).join("\n    ")}`);
    }
  }
}

try {
  const router = await startLocalRouter({ port: await freePort(), simPort: await freePort(), zeroLatency: true, persistTo: join(stateDir, "wrangler"), quiet: true });
  try {
    await runChecks("wrangler dev", `${router.url}/v1`);
  } finally {
    await router.stop();
  }
  try {
    await badConfigStopsTheWorker();
    passed++;
    console.log("  ✓ e2e: a bad config, and the demo config outside a local run, stop the Worker at start, naming every field");
  } catch (e) {
    failed++;
    console.log(`  ✗ e2e: a bad config stops the Worker at start\n    ${String(e).slice(0, 2000)}`);
  }
  const sim = await startSimServer({ host: "127.0.0.1", port: 0, sim: zeroLatency(demoSimOptions) });
  try {
    const served = await startRouterOnWorkerd({
      address: "127.0.0.1:0",
      routerConfig: JSON.stringify({ ...pointAtSim(demoConfig as RouterConfigInput, sim.url), limits: { streamHeartbeatMs: 300 } }),
      secrets: { ...DEMO_SECRETS },
      stateDir: join(stateDir, "workerd"),
      quiet: true,
    });
    try {
      await runChecks("workerd serve", `${served.url}/v1`);
    } finally {
      await served.stop();
    }
  } finally {
    await sim.close();
  }
} finally {
  rmSync(stateDir, { recursive: true, force: true });
}
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
