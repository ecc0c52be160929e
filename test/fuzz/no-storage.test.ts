/**
 * Fuzzing credentials and names from outside: made-up keys of our shape (`tr-<tenant>-<secret>`),
 * unknown tenant ids in the admin API, wrong admin tokens, unknown origin and scenario names. Each
 * gets an OpenAI-shaped 401 or 404, and none may create Durable Object storage (DESIGN §2: "No
 * storage is ever created for a name that does not exist"; issue #12, item 1).
 *
 * Storage is observed with `listDurableObjectIds`, which lists the objects that have a SQLite file
 * on disk. The check is exact and safe with test files running in parallel: every name this file
 * makes up carries a fresh run token, so none of their ids can exist before, and the assertion is
 * that none exists after. (Comparing whole listings would also catch other files' tenants.)
 */
import { listDurableObjectIds } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { newTenant } from "../support/client";
import { ADMIN_TOKEN } from "../support/router-config";
import { headerText, pathSegment } from "./arbitraries";
import { expectHealthy, expectWellFormed, fuzz, send, type FuzzRequest } from "./support";

/** A tenant id of the right shape, unique to this run, so no such tenant exists. */
function madeUpTenant(): fc.Arbitrary<string> {
  const run = crypto.randomUUID().replace(/-/g, "").slice(0, 8);
  return fc.stringMatching(/^[a-z0-9][a-z0-9_]{0,29}$/).map((prefix) => `${prefix}_${run}`);
}

/** Legacy-shaped secrets, and signed-shaped ones whose MAC the router never made. */
const secret = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_-]{1,128}$/),
  fc.constantFrom("x", "-", "_", "A".repeat(128)),
  fc.tuple(fc.stringMatching(/^[A-Za-z0-9_-]{32}$/), fc.stringMatching(/^[0-9a-f]{32}$/)).map(([random, mac]) => `${random}-${mac}`),
);

const KEY_ROUTES: Array<Pick<FuzzRequest, "method" | "path" | "body">> = [
  { method: "POST", path: "/v1/chat/completions", body: JSON.stringify({ model: "chat-pool", messages: [{ role: "user", content: "hi" }] }) },
  { method: "POST", path: "/v1/chat/completions", body: "{not json" },
  { method: "POST", path: "/v1/embeddings", body: JSON.stringify({ model: "embed-main", input: "hi" }) },
  { method: "POST", path: "/v1/completions", body: JSON.stringify({ model: "chat-pool", prompt: "hi" }) },
  { method: "POST", path: "/v1/responses", body: JSON.stringify({ model: "chat-pool", input: "hi", previous_response_id: "resp_0123456789abcdef0123456789abcdef" }) },
  { method: "GET", path: "/v1/responses/resp_0123456789abcdef0123456789abcdef" },
  { method: "DELETE", path: "/v1/responses/resp_0123456789abcdef0123456789abcdef" },
  { method: "GET", path: "/v1/usage/req_0123456789abcdef0123456789abcdef" },
  { method: "GET", path: "/v1/models" },
  { method: "GET", path: "/v1/models/chat-main" },
  { method: "GET", path: "/v1/usage" },
  { method: "GET", path: "/v1/usage/summary" },
  { method: "GET", path: "/v1/budgets" },
  { method: "POST", path: "/v1/files", body: '{"custom_id":"a","method":"POST","url":"/v1/embeddings","body":{"model":"embed-main","input":"hi"}}' },
  { method: "GET", path: "/v1/files" },
  { method: "GET", path: "/v1/files/file-0123456789abcdef01234567/content" },
  { method: "DELETE", path: "/v1/files/file-0123456789abcdef01234567" },
  { method: "POST", path: "/v1/batches", body: JSON.stringify({ input_file_id: "file-0123456789abcdef01234567", endpoint: "/v1/embeddings", completion_window: "24h" }) },
  { method: "GET", path: "/v1/batches/batch_0123456789abcdef01234567" },
  { method: "POST", path: "/v1/batches/batch_0123456789abcdef01234567/cancel" },
];

/** Admin routes that name a tenant, with a body where they take one. */
function tenantRoutes(tenant: string): Array<Pick<FuzzRequest, "method" | "path" | "body">> {
  const t = `/admin/tenants/${tenant}`;
  return [
    { method: "GET", path: t },
    { method: "PATCH", path: t, body: JSON.stringify({ name: "x" }) },
    { method: "GET", path: `${t}/limits` },
    { method: "PUT", path: `${t}/limits`, body: JSON.stringify({ rpm: 1 }) },
    { method: "GET", path: `${t}/keys` },
    { method: "POST", path: `${t}/keys`, body: JSON.stringify({ name: "k" }) },
    { method: "DELETE", path: t },
    { method: "POST", path: `${t}/disable` },
    { method: "POST", path: `${t}/enable`, body: JSON.stringify({ reason: "x" }) },
    { method: "DELETE", path: `${t}/keys/key_0123456789abcdef` },
    { method: "GET", path: `${t}/keys/key_0123456789abcdef` },
    { method: "PATCH", path: `${t}/keys/key_0123456789abcdef`, body: JSON.stringify({ name: "k" }) },
    { method: "POST", path: `${t}/keys/key_0123456789abcdef/rotate`, body: JSON.stringify({ graceSeconds: 0 }) },
    { method: "GET", path: `${t}/keys/key_0123456789abcdef/limits` },
    { method: "GET", path: `${t}/budgets` },
    { method: "POST", path: `${t}/budgets`, body: JSON.stringify({ metric: "cost", period: "day", limit: 1 }) },
    { method: "POST", path: `${t}/budgets/bud_0123456789abcdef/reset` },
    { method: "GET", path: `${t}/usage` },
    { method: "GET", path: `${t}/usage/summary` },
  ];
}

