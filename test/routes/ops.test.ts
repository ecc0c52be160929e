/**
 * What load balancers and monitoring read: /healthz, /readyz, /metrics (parsed, and checked against
 * the traffic sent), and the one structured log line every request leaves.
 */
import { SELF } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { dataPointOf, type RequestLine } from "../../src/observe/request-log";
import { adminFetch, chat, ledgerOf, newTenant, settledAll } from "../support/client";
import { ADMIN_READ_TOKEN, ADMIN_TOKEN } from "../support/router-config";

const BASE = "http://router.test";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus' text format, checking that every sample's family was declared first. */
function parseMetrics(text: string): Sample[] {
  const declared = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const type = /^# TYPE (\S+) (counter|gauge|histogram)$/.exec(line);
    if (type) declared.set(type[1]!, type[2]!);
    if (line.startsWith("#")) continue;
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample: ${line}`);
    const name = m[1]!;
    const family = declared.has(name) ? name : name.replace(/_(bucket|sum|count)$/, "");
    if (!declared.has(family)) throw new Error(`sample of an undeclared family: ${line}`);
    const labels = Object.fromEntries([...(m[2] ?? "").matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]));
    samples.push({ name, labels, value: Number(m[3]) });
  }
  return samples;
}

async function scrape(): Promise<Sample[]> {
  const res = await SELF.fetch(`${BASE}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  return parseMetrics(await res.text());
}

function value(samples: Sample[], name: string, labels: Record<string, string>): number {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return found.reduce((n, s) => n + s.value, 0);
}

afterEach(() => vi.restoreAllMocks());

