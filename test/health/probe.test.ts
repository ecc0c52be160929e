/**
 * Active probes: against the simulated origins the suite runs (real loopback TCP, `dead` on a
 * closed port), and against a scripted fetch for the answers the simulator does not give (slow,
 * 5xx, 429, not JSON). Then `runProbes` end to end: every origin probed, each result at its monitor.
 */
import { env } from "cloudflare:workers";
import { describe, expect, inject, it, vi } from "vitest";
import { parseRouterConfig } from "../../src/config/load";
import type { OriginConfig, RouterConfig } from "../../src/config/schema";
import { probeOrigin, runProbes } from "../../src/health/probe";
import { ALPHA_API_KEY, testRouterConfig } from "../support/router-config";

const config = (): RouterConfig => parseRouterConfig(testRouterConfig(inject("simUrl")));
const secrets = (name: string) => (name === "ALPHA_API_KEY" ? ALPHA_API_KEY : undefined);
const realFetch = (input: string, init: RequestInit) => fetch(input, init);
/** A clock that stands still: latencies are 0, so samples compare exactly. */
const frozen = () => 7_000;

describe("probeOrigin against the simulated origins", () => {
  it.each<[string, (name: string) => string | undefined, object | null]>([
    ["pool", secrets, { at: 7_000, ok: true, kind: "ok", latencyMs: 0, probe: true }],
    ["alpha", secrets, { at: 7_000, ok: true, kind: "ok", latencyMs: 0, probe: true }],
    // The simulator refuses a wrong key with 401: our requests would fail the same way.
    ["alpha", () => "sk-wrong", { at: 7_000, ok: false, kind: "invalid_response", latencyMs: 0, probe: true }],
    // No key at all says nothing about the origin: no sample.
    ["alpha", () => undefined, null],
    ["dead", secrets, { at: 7_000, ok: false, kind: "connect_error", latencyMs: 0, probe: true }],
  ])("%s", async (name, readSecret, expected) => {
    expect(await probeOrigin(config().origins[name]!, readSecret, realFetch, frozen)).toEqual(expected);
  });

  it("sends GET {baseUrl}/models with the origin's key and no body headers", async () => {
    const seen: Array<{ url: string; method: string; headers: Headers }> = [];
    const spy = async (url: string, init: RequestInit) => {
      seen.push({ url, method: init.method!, headers: new Headers(init.headers) });
      return fetch(url, init);
    };
    const alpha = config().origins.alpha!;
    await probeOrigin(alpha, secrets, spy, frozen);
    expect(seen[0]!.url).toBe(`${alpha.baseUrl}/models`);
    expect(seen[0]!.method).toBe("GET");
    expect(seen[0]!.headers.get("authorization")).toBe(`Bearer ${ALPHA_API_KEY}`);
    expect(seen[0]!.headers.get("content-type")).toBeNull();
    expect(seen[0]!.headers.get("x-request-id")).toMatch(/^probe_/);
    // An origin's redirect is never followed (issue #12): a 3xx is a failing origin.
    expect(seen.map((s) => s.url)).toHaveLength(1);
  });

  it("never follows a redirect: it is a failing origin", async () => {
    const inits: RequestInit[] = [];
    const redirecting = async (_: string, init: RequestInit) => {
      inits.push(init);
      return new Response(null, { status: 307, headers: { location: "http://elsewhere.test/v1/models" } });
    };
    const sample = await probeOrigin(config().origins.pool!, secrets, redirecting, frozen);
    expect(inits.map((i) => i.redirect)).toEqual(["manual"]);
    expect(sample).toEqual({ at: 7_000, ok: false, kind: "invalid_response", latencyMs: 0, probe: true });
  });
});

describe("probeOrigin's classification", () => {
  const origin: OriginConfig = { ...config().origins.pool!, timeouts: { firstByteMs: 50, totalMs: 1_000 } };
  const answer = (response: () => Response) => async () => response();
  /** Never answers; fails only when aborted, as fetch does. */
  const silent = (_: string, init: RequestInit) =>
    new Promise<Response>((_, reject) => init.signal!.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))));
  /** Headers at once, then a body that never ends. */
  const stalling = async () => new Response(new ReadableStream({ start: (c) => c.enqueue(new TextEncoder().encode("{")) }));

  it.each<[string, string, (url: string, init: RequestInit) => Promise<Response>]>([
    ["no headers before the first-byte timeout", "timeout", silent],
    ["a body that stalls past it", "timeout", stalling],
    ["503", "status_5xx", answer(() => new Response("busy", { status: 503 }))],
    ["500", "status_5xx", answer(() => new Response("", { status: 500 }))],
    ["429", "status_429", answer(() => new Response("slow down", { status: 429 }))],
    ["404: a wrong base URL", "invalid_response", answer(() => new Response("", { status: 404 }))],
    ["200 that is not JSON", "invalid_response", answer(() => new Response("<html>"))],
    ["200 with a JSON scalar", "invalid_response", answer(() => Response.json(42))],
    ["200 with a model list", "ok", answer(() => Response.json({ object: "list", data: [] }))],
    ["a refused connection", "connect_error", async () => Promise.reject(new TypeError("connection refused"))],
  ])("%s → %s", async (_, kind, fetchImpl) => {
    const sample = await probeOrigin(origin, secrets, fetchImpl, frozen);
    expect(sample).toEqual({ at: 7_000, ok: kind === "ok", kind, latencyMs: 0, probe: true });
  });
});

describe("runProbes", () => {
  it("probes every origin and reports each result to its own monitor", async () => {
    const base = config();
    // Origins renamed per run: monitors are never shared with other tests.
    const suffix = crypto.randomUUID().slice(0, 8);
    const origins = Object.fromEntries(Object.entries(base.origins).map(([name, o]) => [`${name}-${suffix}`, o]));
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const results = await runProbes({ ...base, origins }, env, frozen);
    error.mockRestore();
    expect(Object.fromEntries(results.map((r) => [r.origin.replace(`-${suffix}`, ""), r.sample?.kind ?? null]))).toEqual({
      alpha: "ok",
      beta: "ok",
      pool: "ok",
      cool: "ok",
      dead: "connect_error",
      nokey: null, // its secret is not set: not probed
      flaky: "ok",
      canaried: "ok",
      hangup: "ok",
      "gpu-a": "ok",
      "gpu-b": "ok",
      "gpu-c": "ok",
      "kv-a": "ok",
      "kv-b": "ok",
      "prefill-bound": "ok",
      gone: "connect_error",
      faulted: "ok",
      "mig-maas": "ok",
      "mig-pool": "ok",
      router: "ok",
      tiered: "ok",
      "out-maas": "ok",
      "out-pool": "ok",
      "rep-maas": "ok",
      "rep-pool": "ok",
      "defer-b": "ok",
      "pool-native": "ok",
      compat: "ok",
    });
    const snapshotOf = (name: string) => env.ORIGIN_MONITOR.getByName(`${name}-${suffix}`).snapshot(8_000);
    expect(await snapshotOf("pool")).toMatchObject({ samples: 1, errorRate: 0, latencyMs: null, ttftMs: null, updatedAt: 7_000 });
    expect(await snapshotOf("dead")).toMatchObject({ samples: 1, errorRate: 1, consecutiveFailures: 1, circuit: { state: "closed" } });
    expect(await snapshotOf("nokey")).toMatchObject({ samples: 0, updatedAt: null });
  });
});
