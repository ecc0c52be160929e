/**
 * Fuzzing the admin API with the admin token: bodies for tenants, limits, keys and budgets with
 * fields of the wrong type, out of range, unknown or missing; ids that exist and ids that do not;
 * odd query strings. Below 500 and OpenAI-shaped always. The fuzzed tenant may end up disabled or
 * out of budget, so the health check afterwards uses a tenant of its own.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { addBudget, newTenant } from "../support/client";
import { ADMIN_TOKEN } from "../support/router-config";
import { anyBody, anyJson, anyText, oddCount, pathSegment, queryString } from "./arbitraries";
import { countStatuses, expectHealthy, expectWellFormed, fuzz, send } from "./support";

/** A value for a field the admin API validates: sometimes right, mostly odd. */
const field = (valid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> => fc.oneof({ weight: 2, arbitrary: valid }, { weight: 1, arbitrary: fc.oneof(anyText, anyJson(2), oddCount) });

const policy = field(
  fc.record(
    {
      allowedModels: field(fc.oneof(fc.constant(null), fc.array(fc.constantFrom("chat-main", "chat-pool", "x".repeat(65), ""), { maxLength: 3 }))),
      boundary: field(fc.oneof(fc.constant(null), fc.record({ kinds: field(fc.constant(["self-hosted"])), regions: field(fc.constant(["eu"])) }, { requiredKeys: [] }))),
      maxPriority: field(fc.constantFrom("interactive", "standard", "batch")),
      debug: field(fc.boolean()),
      surprise: anyJson(1),
    },
    { requiredKeys: [] },
  ),
);

const limits = fc.record({ rpm: field(fc.oneof(fc.constant(null), fc.integer({ min: 1, max: 10_000 }))), tpm: field(fc.constant(null)), concurrency: field(fc.integer({ min: 0, max: 100_001 })) }, { requiredKeys: [] });

/** An expiry: an hour or a year ahead, or in the past, or not an instant. */
const expiry = field(fc.oneof(fc.constant(null), fc.integer({ min: 1, max: 365 * 24 }).map((h) => Date.now() + h * 3_600_000), fc.integer({ min: -1_000_000, max: 1_000_000 }), fc.constant("2031-02-03T04:05:06Z")));

const tenantId = fc.oneof(fc.stringMatching(/^[a-z0-9][a-z0-9_]{0,39}$/), anyText, fc.constantFrom("UPPER", "has-dash", "a".repeat(41), "", "__proto__", "constructor"));

const budget = fc.record(
  {
    key: field(fc.constantFrom("key_0000000000000000", "")),
    metric: field(fc.constantFrom("cost", "tokens")),
    period: field(fc.constantFrom("day", "month", "total")),
    limit: field(fc.integer({ min: 0, max: 10_000_000 })),
    softLimit: field(fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 10_000_000 }))),
  },
  { requiredKeys: [] },
);

type Op = { method: string; path: (ids: Ids) => string; body?: unknown };
interface Ids {
  tenant: string;
  keyId: string;
  budgetId: string;
}

