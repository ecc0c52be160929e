/**
 * A tenant's API keys in the admin API: issuing (the secret shown once), listing and reading
 * (hints, never secrets), changing (name, policy, expiry), revoking, rotating, and their own rate
 * limits. Keys are made here, where the signing secret is; the ledger only ever sees one to hash it.
 *
 * - Expiry (`expiresAt`, epoch ms or ISO 8601): from then on the key is refused with 401
 *   `invalid_api_key`, leased or not (no lease on it admits past it).
 * - Rotation gives the key a new secret; the key stays (its id, policy, limits, expiry, budgets,
 *   usage), and the secret it replaces is accepted for `graceSeconds` more (default a day, at most
 *   30 days; 0: refused at once, within one lease window).
 * - Answers that set `allowedModels` carry `warnings` where they cannot do what they say
 *   (`config/policy-warnings.ts`).
 */
import { Hono } from "hono";
import { z } from "zod";
import { generateKey } from "../auth/api-key";
import { keyPolicyWarnings } from "../config/policy-warnings";
import type { AppEnv } from "../env";
import { isolateOf } from "../isolate";
import { OPEN_POLICY, policySchema, rateLimitsSchema, type ApiKeyInfo, type Policy } from "../ledger/types";
import { RouterError } from "../openai/errors";
import { audit } from "./admin-audit";
import { body, effectiveBy, existingLedger, now, scenarioNames, shortParam, tenantParam, type AdminContext } from "./admin-request";
import { documented } from "../openapi/registry";

/** Rotation's default grace: a day for clients to move to the new secret. */
export const DEFAULT_GRACE_SECONDS = 86_400;
export const MAX_GRACE_SECONDS = 30 * 86_400;
/** How far ahead an expiry may be set. */
const MAX_EXPIRY_MS = 10 * 365 * 86_400_000;

/** An instant: epoch milliseconds, or an ISO 8601 date-time with its offset. */
const instant = z.union([z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), z.iso.datetime({ offset: true }).transform((s) => Date.parse(s))]);

const createKeySchema = z
  .object({
    name: z.string().min(1).max(200).default("key"),
    policy: policySchema.default(OPEN_POLICY),
    limits: rateLimitsSchema.optional(),
    /** Refused from this instant on; absent or null: never expires. */
    expiresAt: instant.nullable().optional(),
  })
  .strict();

const patchKeySchema = z
  .object({
    name: z.string().min(1).max(200).optional(),
    policy: policySchema.optional(),
    /** A new expiry, or null: never expires. */
    expiresAt: instant.nullable().optional(),
  })
  .strict();

const rotateSchema = z
  .object({
    /** How long the replaced secret is still accepted; 0: not at all. */
    graceSeconds: z.number().int().min(0).max(MAX_GRACE_SECONDS).default(DEFAULT_GRACE_SECONDS),
  })
  .strict();

/** An expiry as given, checked against the router's clock: in the future, within ten years. */
function checkedExpiry(c: AdminContext, expiresAt: number | null | undefined): number | null | undefined {
  if (expiresAt === undefined || expiresAt === null) return expiresAt;
  const at = now(c);
  if (expiresAt <= at) throw new RouterError({ kind: "invalid_body", message: "Invalid value for 'expiresAt': it must lie in the future (to refuse a key now, revoke it).", param: "expiresAt" });
  if (expiresAt > at + MAX_EXPIRY_MS) throw new RouterError({ kind: "invalid_body", message: "Invalid value for 'expiresAt': at most ten years ahead.", param: "expiresAt" });
  return expiresAt;
}

function keyNotFound(c: AdminContext): RouterError {
  return new RouterError({ kind: "not_found", what: `Key '${shortParam(c, "keyId")}'` });
}

/** The key's `allowedModels` against its tenant's and the config's scenarios. */
async function warningsFor(c: AdminContext, ledger: Awaited<ReturnType<typeof existingLedger>>, policy: Policy) {
  const tenant = await ledger.getTenant();
  return keyPolicyWarnings(policy.allowedModels, tenant?.policy.allowedModels ?? null, scenarioNames(c));
}

/** What the audit log keeps of a key: never its secret. */
function keySummary(key: ApiKeyInfo) {
  return { name: key.name, hint: key.hint, policy: key.policy, limits: key.limits, expiresAt: key.expiresAt };
}

documented(
  { method: "post", path: "/admin/tenants/{tenant}/keys", tag: "Admin: tenants", auth: "admin", summary: "Issue a key (its secret is shown once)", body: createKeySchema, responses: { 201: { description: "The key, with `key` (the secret) and `warnings`" } } },
  { method: "get", path: "/admin/tenants/{tenant}/keys", tag: "Admin: tenants", auth: "admin-or-read", summary: "List a tenant's keys (hints, never secrets)", responses: { 200: { description: "`{object: list, data}`" } } },
  { method: "get", path: "/admin/tenants/{tenant}/keys/{keyId}", tag: "Admin: tenants", auth: "admin-or-read", summary: "Read a key", responses: { 200: { description: "The key (hint, policy, limits, expiry, previous secret's grace)" } } },
  { method: "patch", path: "/admin/tenants/{tenant}/keys/{keyId}", tag: "Admin: tenants", auth: "admin", summary: "Change a key's name, policy or expiry", body: patchKeySchema, responses: { 200: { description: "The key, `effectiveBy` and `warnings`" } } },
  { method: "delete", path: "/admin/tenants/{tenant}/keys/{keyId}", tag: "Admin: tenants", auth: "admin", summary: "Revoke a key", responses: { 200: { description: "The key and `effectiveBy`" } } },
  { method: "post", path: "/admin/tenants/{tenant}/keys/{keyId}/rotate", tag: "Admin: tenants", auth: "admin", summary: "Give a key a new secret; the old one lasts its grace", body: rotateSchema, responses: { 200: { description: "The key with its new secret, and `previous`" } } },
  { method: "get", path: "/admin/tenants/{tenant}/keys/{keyId}/limits", tag: "Admin: tenants", auth: "admin-or-read", summary: "The key's own rate limits", responses: { 200: { description: "`{rpm, tpm, concurrency}`", schema: rateLimitsSchema } } },
  { method: "put", path: "/admin/tenants/{tenant}/keys/{keyId}/limits", tag: "Admin: tenants", auth: "admin", summary: "Set the key's own rate limits", body: rateLimitsSchema, responses: { 200: { description: "The limits" } } },
);

