/** Calling the router the way clients and operators do, through `SELF.fetch`. */
import { runInDurableObject, SELF } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { inject } from "vitest";
import type { SimRecord } from "../../src/sim";
import { ADMIN_TOKEN } from "./router-config";

const BASE = "http://router.test";

export function adminFetch(path: string, init: { method?: string; body?: unknown; token?: string } = {}): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${init.token ?? ADMIN_TOKEN}` };
  if (init.body !== undefined) headers["content-type"] = "application/json";
  return SELF.fetch(`${BASE}/admin${path}`, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
}

let counter = 0;

/** A fresh tenant with one key; ids are unique so tests never share a ledger. */
export async function newTenant(policy?: { allowedModels: string[] | null; strict?: boolean }): Promise<{ tenantId: string; key: string; keyId: string }> {
  const tenantId = `t${Date.now().toString(36)}_${(counter++).toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const created = await adminFetch("/tenants", { body: { id: tenantId, ...(policy ? { policy } : {}) } });
  if (created.status !== 201) throw new Error(`tenant creation failed: ${created.status} ${await created.text()}`);
  const keyRes = await adminFetch(`/tenants/${tenantId}/keys`, { body: { name: "test" } });
  if (keyRes.status !== 201) throw new Error(`key creation failed: ${keyRes.status} ${await keyRes.text()}`);
  const key = (await keyRes.json()) as { key: string; id: string };
  return { tenantId, key: key.key, keyId: key.id };
}

export function api(path: string, key: string | null, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  const h: Record<string, string> = { ...headers };
  if (key !== null) h.authorization = `Bearer ${key}`;
  if (body !== undefined) h["content-type"] ??= "application/json";
  return SELF.fetch(`${BASE}/v1${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: h,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
}

export function chat(key: string, body: Record<string, unknown>, headers?: Record<string, string>): Promise<Response> {
  return api("/chat/completions", key, { messages: [{ role: "user", content: "Hello there" }], ...body }, headers);
}

/** What the simulated origins received for one request id, in arrival order. */
export async function originSaw(requestId: string): Promise<SimRecord[]> {
  const res = await fetch(`${inject("simUrl")}/_sim/requests/${requestId}`);
  return (await res.json()) as SimRecord[];
}

/** Reads a stream's body until its first keep-alive comment (the origin has stalled), then cancels it: the text read. */
export async function readUntilKeepAlive(res: Response): Promise<string> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!text.includes(": keep-alive")) text += decoder.decode((await reader.read()).value!);
  await reader.cancel();
  return text;
}

/** The parsed `data:` payloads of an SSE body, `[DONE]` included as a string. */
export function sseData(text: string): Array<Record<string, unknown> | "[DONE]"> {
  return text
    .split("\n\n")
    .filter((e) => e.startsWith("data: "))
    .map((e) => e.slice(6))
    .map((d) => (d === "[DONE]" ? "[DONE]" : (JSON.parse(d) as Record<string, unknown>)));
}

/** The ledger stub of a tenant. */
export function ledgerOf(tenantId: string) {
  return env.TENANT_LEDGER.getByName(tenantId);
}

/** Waits for the usage record that is written after the response (`waitUntil`). */
export async function usageOf(tenantId: string, requestId: string) {
  const ledger = ledgerOf(tenantId);
  for (let i = 0; i < 500; i++) {
    const row = await ledger.usageOf(requestId);
    if (row) return row;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no usage record for ${requestId}`);
}

/** Adds a budget through the admin API and returns it. */
export async function addBudget(tenantId: string, budget: Record<string, unknown>): Promise<{ id: string } & Record<string, unknown>> {
  const res = await adminFetch(`/tenants/${tenantId}/budgets`, { body: budget });
  if (res.status !== 201) throw new Error(`budget creation failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string } & Record<string, unknown>;
}

export interface BudgetView {
  id: string;
  metric: string;
  period: string;
  limit: number;
  settled: number;
  reserved: number;
  remaining: number;
  periodKey: string;
  softLimitReached: boolean;
}

/** The tenant's budgets with their current state. */
export async function budgetsOf(tenantId: string): Promise<BudgetView[]> {
  const res = await adminFetch(`/tenants/${tenantId}/budgets`);
  return ((await res.json()) as { data: BudgetView[] }).data;
}

/**
 * Waits until the tenant has no open reservation and no open lease: every settlement has landed,
 * the leased requests' rows with their lease's final report (at the end of its window).
 */
export async function settledAll(tenantId: string): Promise<void> {
  const open = () =>
    runInDurableObject(ledgerOf(tenantId), (_, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT (SELECT COUNT(*) FROM reservations) + (SELECT COUNT(*) FROM leases) AS n").one().n,
    );
  // A deadline, not a count of polls: on a loaded machine each poll itself takes longer.
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if ((await open()) === 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  const dump = await runInDurableObject(ledgerOf(tenantId), (_, state) => JSON.stringify({ r: state.storage.sql.exec("SELECT * FROM reservations").toArray(), l: state.storage.sql.exec("SELECT * FROM leases").toArray(), now: Date.now() }));
  throw new Error(`reservations or leases still open for ${tenantId}: ${dump}`);
}

/**
 * Reads until `done` holds, and returns what it read: for what lands after the answer (a shadow
 * copy, a decision entry, a monitor's counts, a canary's stop). A deadline, not a count of polls:
 * on a loaded machine each poll itself takes longer. Throws, naming `what` and the last value read.
 */
export async function waitFor<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, { everyMs = 25, withinMs = 10_000 } = {}): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() >= deadline) throw new Error(`timed out waiting for ${what}; last read: ${shown(value)}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A value for an error message: its JSON, cut short (or its text, when it has no JSON). */
function shown(value: unknown): string {
  try {
    return String(JSON.stringify(value)).slice(0, 500);
  } catch {
    return String(value).slice(0, 500);
  }
}

/** A response's JSON body. */
export async function jsonOf<T>(res: Response | Promise<Response>): Promise<T> {
  return (await (await res).json()) as T;
}

/** The ledger calls of one kind (`admit`, `recordFeedback`, ...) this isolate has made so far (`GET /admin/isolate`). */
export async function ledgerCallsOf(kind: string): Promise<number> {
  const { ledgerCalls } = await jsonOf<{ ledgerCalls: { byKind: Record<string, number> } }>(adminFetch("/isolate"));
  return ledgerCalls.byKind[kind] ?? 0;
}

/** A response's status and its OpenAI error's code and param. */
export async function errorOf(res: Response | Promise<Response>): Promise<{ status: number; code: string | null; param: string | null }> {
  const r = await res;
  const { error } = (await r.json()) as { error: { code: string | null; param: string | null } };
  return { status: r.status, code: error.code, param: error.param };
}

/** Waits, on the real clock, until `at` has passed (an admin answer's `effectiveBy`, a key's expiry). */
export async function until(at: number): Promise<void> {
  while (Date.now() <= at) await new Promise((r) => setTimeout(r, Math.max(1, at - Date.now() + 1)));
}
