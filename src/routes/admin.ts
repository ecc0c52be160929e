/**
 * The admin API (`/admin/...`, admin token): tenants and their keys. Bodies are zod-validated;
 * errors share the OpenAI shape of the rest of the router.
 *
 *   POST   /admin/tenants                       create a tenant       {id, name?, policy?}
 *   GET    /admin/tenants/:tenant               read it
 *   POST   /admin/tenants/:tenant/keys          issue a key           {name?, policy?} → secret shown once
 *   GET    /admin/tenants/:tenant/keys          list keys (hints, never secrets)
 *   DELETE /admin/tenants/:tenant/keys/:keyId   revoke a key (refused from the next request on)
 */
import { Hono, type Context } from "hono";
import { z } from "zod";
import { adminAuth } from "../auth/admin";
import { TENANT_ID_PATTERN } from "../auth/api-key";
import type { AppEnv } from "../env";
import { policySchema } from "../ledger/types";
import { RouterError } from "../openai/errors";
import { validate } from "../openai/requests";
import { readJsonBody } from "../proxy/read-body";

const ADMIN_BODY_LIMIT = 64 * 1024;
const DEFAULT_POLICY = { allowedModels: null };

const createTenantSchema = z
  .object({
    id: z.string().regex(TENANT_ID_PATTERN, "a tenant id is 1-40 lower-case letters, digits or '_', starting with a letter or digit"),
    name: z.string().min(1).max(200).optional(),
    policy: policySchema.default(DEFAULT_POLICY),
  })
  .strict();

const createKeySchema = z
  .object({
    name: z.string().min(1).max(200).default("key"),
    policy: policySchema.default(DEFAULT_POLICY),
  })
  .strict();

async function body<S extends z.ZodType>(c: Context<AppEnv>, schema: S): Promise<z.infer<S>> {
  const hasBody = c.req.header("content-length") !== "0" && c.req.raw.body !== null;
  const value = hasBody ? (await readJsonBody(c.req.raw, ADMIN_BODY_LIMIT)).value : {};
  return validate(schema, value);
}

function tenantParam(c: Context<AppEnv>): string {
  const id = c.req.param("tenant") ?? "";
  if (!TENANT_ID_PATTERN.test(id)) throw new RouterError({ kind: "not_found", what: `Tenant '${id.slice(0, 64)}'` });
  return id;
}

function ledgerOf(c: Context<AppEnv>, tenantId: string) {
  return c.env.TENANT_LEDGER.getByName(tenantId);
}

/** The tenant's ledger, or 404 when the tenant was never created. */
async function existingLedger(c: Context<AppEnv>) {
  const tenantId = tenantParam(c);
  const ledger = ledgerOf(c, tenantId);
  if (!(await ledger.getTenant())) throw new RouterError({ kind: "not_found", what: `Tenant '${tenantId}'` });
  return ledger;
}

export const adminRoutes = new Hono<AppEnv>()
  .use(adminAuth())
  .post("/tenants", async (c) => {
    const init = await body(c, createTenantSchema);
    const tenant = await ledgerOf(c, init.id).createTenant({ id: init.id, name: init.name ?? init.id, policy: init.policy });
    if (!tenant) throw new RouterError({ kind: "conflict", message: `Tenant '${init.id}' already exists.` });
    return c.json(tenant, 201);
  })
  .get("/tenants/:tenant", async (c) => {
    const tenantId = tenantParam(c);
    const tenant = await ledgerOf(c, tenantId).getTenant();
    if (!tenant) throw new RouterError({ kind: "not_found", what: `Tenant '${tenantId}'` });
    return c.json(tenant);
  })
  .post("/tenants/:tenant/keys", async (c) => {
    const init = await body(c, createKeySchema);
    const created = await (await existingLedger(c)).createKey(init);
    if (!created) throw new RouterError({ kind: "not_found", what: `Tenant '${tenantParam(c)}'` });
    // The only time the key is ever shown; the ledger keeps a salted hash.
    return c.json({ ...created.key, key: created.secret }, 201);
  })
  .get("/tenants/:tenant/keys", async (c) => {
    const keys = await (await existingLedger(c)).listKeys();
    return c.json({ object: "list", data: keys });
  })
  .delete("/tenants/:tenant/keys/:keyId", async (c) => {
    const keyId = c.req.param("keyId");
    const key = await (await existingLedger(c)).revokeKey(keyId);
    if (!key) throw new RouterError({ kind: "not_found", what: `Key '${keyId.slice(0, 64)}'` });
    return c.json(key);
  });