/** Made-up keys on every key-taking route, and unknown tenant ids on every admin route that names one; fresh names on each call. */
const unknownTenantRequest = () =>
  fc.oneof(
  fc.record({ tenant: madeUpTenant(), secret, route: fc.constantFrom(...KEY_ROUTES) }).map(({ tenant, secret, route }) => ({
    tenant,
    via: "key" as const,
    req: { ...route, headers: { authorization: `Bearer tr-${tenant}-${secret}` } } as FuzzRequest,
    expected: [401, "invalid_api_key"] as const,
  })),
  fc.record({ tenant: madeUpTenant(), route: fc.nat() }).map(({ tenant, route }) => {
    const routes = tenantRoutes(tenant);
    return { tenant, via: "admin" as const, req: { ...routes[route % routes.length]!, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } } as FuzzRequest, expected: [404, "not_found"] as const };
  }),
);

/** Sends `runs` requests for tenants that do not exist; returns the tenant ids they named, by way. */
async function unknownTenantBatch(runs: number): Promise<{ key: string[]; admin: string[] }> {
  const named = { key: [] as string[], admin: [] as string[] };
  await fuzz(unknownTenantRequest(), runs, async ({ tenant, via, req, expected }) => {
    named[via].push(tenant);
    const checked = await expectWellFormed(await send(req), req);
    expect([checked.status, checked.error?.code], `${req.method} ${req.path}`).toEqual(expected);
  });
  return named;
}

/** The names among `names` whose object in `namespace` has storage on disk. */
async function withStorage<T extends Rpc.DurableObjectBranded | undefined>(namespace: DurableObjectNamespace<T>, names: string[]): Promise<string[]> {
  const existing = new Set((await listDurableObjectIds(namespace)).map((id) => id.toString()));
  return [...new Set(names)].filter((name) => existing.has(namespace.idFromName(name).toString()));
}

describe("fuzz: made-up keys, unknown tenants, wrong admin tokens", () => {
  it("answers made-up keys with 401 invalid_api_key and unknown tenants with 404 not_found", async () => {
    await unknownTenantBatch(80);
  });

  // The ledger object is named by the tenant id in the key: before issue #12, item 1, checking a
  // made-up key (or looking up an unknown tenant) created its SQLite file.
  it("creates no storage for made-up keys or unknown tenant ids", async () => {
    const named = await unknownTenantBatch(80);
    expect(named.key.length + named.admin.length).toBe(80);
    const stored = { byKeyCheck: await withStorage(env.TENANT_LEDGER, named.key), byAdminLookup: await withStorage(env.TENANT_LEDGER, named.admin), batches: await withStorage(env.BATCH_STORE, [...named.key, ...named.admin]) };
    expect(stored).toEqual({ byKeyCheck: [], byAdminLookup: [], batches: [] });
  });

  it("creates no storage for wrong admin tokens, unknown origins or unknown scenarios", async () => {
    const tenants: string[] = [];
    const others: string[] = [];
    const wrongToken = fc.record({ tenant: madeUpTenant(), token: headerText.filter((t) => t.trim() !== ADMIN_TOKEN), route: fc.nat() });
    await fuzz(wrongToken, 60, async ({ tenant, token, route }) => {
      tenants.push(tenant);
      const routes = tenantRoutes(tenant);
      const req: FuzzRequest = { ...routes[route % routes.length]!, headers: { authorization: `Bearer ${token}` } };
      const checked = await expectWellFormed(await send(req), req);
      expect([checked.status, checked.error?.code]).toEqual([401, "invalid_admin_token"]);
    });
    const unknownName = fc.record({ name: fc.oneof(madeUpTenant(), pathSegment), route: fc.constantFrom("origins/%s/transitions", "scenarios/%s/decisions", "scenarios/%s/affinity", "scenarios/%s/canary-stop") });
    await fuzz(unknownName, 40, async ({ name, route }) => {
      const req: FuzzRequest = { method: route.endsWith("canary-stop") ? "DELETE" : "GET", path: `/admin/${route.replace("%s", name)}`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } };
      const checked = await expectWellFormed(await send(req), req);
      expect(checked.status, req.path).toBe(404);
      others.push(decodeURIComponentSafe(name));
    });
    expect(await withStorage(env.TENANT_LEDGER, tenants)).toEqual([]);
    expect(await withStorage(env.ORIGIN_MONITOR, others)).toEqual([]);
    expect(await withStorage(env.DECISION_LOG, others)).toEqual([]);
  });

  it("still serves a valid key afterwards", async () => {
    await expectHealthy((await newTenant()).key);
  });
});

/** The name a path segment stands for, as the router reads it (a malformed escape is kept as is). */
function decodeURIComponentSafe(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
