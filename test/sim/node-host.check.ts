/**
 * Checks the Node host over real sockets (not a vitest file: vitest runs inside workerd, and this
 * needs node:http). Run with `npx tsx test/sim/node-host.check.ts`; exits non-zero on failure.
 */
import OpenAI from "openai";
import { embeddingVector } from "../../src/sim";
import { startSimServer, type SimServer } from "../../src/sim/node";
import { nodeProcess } from "../../src/sim/node-types";

const KEY = "sk-node-check";

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

function chatBody(extra: Record<string, unknown>): string {
  return JSON.stringify({ model: "m", messages: [{ role: "user", content: "node host check" }], ...extra });
}

function post(server: SimServer, origin: string, path: string, body: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${server.url}/${origin}/v1/${path}`, {
    method: "POST",
    ...init,
    headers: { "content-type": "application/json", ...(init.headers as Record<string, string> | undefined) },
    body,
  });
}

/** Reads a body chunk by chunk, with the time each chunk arrived; `error` is set if the read failed. */
async function readTimed(res: Response): Promise<{ chunks: string[]; times: number[]; error: unknown }> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const chunks: string[] = [];
  const times: number[] = [];
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { chunks, times, error: undefined };
      chunks.push(decoder.decode(value, { stream: true }));
      times.push(Date.now());
    }
  } catch (error) {
    return { chunks, times, error };
  }
}

function events(text: string): string[] {
  return text.split("\n\n").filter((e) => e.startsWith("data: ")).map((e) => e.slice(6));
}

const cases: Array<[string, (server: SimServer) => Promise<void>]> = [
  [
    "health and keep-alive",
    async (server) => {
      const res = await fetch(`${server.url}/_sim/health`);
      check(res.status === 200, `health status ${res.status}`);
      check(JSON.stringify(await res.json()) === '{"ok":true}', "health body");
      check(res.headers.get("connection") === "keep-alive", `connection: ${res.headers.get("connection")}`);
    },
  ],
  [
    "a streamed response arrives chunk by chunk as it is generated",
    async (server) => {
      // paced: 50 tokens/s → 20 ms between tokens, so chunks cannot all arrive in one read.
      const res = await post(server, "paced", "chat/completions", chatBody({ stream: true, max_tokens: 6 }));
      check(res.status === 200, `status ${res.status}`);
      check(res.headers.get("content-type") === "text/event-stream", "content-type");
      const { chunks, times, error } = await readTimed(res);
      check(error === undefined, `stream failed: ${String(error)}`);
      const data = events(chunks.join(""));
      check(data.length === 1 + 6 + 1 + 1, `expected role+6 tokens+finish+[DONE], got ${data.length} events`);
      check(data.at(-1) === "[DONE]", "ends with [DONE]");
      check(chunks.length >= 6, `expected the events in separate reads, got ${chunks.length}`);
      const first = times[0] ?? 0;
      const last = times.at(-1) ?? 0;
      check(last - first >= 5 * 20 - 10, `tokens arrived too close together (${last - first} ms)`);
    },
  ],
  [
    "a cut stream breaks the connection: reading the body rejects after N chunks",
    async (server) => {
      const res = await post(server, "fast", "chat/completions", chatBody({ stream: true, sim: { "*": { cutAfterChunks: 3 } } }));
      check(res.status === 200, `status ${res.status}`);
      const { chunks, error } = await readTimed(res);
      check(error !== undefined, "reading a cut stream should reject");
      const data = events(chunks.join(""));
      check(data.length === 4, `expected role + 3 token chunks before the cut, got ${data.length}`);
    },
  ],
  [
    "a cut plain response: res.text() rejects",
    async (server) => {
      const res = await post(server, "fast", "chat/completions", chatBody({ sim: { fast: { cutAfterChunks: 0 } } }));
      check(res.status === 200, `status ${res.status}`);
      const outcome = await res.text().then(() => "resolved", () => "rejected");
      check(outcome === "rejected", "text() of a cut body should reject");
    },
  ],
  [
    "a stalled stream ends when the client aborts, and the server stays usable",
    async (server) => {
      const abort = new AbortController();
      const res = await post(server, "fast", "chat/completions", chatBody({ stream: true, sim: { "*": { stallAfterChunks: 1 } } }), {
        signal: abort.signal,
      });
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      await reader.read();
      setTimeout(() => abort.abort(), 50);
      const outcome = await (async () => {
        for (;;) if ((await reader.read()).done) return "done";
      })().then(() => "ended", () => "rejected");
      check(outcome === "rejected", `expected the aborted read to reject, got ${outcome}`);
      const again = await post(server, "fast", "chat/completions", chatBody({}));
      check(again.status === 200, "server still answers");
      await again.text();
    },
  ],
  [
    "status faults, auth and the recorder over HTTP",
    async (server) => {
      const res = await post(server, "fast", "chat/completions", chatBody({ sim: { "*": { status: 503, retryAfter: 2 } } }));
      check(res.status === 503 && res.headers.get("retry-after") === "2", `503 + Retry-After, got ${res.status}`);
      await res.text();
      const denied = await post(server, "locked", "chat/completions", chatBody({}), { headers: { "x-request-id": "node-rec" } });
      check(denied.status === 401, `expected 401, got ${denied.status}`);
      await denied.text();
      const records = (await (await fetch(`${server.url}/_sim/requests/node-rec`)).json()) as Array<{
        origin: string;
        headers: Record<string, string>;
      }>;
      check(records.length === 1 && records[0]?.origin === "locked", "one record for locked");
      check(records[0]?.headers.host === new URL(server.url).host, "host header recorded");
    },
  ],
  [
    "the openai SDK: streaming chat and default (base64) embeddings",
    async (server) => {
      const client = new OpenAI({ apiKey: KEY, baseURL: `${server.url}/locked/v1`, maxRetries: 0 });
      const stream = await client.chat.completions.create({
        model: "m",
        messages: [{ role: "user", content: "hi" }],
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = "";
      let completionTokens = -1;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? "";
        if (chunk.usage) completionTokens = chunk.usage.completion_tokens;
      }
      check(text.split(" ").filter(Boolean).length === completionTokens, "streamed words = completion_tokens");
      const emb = await client.embeddings.create({ model: "e", input: "hello" });
      const expected = Array.from(embeddingVector("hello", 16));
      check(JSON.stringify(emb.data[0]?.embedding) === JSON.stringify(expected), "base64 embedding round-trips");
    },
  ],
];

const server = await startSimServer({
  sim: {
    origins: {
      fast: { profile: "vllm" },
      paced: { profile: "openai", decodeTokensPerSec: 50 },
      locked: { profile: "deepseek", apiKey: KEY },
    },
  },
});
let passed = 0;
let failed = 0;
for (const [name, run] of cases) {
  try {
    await run(server);
    passed++;
    console.log(`ok   ${name}`);
  } catch (err) {
    failed++;
    console.log(`FAIL ${name}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
await server.close();
console.log(`${passed} passed, ${failed} failed`);
if (failed > 0) nodeProcess().exitCode = 1;