export const keyRoutes = new Hono<AppEnv>()
  .post("/tenants/:tenant/keys", async (c) => {
    const init = await body(c, createKeySchema);
    const expiresAt = checkedExpiry(c, init.expiresAt) ?? null;
    const ledger = await existingLedger(c);
    const secret = await generateKey(tenantParam(c), await isolateOf(c.env).keys.signingKey());
    const key = await ledger.createKey({ name: init.name, policy: init.policy, limits: init.limits, expiresAt, secret });
    if (!key) throw new RouterError({ kind: "not_found", what: `Tenant '${tenantParam(c)}'` });
    await audit(c, { action: "key.create", target: key.id, summary: keySummary(key) });
    // The only time the key is ever shown; the ledger keeps a salted hash.
    return c.json({ ...key, key: secret, warnings: await warningsFor(c, ledger, key.policy) }, 201);
  })
  .get("/tenants/:tenant/keys", async (c) => {
    const keys = await (await existingLedger(c)).listKeys();
    return c.json({ object: "list", data: keys });
  })
  .get("/tenants/:tenant/keys/:keyId", async (c) => {
    const key = await (await existingLedger(c)).getKey(c.req.param("keyId"));
    if (!key) throw keyNotFound(c);
    return c.json(key);
  })
  .patch("/tenants/:tenant/keys/:keyId", async (c) => {
    const patch = await body(c, patchKeySchema);
    const expiresAt = checkedExpiry(c, patch.expiresAt);
    const ledger = await existingLedger(c);
    const key = await ledger.updateKey(c.req.param("keyId"), { ...patch, expiresAt });
    if (!key) throw keyNotFound(c);
    await audit(c, { action: "key.update", target: key.id, summary: { ...patch, expiresAt } });
    const warnings = patch.policy ? await warningsFor(c, ledger, key.policy) : [];
    // Isolates holding a lease on the key admit under its former policy until the window ends;
    // an expiry earlier than that is exact (leases granted from now on end at it).
    return c.json({ ...key, warnings, effectiveBy: effectiveBy(c, Date.now()) });
  })
  .delete("/tenants/:tenant/keys/:keyId", async (c) => {
    const key = await (await existingLedger(c)).revokeKey(c.req.param("keyId"));
    if (!key) throw keyNotFound(c);
    await audit(c, { action: "key.revoke", target: key.id, summary: { hint: key.hint } });
    // Isolates holding a lease on the key admit from it until its window ends (DESIGN §3).
    return c.json({ ...key, effectiveBy: effectiveBy(c, key.revokedAt!) });
  })
  .post("/tenants/:tenant/keys/:keyId/rotate", async (c) => {
    const { graceSeconds } = await body(c, rotateSchema);
    const ledger = await existingLedger(c);
    const keyId = c.req.param("keyId");
    const before = await ledger.getKey(keyId);
    if (!before) throw keyNotFound(c);
    const at = now(c);
    const secret = await generateKey(tenantParam(c), await isolateOf(c.env).keys.signingKey());
    const key = await ledger.rotateKey(keyId, secret, at, graceSeconds * 1000);
    if (key === null) throw keyNotFound(c);
    if (key === "revoked" || key === "expired") throw new RouterError({ kind: "conflict", message: `Key '${keyId}' is ${key}: issue a new key instead.` });
    // The replaced secret ends with its grace, or the key's own expiry if sooner; leases granted on
    // it before the rotation may admit until their window ends.
    const expiresAt = Math.min(at + graceSeconds * 1000, key.expiresAt ?? Infinity);
    const previous = { hint: before.hint, expiresAt, effectiveBy: Math.max(expiresAt, effectiveBy(c, at)) };
    await audit(c, { action: "key.rotate", target: key.id, summary: { hint: key.hint, graceSeconds, previous } });
    return c.json({ ...key, key: secret, previous });
  })
  .get("/tenants/:tenant/keys/:keyId/limits", async (c) => {
    const key = await (await existingLedger(c)).getKey(c.req.param("keyId"));
    if (!key) throw keyNotFound(c);
    return c.json(key.limits);
  })
  .put("/tenants/:tenant/keys/:keyId/limits", async (c) => {
    const limits = await body(c, rateLimitsSchema);
    const key = await (await existingLedger(c)).setKeyLimits(c.req.param("keyId"), limits);
    if (!key) throw keyNotFound(c);
    await audit(c, { action: "key.limits", target: key.id, summary: { limits } });
    return c.json(key.limits);
  });
