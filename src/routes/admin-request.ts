/**
 * What the admin routes read from a request, and the objects they reach: a validated body, the
 * tenant the path names (only when the directory lists it: an id from a URL never reaches, nor
 * creates, a ledger that does not exist; issue #12), the router's clock, and when a change reaches
 * every isolate.
 */
import type { Context } from "hono";
import type { z } from "zod";
import { TENANT_ID_PATTERN } from "../auth/api-key";
import { DIRECTORY_NAME } from "../directory/tenant-directory";
import type { AppEnv } from "../env";
import { isolateOf } from "../isolate";
import { RouterError } from "../openai/errors";
import { validate } from "../openai/requests";
import { readJsonBody } from "../proxy/read-body";

const ADMIN_BODY_LIMIT = 64 * 1024;

export type AdminContext = Context<AppEnv>;

/** The request's JSON body, validated; no body at all reads as `{}`. */
export async function body<S extends z.ZodType>(c: AdminContext, schema: S): Promise<z.infer<S>> {
  const hasBody = c.req.header("content-length") !== "0" && c.req.raw.body !== null;
  const value = hasBody ? (await readJsonBody(c.req.raw, ADMIN_BODY_LIMIT)).value : {};
  return validate(schema, value);
}

/** The `:tenant` of the path, or 404 when it cannot be a tenant id. */
export function tenantParam(c: AdminContext): string {
  const id = c.req.param("tenant") ?? "";
  if (!TENANT_ID_PATTERN.test(id)) throw new RouterError({ kind: "not_found", what: `Tenant '${id.slice(0, 64)}'` });
  return id;
}

/** A path parameter, cut to what an error message may quote. */
export function shortParam(c: AdminContext, name: string): string {
  return (c.req.param(name) ?? "").slice(0, 64);
}

export function ledgerOf(c: AdminContext, tenantId: string) {
  return c.env.TENANT_LEDGER.getByName(tenantId);
}

export function directoryOf(c: AdminContext) {
  return c.env.TENANT_DIRECTORY.getByName(DIRECTORY_NAME);
}

/** The router's clock: budget periods, key expiry and health snapshots are read as of it. */
export function now(c: AdminContext): number {
  return isolateOf(c.env).clock.now();
}

/** The tenant's ledger, or 404 when the tenant is not on the directory's list (see the module comment). */
export async function existingLedger(c: AdminContext) {
  const tenantId = tenantParam(c);
  if (!(await directoryOf(c).exists(tenantId))) throw new RouterError({ kind: "not_found", what: `Tenant '${tenantId}'` });
  return ledgerOf(c, tenantId);
}

/**
 * When a change made at `at` holds in every isolate: isolates admit from leases holding the
 * verdict of before for up to `leases.leaseMs` (DESIGN §3), so revoking, disabling or deleting
 * takes effect within one lease window. Admin answers call it `effectiveBy`.
 */
export function effectiveBy(c: AdminContext, at: number): number {
  const { leases } = isolateOf(c.env).config;
  return at + (leases.enabled ? leases.leaseMs : 0);
}

/** The scenario names of the active config: what `allowedModels` may name. */
export function scenarioNames(c: AdminContext): ReadonlySet<string> {
  return new Set(Object.keys(isolateOf(c.env).config.scenarios));
}