/** Picks an id that exists, or an odd one. */
const idOr = (pick: (ids: Ids) => string) => fc.oneof({ weight: 2, arbitrary: fc.constant(pick) }, { weight: 1, arbitrary: pathSegment.map((s) => () => s) });

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ method: fc.constant("POST"), path: fc.constant(() => "/admin/tenants"), body: fc.oneof(fc.record({ id: tenantId, name: field(anyText), policy, limits, timeZone: field(fc.constantFrom("Europe/Paris", "Mars/Olympus", "UTC")), retentionDays: field(fc.integer({ min: 0, max: 4000 })) }, { requiredKeys: [] }), anyJson(2)) }),
  fc.record({ method: fc.constant("PATCH"), path: idOr((i) => i.tenant).map((t) => (i: Ids) => `/admin/tenants/${t(i)}`), body: fc.record({ name: field(anyText), policy, timeZone: field(fc.constant("Asia/Tokyo")), retentionDays: field(fc.integer({ min: 1, max: 3650 })), disabled: field(fc.boolean()) }, { requiredKeys: [] }) }),
  fc.record({ method: fc.constant("PUT"), path: idOr((i) => i.tenant).map((t) => (i: Ids) => `/admin/tenants/${t(i)}/limits`), body: limits }),
  fc.record({ method: fc.constant("POST"), path: idOr((i) => i.tenant).map((t) => (i: Ids) => `/admin/tenants/${t(i)}/keys`), body: fc.record({ name: field(anyText), policy, limits, expiresAt: expiry }, { requiredKeys: [] }) }),
  fc.record({ method: fc.constant("PATCH"), path: idOr((i) => i.keyId).map((k) => (i: Ids) => `/admin/tenants/${i.tenant}/keys/${k(i)}`), body: fc.record({ name: field(anyText), policy, expiresAt: expiry }, { requiredKeys: [] }) }),
  fc.record({ method: fc.constant("GET"), path: idOr((i) => i.keyId).map((k) => (i: Ids) => `/admin/tenants/${i.tenant}/keys/${k(i)}`) }),
  fc.record({ method: fc.constant("POST"), path: idOr((i) => i.keyId).map((k) => (i: Ids) => `/admin/tenants/${i.tenant}/keys/${k(i)}/rotate`), body: fc.record({ graceSeconds: field(fc.integer({ min: 0, max: 30 * 86_400 })) }, { requiredKeys: [] }) }),
  fc.record({ method: fc.constant("POST"), path: fc.constantFrom("disable", "enable").chain((a) => idOr((i) => i.tenant).map((t) => (i: Ids) => `/admin/tenants/${t(i)}/${a}`)), body: fc.record({ reason: field(anyText) }, { requiredKeys: [] }) }),
  // Deleting: only tenants that do not exist (the fuzzed one must stay for the other operations).
  fc.record({ method: fc.constant("DELETE"), path: pathSegment.map((s) => () => `/admin/tenants/${s}`) }),
  fc.record({ method: fc.constant("GET"), path: queryString(["limit", "before", "after", "tenant", "action"]).map((q) => () => `/admin/audit${q}`) }),
  fc.record({ method: fc.constant("GET"), path: queryString(["limit", "after", "search", "disabled"]).map((q) => () => `/admin/tenants${q}`) }),
  fc.record({ method: fc.constant("PUT"), path: idOr((i) => i.keyId).map((k) => (i: Ids) => `/admin/tenants/${i.tenant}/keys/${k(i)}/limits`), body: limits }),
  fc.record({ method: fc.constantFrom("DELETE", "GET"), path: idOr((i) => i.keyId).map((k) => (i: Ids) => `/admin/tenants/${i.tenant}/keys/${k(i)}/limits`) }),
  fc.record({ method: fc.constant("POST"), path: fc.constant((i: Ids) => `/admin/tenants/${i.tenant}/budgets`), body: budget }),
  fc.record({ method: fc.constant("PUT"), path: idOr((i) => i.budgetId).map((b) => (i: Ids) => `/admin/tenants/${i.tenant}/budgets/${b(i)}`), body: budget }),
  fc.record({ method: fc.constantFrom("POST", "DELETE"), path: idOr((i) => i.budgetId).map((b) => (i: Ids) => `/admin/tenants/${i.tenant}/budgets/${b(i)}/reset`) }),
  fc.record({ method: fc.constant("GET"), path: queryString(["from", "to", "key", "model", "origin", "limit", "cursor", "format", "group_by"]).chain((q) => fc.constantFrom((i: Ids) => `/admin/tenants/${i.tenant}/usage${q}`, (i: Ids) => `/admin/tenants/${i.tenant}/usage/summary${q}`)) }),
  fc.record({ method: fc.constant("GET"), path: queryString(["limit"]).chain((q) => fc.constantFrom("chat-main", "chat-shadowed", "chat-canary").map((s) => () => `/admin/scenarios/${s}/decisions${q}`)) }),
  // Raw bodies: not JSON, or JSON of any shape, to every body-taking route.
  fc.record({ method: fc.constantFrom("POST", "PATCH", "PUT"), path: fc.constantFrom((i: Ids) => `/admin/tenants/${i.tenant}`, (i: Ids) => `/admin/tenants/${i.tenant}/limits`, (i: Ids) => `/admin/tenants/${i.tenant}/budgets`, () => "/admin/tenants"), body: anyBody.map((raw) => ({ raw })) }),
);

let ids: Ids;

beforeAll(async () => {
  const tenant = await newTenant();
  const budget = await addBudget(tenant.tenantId, { metric: "cost", period: "day", limit: 5_000_000 });
  ids = { tenant: tenant.tenantId, keyId: tenant.keyId, budgetId: budget.id };
});

describe("fuzz: the admin API", () => {
  it("answers 250 odd admin requests below 500, OpenAI-shaped", async () => {
    const statuses = countStatuses();
    await fuzz(op, 250, async (o) => {
      const raw = o.body !== null && typeof o.body === "object" && "raw" in o.body ? String((o.body as { raw: unknown }).raw) : undefined;
      const body = o.body === undefined ? undefined : (raw ?? JSON.stringify(o.body));
      const req = { method: o.method, path: o.path(ids), headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" }, ...(body === undefined ? {} : { body }) };
      const checked = await expectWellFormed(await send(req), req);
      statuses.add(checked.status);
    });
    expect(statuses.of(200) + statuses.of(201)).toBeGreaterThan(30);
    expect(statuses.of(400)).toBeGreaterThan(50);
    expect(statuses.of(404)).toBeGreaterThan(10);
    // The fuzzed tenant's rotations and revocations never lost it: its keys still list.
    expect((await send({ method: "GET", path: `/admin/tenants/${ids.tenant}/keys`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status).toBe(200);
    await expectHealthy((await newTenant()).key);
  });
});
