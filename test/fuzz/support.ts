/**
 * What every fuzzed response must be, and how the fuzz files send and check requests.
 *
 * The fuzz suite (issue #12, "Tests that stay in the project") sends a bounded, seeded run of
 * malformed requests through `SELF.fetch`. No response may be a 5xx: not even the upstream codes
 * (502, 503, 504) the router documents, because a malformed request is refused before any origin
 * is tried, and the fuzzed requests that are valid go to healthy simulated origins (headers that
 * could make a valid request unservable, such as a well-formed `x-router-boundary`, are not
 * generated). Every 4xx is an OpenAI error body, and every response carries our request id.
 *
 * Why several files of about 250 requests rather than one big run: under
 * @cloudflare/vitest-pool-workers each `SELF.fetch` costs more than the one before it in the same
 * file (cloudflare/workers-sdk#15446; here ~4 ms for the first 50 requests, ~25 ms by the 200th,
 * ~140 ms by the 400th), and each file starts afresh.
 */
import { SELF } from "cloudflare:test";
import fc from "fast-check";
import { expect } from "vitest";
import { generateCompletion, promptSeed, renderChatPrompt } from "../../src/sim";
import { adminFetch, chat } from "../support/client";

/** One seed for every fuzz file: a failure names its counterexample, and reruns reproduce it. */
export const FUZZ_SEED = 0x7a12;

export const BASE = "http://router.test";

/** One fuzzed request. */
export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** Sends a fuzzed request through the Worker. */
export function send(req: FuzzRequest): Promise<Response> {
  return SELF.fetch(`${BASE}${req.path}`, { method: req.method, headers: req.headers, body: req.body ?? null });
}

/** The OpenAI error body, exactly: one key `error` holding `message` and `type` (strings), `param` and `code` (string or null). */
function expectOpenAIError(value: unknown, where: string): void {
  expect(value !== null && typeof value === "object" && !Array.isArray(value), where).toBe(true);
  expect(Object.keys(value as object), where).toEqual(["error"]);
  const e = (value as { error: Record<string, unknown> }).error;
  expect(Object.keys(e).sort(), where).toEqual(["code", "message", "param", "type"]);
  expect(typeof e.message, where).toBe("string");
  expect(typeof e.type, where).toBe("string");
  expect(e.param === null || typeof e.param === "string", where).toBe(true);
  expect(e.code === null || typeof e.code === "string", where).toBe(true);
}

/** What is known about a response once it passed {@link expectWellFormed}. */
export interface Checked {
  status: number;
  /** The parsed error body of a 4xx (null for other statuses and for HEAD). */
  error: { message: string; type: string; param: string | null; code: string | null } | null;
}

/**
 * The invariants of every response to a fuzzed request: below 500, `x-request-id` set, and for a
 * 4xx an OpenAI error body served as JSON. The body is always read to its end, so a stream that
 * breaks half-way fails here too.
 */
export async function expectWellFormed(res: Response, req: Pick<FuzzRequest, "method" | "path">): Promise<Checked> {
  const where = `${req.method} ${req.path.slice(0, 120)}`;
  // Bytes, decoded leniently: a CSV or NDJSON export is not `text/*`, and the body must be read to its end.
  const text = new TextDecoder().decode(await res.arrayBuffer());
  expect(res.status, `${where} → ${res.status} ${text.slice(0, 300)}`).toBeLessThan(500);
  expect(res.headers.get("x-request-id"), where).toMatch(/^req_[0-9a-f]{32}$/);
  if (res.status < 400) return { status: res.status, error: null };
  // A HEAD answer has no body by definition (RFC 9110 §9.3.2).
  if (req.method === "HEAD") return { status: res.status, error: null };
  expect(res.headers.get("content-type"), where).toBe("application/json");
  let parsed: unknown;
  expect(() => (parsed = JSON.parse(text)), `${where}: not JSON: ${text.slice(0, 200)}`).not.toThrow();
  expectOpenAIError(parsed, where);
  return { status: res.status, error: (parsed as { error: Checked["error"] }).error };
}

/** Runs `check` on `runs` generated values with the shared seed; counterexamples are shrunk and printed. */
export async function fuzz<T>(arbitrary: fc.Arbitrary<T>, runs: number, check: (value: T) => Promise<void>): Promise<void> {
  await fc.assert(fc.asyncProperty(arbitrary, check), { seed: FUZZ_SEED, numRuns: runs });
}

/** Lifts a tenant's rate limits, so a few thousand requests are not refused as a rate (429) before they are judged. */
export async function unlimited(tenantId: string): Promise<void> {
  const res = await adminFetch(`/tenants/${tenantId}/limits`, { method: "PUT", body: { rpm: null, tpm: null, concurrency: null } });
  expect(res.status).toBe(200);
}

/**
 * The router is still healthy: a plain chat request with a valid key gets 200 and exactly the
 * completion the simulated pool makes for it (deterministic in the prompt it receives).
 */
export async function expectHealthy(key: string): Promise<void> {
  const res = await chat(key, { model: "chat-pool" });
  const body = (await res.json()) as { object: string; model: string; choices: Array<{ message: { role: string; content: string } }>; usage: { prompt_tokens: number; completion_tokens: number } };
  expect(res.status).toBe(200);
  expect(res.headers.get("x-router-origin")).toBe("pool");
  const rendering = new TextEncoder().encode(renderChatPrompt({ model: "qwen2.5-7b", messages: [{ role: "user", content: "Hello there" }] }));
  const expected = generateCompletion(promptSeed(rendering));
  expect(body.object).toBe("chat.completion");
  expect(body.model).toBe("qwen2.5-7b");
  expect(body.choices[0]!.message).toEqual({ role: "assistant", content: expected.tokens.join("") });
  expect(body.usage.prompt_tokens).toBe(Math.ceil(rendering.byteLength / 4));
  expect(body.usage.completion_tokens).toBe(expected.tokens.length);
}

/** A tally of statuses, to check that a run reached the outcomes it is meant to reach. */
export function countStatuses(): { add(status: number): void; of(status: number): number; all(): Record<number, number> } {
  const counts = new Map<number, number>();
  return {
    add: (status) => void counts.set(status, (counts.get(status) ?? 0) + 1),
    of: (status) => counts.get(status) ?? 0,
    all: () => Object.fromEntries(counts),
  };
}