describe("health probes", () => {
  it("/healthz answers without auth and says nothing else", async () => {
    const res = await SELF.fetch(`${BASE}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.json()).toEqual({ status: "ok" });
  });

  it("/readyz checks the config store, the directory and the monitors, and names only the checks", async () => {
    const res = await SELF.fetch(`${BASE}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ready", checks: { config: "ok", directory: "ok", monitors: "ok" } });
  });
});

describe("GET /metrics", () => {
  it("needs the admin token or the read-only one", async () => {
    expect((await SELF.fetch(`${BASE}/metrics`)).status).toBe(401);
    const read = await SELF.fetch(`${BASE}/metrics`, { headers: { authorization: `Bearer ${ADMIN_READ_TOKEN}` } });
    expect(read.status).toBe(200);
  });

  it("counts the requests, tokens and cost sent, per scenario and origin, as the usage log does", async () => {
    const { tenantId, key } = await newTenant();
    const before = await scrape();
    let prompt = 0;
    let completion = 0;
    for (let i = 0; i < 3; i++) {
      const res = await chat(key, { model: "chat-alpha-only", max_tokens: 8 });
      expect(res.status).toBe(200);
      const usage = ((await res.json()) as { usage: { prompt_tokens: number; completion_tokens: number } }).usage;
      prompt += usage.prompt_tokens;
      completion += usage.completion_tokens;
    }
    expect((await chat(key, { model: "no-such-model" })).status).toBe(404);
    await settledAll(tenantId);
    const rows = (await ledgerOf(tenantId).queryUsage({}))!.data;
    const cost = rows.reduce((n, r) => n + r.costMicros, 0);
    expect(cost).toBeGreaterThan(0);

    const after = await scrape();
    const at = { scenario: "chat-alpha-only", origin: "alpha" };
    const delta = (name: string, labels: Record<string, string>) => value(after, name, labels) - value(before, name, labels);
    expect(delta("token_router_requests_total", { ...at, endpoint: "chat", status: "200" })).toBe(3);
    expect(delta("token_router_tokens_total", { ...at, kind: "prompt" })).toBe(prompt);
    expect(delta("token_router_tokens_total", { ...at, kind: "completion" })).toBe(completion);
    expect(delta("token_router_cost_usd_total", at)).toBeCloseTo(cost / 1e6, 9);
    expect(delta("token_router_request_duration_seconds_count", { ...at, endpoint: "chat" })).toBe(3);
    expect(delta("token_router_request_duration_seconds_bucket", { ...at, endpoint: "chat", le: "+Inf" })).toBe(3);
    // The refused request: an error with its status, no scenario served it.
    expect(delta("token_router_errors_total", { endpoint: "chat", scenario: "", origin: "", status: "404" })).toBe(1);

    // From the monitors (global): every configured origin has its circuit state, exactly one of them 1.
    const states = after.filter((s) => s.name === "token_router_origin_circuit_state" && s.labels.origin === "alpha");
    expect(states.map((s) => s.labels.state).sort()).toEqual(["closed", "half_open", "open"]);
    expect(states.reduce((n, s) => n + s.value, 0)).toBe(1);
    expect(value(after, "token_router_isolate_info", {})).toBe(1);
  });
});

describe("the request log line", () => {
  it("is one JSON line per request, with tenant, key, scenario, origin, status, tokens, cost and latency, and no prompt or secret", async () => {
    const { tenantId, key, keyId } = await newTenant();
    const lines: string[] = [];
    const log = vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)));
    const res = await chat(key, { model: "chat-alpha-only", max_tokens: 8, messages: [{ role: "user", content: "a secret prompt" }] });
    expect(res.status).toBe(200);
    const requestId = res.headers.get("x-request-id")!;
    await settledAll(tenantId);
    const row = (await ledgerOf(tenantId).usageOf(requestId))!;
    log.mockRestore();
    const mine = lines.filter((l) => l.includes(requestId));
    expect(mine).toHaveLength(1);
    const line = JSON.parse(mine[0]!) as RequestLine;
    expect(line).toEqual({
      type: "request",
      requestId,
      method: "POST",
      path: "/v1/chat/completions",
      tenant: tenantId,
      keyId,
      leased: expect.any(Boolean),
      status: 200,
      latencyMs: row.latencyMs,
      endpoint: "chat",
      scenario: "chat-alpha-only",
      origin: "alpha",
      model: "alpha-large",
      stream: false,
      outcome: "ok",
      promptTokens: row.promptTokens,
      cachedTokens: row.cachedTokens,
      completionTokens: row.completionTokens,
      costMicros: row.costMicros,
      costUsd: row.costMicros / 1e6,
    });
    expect(mine[0]).not.toContain("secret prompt");
    expect(mine[0]).not.toContain(key);
  });

  it("is written after a stream's last byte, with the stream's tokens; refused requests leave one too", async () => {
    const { tenantId, key } = await newTenant();
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)));
    const res = await chat(key, { model: "chat-alpha-only", stream: true, stream_options: { include_usage: true }, max_tokens: 8 });
    const requestId = res.headers.get("x-request-id")!;
    await res.text();
    await settledAll(tenantId);
    const streamed = lines.filter((l) => l.includes(requestId)).map((l) => JSON.parse(l) as RequestLine);
    expect(streamed).toHaveLength(1);
    expect(streamed[0]).toMatchObject({ stream: true, status: 200, outcome: "ok" });
    expect(streamed[0]!.completionTokens).toBeGreaterThan(0);

    const refused = await chat("tr-nobody-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", { model: "chat-alpha-only" });
    expect(refused.status).toBe(401);
    const refusedLines = lines.filter((l) => l.includes(refused.headers.get("x-request-id")!)).map((l) => JSON.parse(l) as RequestLine);
    expect(refusedLines).toEqual([{ type: "request", requestId: refused.headers.get("x-request-id"), method: "POST", path: "/v1/chat/completions", status: 401, latencyMs: expect.any(Number) }]);

    const admin = await adminFetch("/tenants?limit=1");
    expect(lines.filter((l) => l.includes(admin.headers.get("x-request-id")!))).toHaveLength(1);
  });

  it("maps to one Analytics Engine data point: blobs, doubles and the tenant as index", () => {
    const line: RequestLine = {
      type: "request",
      requestId: "req_1",
      method: "POST",
      path: "/v1/chat/completions",
      status: 200,
      latencyMs: 120,
      tenant: "acme",
      keyId: "key_1",
      endpoint: "chat",
      scenario: "chat",
      origin: "pool",
      outcome: "ok",
      promptTokens: 10,
      cachedTokens: 4,
      completionTokens: 5,
      costMicros: 42,
    };
    expect(dataPointOf(line)).toEqual({
      indexes: ["acme"],
      blobs: ["req_1", "acme", "key_1", "chat", "pool", "ok", "/v1/chat/completions", "chat"],
      doubles: [200, 120, 10, 42, 5, 4],
    });
  });
});
